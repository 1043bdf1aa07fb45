"""The page at phone widths: every view's tab is on screen and opens its view, by touch and
by keyboard, and no view is wider than the screen (nothing to pan sideways to)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.page.conftest import open_page
from tests.page.test_browser import TIMEOUT_MS

VIEWS = ("predict", "inside", "sweep", "metrics", "map", "compare")
#: Small and common phones, in portrait; light and dark must lay out alike.
PHONES = [(320, 640, "light"), (360, 740, "dark"), (430, 932, "light")]

#: The elements past the screen's left or right edge whose parent is not (the outermost
#: culprits), leaving out what is inside a sideways-scrolling box, and the skip link
#: (placed off screen on purpose until it has focus).
_PAST_THE_EDGES = """() => {
  const width = document.documentElement.clientWidth;
  const past = (e) => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && (r.right > width + 0.5 || r.left < -0.5);
  };
  const scrolled = (e) => {
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      if (/auto|scroll/.test(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  return [...document.querySelectorAll("body *")]
    .filter((e) => !e.matches(".skip") && past(e) && !past(e.parentElement) && !scrolled(e))
    .map((e) => {
      const r = e.getBoundingClientRect();
      return `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""} in ` +
        `${e.parentElement.tagName.toLowerCase()}.${e.parentElement.className}: ` +
        `${Math.round(r.left)}..${Math.round(r.right)}`;
    });
}"""


def _assert_tabs_on_screen(page: Any, width: int, height: int) -> None:
    for view in VIEWS:
        box = page.locator(f"#tabs a[data-view={view}]").bounding_box()
        assert box is not None, f"the {view} tab is not shown"
        right, bottom = box["x"] + box["width"], box["y"] + box["height"]
        assert box["x"] >= 0 and right <= width, f"the {view} tab is cut: x {box['x']}..{right}"
        assert box["y"] >= 0 and bottom <= height, f"the {view} tab is below the fold: {bottom}"


def _assert_nothing_wider_than_the_screen(page: Any, view: str) -> None:
    page.evaluate("document.querySelectorAll('#view details').forEach((d) => (d.open = true))")
    overflow = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    culprits = page.evaluate(_PAST_THE_EDGES)
    assert overflow[0] <= overflow[1] and not culprits, (view, overflow, culprits)


@pytest.mark.parametrize(("width", "height", "scheme"), PHONES)
def test_every_tab_is_on_screen_and_opens_its_view_at_phone_width(
    browser: Any, live_server: Any, width: int, height: int, scheme: str
) -> None:
    ctx, page, watch = open_page(
        browser, live_server, viewport={"width": width, "height": height}, color_scheme=scheme
    )
    try:
        page.goto(f"{live_server.url}/#/digits/predict")
        page.wait_for_load_state("networkidle")
        for view in (*VIEWS[1:], VIEWS[0]):
            page.evaluate("window.scrollTo(0, 0)")
            _assert_tabs_on_screen(page, width, height)
            page.locator(f"#tabs a[data-view={view}]").click(timeout=TIMEOUT_MS)
            current = "document.querySelector('#tabs [aria-current=page]').dataset.view"
            page.wait_for_function(
                f"location.hash.includes('/{view}') && {current} === '{view}'", timeout=TIMEOUT_MS
            )
            page.wait_for_load_state("networkidle")
            _assert_nothing_wider_than_the_screen(page, view)
        # the keyboard reaches the last tab from the one before and opens it with Enter
        page.evaluate("window.scrollTo(0, 0)")
        page.focus("#tabs a[data-view=map]")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.dataset.view") == "compare"
        _assert_tabs_on_screen(page, width, height)
        page.keyboard.press("Enter")
        page.wait_for_function("location.hash.includes('/compare')", timeout=TIMEOUT_MS)
    finally:
        ctx.close()
    watch.check()
