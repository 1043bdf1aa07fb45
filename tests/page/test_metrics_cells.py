"""The Metrics view's confusion cells in a real browser: a cell lists exactly the examples
the API names for it, pages through a cell of about a thousand to its end, opens an
example in Predict, and shows the API's message when the API refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.page.conftest import IMAGES_DIR

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
TIMEOUT_MS = 20_000
PAGE = 48  # the page's CELL_PAGE


def _count(n: int) -> str:
    return f"{n:,}"


def _matrix(api: httpx.Client, model: str = "digits") -> list[list[int]]:
    (test,) = api.get(f"/v1/models/{model}/metrics", params={"kind": "test"}).json()["evaluations"]
    return test["data"]["confusion_matrix"]


def _open_metrics(page: Any, origin: str) -> None:
    page.goto(f"{origin}/#/digits/metrics")
    page.wait_for_selector("#confusion button.cell", timeout=TIMEOUT_MS)


def _cell(page: Any, t: int, p: int) -> Any:
    return page.locator(f'#confusion button[data-true="{t}"][data-predicted="{p}"]')


def _listed(page: Any, start: int) -> list[int]:
    page.wait_for_function(
        f"document.getElementById('cell-range')?.dataset.start === '{start}'", timeout=TIMEOUT_MS
    )
    return [int(i) for i in page.locator("#cell-thumbs button.example").evaluate_all(
        "buttons => buttons.map((b) => b.dataset.index)")]  # fmt: skip


def test_a_cell_lists_exactly_its_examples_and_opens_one_in_predict(lens, api) -> None:
    page, watch = lens
    matrix = _matrix(api)
    t, p = max(((i, j) for i in range(10) for j in range(10) if i != j),
               key=lambda c: matrix[c[0]][c[1]])  # the largest confusion  # fmt: skip
    total = matrix[t][p]
    _open_metrics(page, watch.origin)
    cell = _cell(page, t, p)
    assert cell.get_attribute("aria-label") == f"true {t}, predicted {p}: {total} examples"
    cell.focus()
    page.keyboard.press("Enter")  # a button: the keyboard works as the mouse does
    shown = _listed(page, 0)
    expected = api.get("/v1/models/digits/metrics/examples",
                       params={"true": t, "predicted": p, "num": PAGE}).json()  # fmt: skip
    assert shown == expected["indices"] and len(shown) == min(PAGE, total)
    assert page.locator("#cell-range").inner_text() == (
        f"1–{len(shown)} of {_count(total)}")  # fmt: skip
    first = page.locator("#cell-thumbs button.example").first
    assert first.get_attribute("aria-label").startswith(f"mnist-test #{shown[0]}, predicted {p}")
    first.click()
    page.wait_for_function(
        f"document.getElementById('result')?.innerText.includes('mnist-test #{shown[0]}')",
        timeout=TIMEOUT_MS,
    )
    assert page.url.endswith("#/digits/predict")
    label = api.get(f"/v1/datasets/mnist-test/{shown[0]}").json()["label"]
    assert f"(true class: {label})" in page.locator("#result").inner_text()


def test_paging_a_diagonal_cell_reaches_its_end(lens, api) -> None:
    page, watch = lens
    matrix = _matrix(api)
    total = matrix[1][1]  # the ones: about 1,100 of MNIST's 1,135
    assert total > 900
    everything: list[int] = []
    while len(everything) < total:
        answer = api.get("/v1/models/digits/metrics/examples",
                         params={"true": 1, "predicted": 1, "start": len(everything),
                                 "num": 500}).json()  # fmt: skip
        everything += answer["indices"]
    _open_metrics(page, watch.origin)
    _cell(page, 1, 1).click()
    seen = _listed(page, 0)
    assert page.locator("#cell-prev").is_disabled()
    while not page.locator("#cell-next").is_disabled():
        page.locator("#cell-next").focus()
        page.keyboard.press("Enter")
        seen += _listed(page, len(seen))
    assert seen == everything
    last = total - (total - 1) % PAGE
    assert page.locator("#cell-range").inner_text() == (
        f"{_count(last)}–{_count(total)} of {_count(total)}")  # fmt: skip
    assert page.evaluate("document.activeElement.id") == "cell-prev"  # focus kept
    page.keyboard.press("Enter")
    assert _listed(page, last - 1 - PAGE) == everything[last - 1 - PAGE : last - 1]
    IMAGES_DIR.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, document.getElementById('confusion')"
                  ".getBoundingClientRect().top + window.scrollY - 70)")  # fmt: skip
    page.screenshot(path=str(IMAGES_DIR / "page-metrics-cell.png"))


def test_a_refused_request_shows_the_apis_message(lens, api) -> None:
    """The request is sent to the real service with a class the model lacks: its 400."""
    page, watch = lens
    page.route("**/metrics/examples?*", lambda route: route.continue_(
        url=route.request.url.replace("true=0", "true=99")))  # fmt: skip
    _open_metrics(page, watch.origin)
    _cell(page, 0, 0).click()
    alert = page.wait_for_selector("#cell-examples [role=alert]", timeout=TIMEOUT_MS)
    message = api.get("/v1/models/digits/metrics/examples",
                      params={"true": 99, "predicted": 0}).json()["error"]  # fmt: skip
    assert message in alert.inner_text()
    assert watch.errors, "the 400 was not seen"
    watch.errors.clear()  # expected here: the 400 and the browser's note about it


def test_a_listed_cell_has_no_serious_accessibility_violations(lens) -> None:
    page, watch = lens
    _open_metrics(page, watch.origin)
    _cell(page, 2, 2).click()
    _listed(page, 0)
    page.add_script_tag(path=str(AXE))
    scope = "{include: [['#metrics-test']]}"
    result = page.evaluate(f"axe.run({scope}, {{resultTypes: ['violations']}})")
    assert result["passes"], "axe checked nothing"
    bad = [v["id"] for v in result["violations"] if v["impact"] in {"serious", "critical"}]
    assert not bad, bad
