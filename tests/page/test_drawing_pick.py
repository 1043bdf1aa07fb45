"""The page opens on the digits model that reads drawings best, chosen from the stored
``robustness`` evaluation through the public API, and Predict names it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.page.test_browser import TIMEOUT_MS, _percent


def _canvas_accuracies(api: httpx.Client) -> dict[str, float]:
    found = {}
    for entry in api.get("/v1/models").json()["models"]:
        if entry["task"] != "digits":
            continue
        rows = api.get(f"/v1/models/{entry['name']}/metrics", params={"kind": "robustness"})
        for row in rows.json()["evaluations"]:
            if row["dataset"] == "canvas":
                found[entry["name"]] = row["data"]["accuracy"]
    return found


def test_the_page_opens_on_the_model_that_reads_drawings_best(lens: Any, api: httpx.Client):
    page, watch = lens
    accuracies = _canvas_accuracies(api)
    assert len(accuracies) >= 2  # the tiny repository has digits and digits-cnn
    best = max(accuracies, key=lambda name: accuracies[name])
    page.goto(f"{watch.origin}/")
    line = page.locator("#drawing-pick")
    line.wait_for(timeout=TIMEOUT_MS)
    assert page.url.endswith(f"#/{best}/predict")
    assert page.locator("#model-select").input_value() == best
    assert line.inner_text().startswith(
        f"{best}: reads {_percent(accuracies[best])} of canvas-drawn digits"
    )
    assert line.get_attribute("data-model") == best


def test_another_digits_model_offers_the_best_one(lens: Any, api: httpx.Client) -> None:
    page, watch = lens
    accuracies = _canvas_accuracies(api)
    best = max(accuracies, key=lambda name: accuracies[name])
    other = next(name for name in accuracies if name != best)
    page.goto(f"{watch.origin}/#/{other}/predict")
    page.locator("#drawing-pick-use").click(timeout=TIMEOUT_MS)
    page.wait_for_function(f"location.hash === '#/{best}/predict'", timeout=TIMEOUT_MS)
    page.goto(f"{watch.origin}/#/fashion/predict")
    page.wait_for_selector("#predicted-label", timeout=TIMEOUT_MS)
    assert page.locator("#drawing-pick").count() == 0  # not a digits model: no line
