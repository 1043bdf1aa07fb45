"""The page, /docs and /redoc work under their Content-Security-Policy (service/guard.py):
every view opened and used in a real chromium with the policy enforced, and not one
violation or other console error. (The other page tests bypass the policy, because
Playwright's string predicates are evaluated in the page.)"""

from __future__ import annotations

from typing import Any

from service.guard import DOCS_CSP, PAGE_CSP
from tests.fixtures.server import LiveServer
from tests.page.conftest import open_page

TIMEOUT_MS = 60_000
VIEWS = ("predict", "inside", "sweep", "why", "compare", "metrics", "map")


def _draw_stroke(page: Any) -> None:
    box = page.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    for i in range(1, 9):
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * (0.2 + i / 12))
    page.mouse.up()


def test_every_view_and_the_docs_run_under_the_policy(
    browser: Any, live_server: LiveServer
) -> None:
    ctx, page, watch = open_page(browser, live_server, bypass_csp=False)
    try:
        first = page.goto(f"{live_server.url}/#/digits/predict")
        assert first.headers["content-security-policy"] == PAGE_CSP
        page.wait_for_selector("#pad", timeout=TIMEOUT_MS)
        _draw_stroke(page)
        page.wait_for_load_state("networkidle")
        for view in VIEWS[1:]:
            page.goto(f"{live_server.url}/#/digits/{view}")
            page.wait_for_load_state("networkidle")
        docs = page.goto(f"{live_server.url}/docs")
        assert docs.headers["content-security-policy"] == DOCS_CSP
        page.wait_for_selector(".opblock-summary-path", timeout=TIMEOUT_MS)
        page.goto(f"{live_server.url}/redoc")
        page.wait_for_selector("h1", timeout=TIMEOUT_MS)
        page.wait_for_load_state("networkidle")
    finally:
        ctx.close()
    watch.check()
