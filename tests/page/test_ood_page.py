"""The out-of-distribution verdict on the page, in a real browser: a drawn digit and an
uploaded Fashion-MNIST picture on the digits model, the words checked against the API's
answer for the input the page sent; the Map marks what the verdict flags; Metrics draws the
stored ``ood`` evaluation."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import numpy as np
from PIL import Image

from core import datasets
from tests.page.conftest import IMAGES_DIR
from tests.page.test_browser import TIMEOUT_MS, _map_pixels, _open, _press_stroke, _settled


def _api_verdict(api: httpx.Client, fitted: Any) -> dict[str, Any]:
    response = api.post("/v1/models/digits:predict?ood=true", json={"instances": [fitted]})
    assert response.status_code == 200, response.text
    return response.json()["predictions"][0]["ood"]


def _check_words(page: Any, api: httpx.Client) -> dict[str, Any]:
    """The verdict shown is the API's for the fitted input, and its sentence says it."""
    fitted = json.loads(page.locator("#fitted-json").input_value())
    expected = _api_verdict(api, fitted)
    box = page.locator("#ood-verdict")
    assert box.get_attribute("data-verdict") == expected["verdict"]
    assert box.get_attribute("data-method") == expected["method"]
    assert abs(float(box.get_attribute("data-score")) - expected["score"]) < 1e-6
    words = page.locator("#ood-sentence").inner_text()
    if expected["verdict"] == "out":
        assert words.startswith("This does not look like the digits this model learned from")
    else:
        assert words.startswith("This looks like the digits this model learned from")
    if expected["method"] == "knn" and expected["verdict"] == "out":
        ratio = expected["score"] / expected["threshold"]
        times = f"{ratio:.2f}" if ratio < 2 else f"{ratio:.1f}"
        assert f"{times} times farther than for 95% of real digits" in words
    assert page.locator("#ood-picture").count() == 1
    return expected


def _fashion(data_dir: Any) -> Any:
    return datasets.load_split("fashion-mnist", "test", data_dir).x


def _flagged_png(api: httpx.Client, picture: Any) -> bytes | None:
    """The picture as PNG bytes if the API's verdict on that upload is "out"."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    files = [("files", ("fashion.png", buffer.getvalue(), "image/png"))]
    answer = api.post("/v1/models/digits:predict?ood=true", files=files)
    assert answer.status_code == 200, answer.text
    return buffer.getvalue() if answer.json()["predictions"][0]["ood"]["verdict"] == "out" else None


def _upload_flagged_fashion(page: Any, api: httpx.Client, data_dir: Any) -> None:
    """Upload the first of the first 50 Fashion-MNIST test pictures the API flags, as a PNG
    (the session's tiny model flags about a third of them; a full-size one nearly all)."""
    png = next(filter(None, (_flagged_png(api, x) for x in _fashion(data_dir)[:50])), None)
    assert png is not None, "the digits model flags none of 50 Fashion-MNIST pictures"
    page.set_input_files(
        "#upload", files=[{"name": "fashion.png", "mimeType": "image/png", "buffer": png}]
    )
    page.wait_for_function(
        "document.getElementById('result').innerText.includes('fashion.png')", timeout=TIMEOUT_MS
    )
    _settled(page)


def test_a_drawn_digit_is_in_and_a_fashion_picture_is_out(lens, api, data_dir) -> None:
    page = _open(lens)
    _press_stroke(page, steps=14, step=0.05, pause_ms=15)  # a '1', one thick stroke
    page.mouse.up()
    page.wait_for_timeout(200)
    _settled(page)
    assert "drawing" in page.locator("#result").inner_text()
    assert _check_words(page, api)["verdict"] == "in"

    _upload_flagged_fashion(page, api, data_dir)
    assert _check_words(page, api)["verdict"] == "out"


def test_metrics_shows_the_ood_evaluation(lens, api) -> None:
    page, watch = lens
    page.goto(f"{watch.origin}/#/digits/metrics")
    page.wait_for_selector(".ood-evaluation", timeout=TIMEOUT_MS)
    stored = api.get("/v1/models/digits/metrics?kind=ood").json()["evaluations"]
    shown = page.locator(".ood-evaluation")
    assert shown.count() == len(stored)
    fashion = next(e for e in stored if e["dataset"] == "fashion-mnist-test")
    panel = page.locator('.ood-evaluation[data-dataset="fashion-mnist-test"]')
    knn = panel.locator('tr[data-method="knn"] td').all_inner_texts()
    assert knn[1] == f"{fashion['data']['methods']['knn']['auroc']:.4f}"
    assert panel.locator("svg path").count() >= 4  # one ROC curve per method


#: In the page's JS: how many of the canvas points [[x, y], ...] have a pixel of the verdict's
#: mark colour (--bar-top, within 40 per channel) within 4 canvas pixels.
_MARKED = """([points]) => {
  const canvas = document.getElementById("map");
  const ctx = canvas.getContext("2d");
  const probe = document.createElement("canvas").getContext("2d");
  probe.fillStyle = getComputedStyle(document.documentElement).getPropertyValue("--bar-top");
  probe.fillRect(0, 0, 1, 1);
  const want = probe.getImageData(0, 0, 1, 1).data;
  return points.filter(([x, y]) => {
    const box = ctx.getImageData(Math.round(x) - 4, Math.round(y) - 4, 9, 9).data;
    for (let i = 0; i < box.length; i += 4) {
      if ([0, 1, 2].every((c) => Math.abs(box[i + c] - want[c]) <= 40)) return true;
    }
    return false;
  }).length;
}"""


def test_the_map_marks_the_points_and_the_input_the_verdict_flags(lens, api, data_dir) -> None:
    """A Fashion-MNIST upload to the digits model: on the Map its ring is dashed and labelled
    "outside" as the API's verdict says, and the crossed points are exactly those the API's
    ``/projection/points?ood=true`` flags."""
    page, watch = lens
    page.goto(f"{watch.origin}/#/digits/predict")
    _settled(page)
    _upload_flagged_fashion(page, api, data_dir)
    expected = _api_verdict(api, json.loads(page.locator("#fitted-json").input_value()))
    assert expected["verdict"] == "out"
    page.click("#tabs a[data-view=map]")
    tsne = api.get("/v1/models/digits/projection?method=tsne").json()
    num = min(500, tsne["points"])
    selector = f'#map[data-method="tsne"][data-points="{num}"]'
    page.wait_for_selector(selector, timeout=TIMEOUT_MS)
    canvas = page.locator("#map")
    assert canvas.get_attribute("data-input-verdict") == "out"
    points = api.get(f"/v1/models/digits/projection/points?num={num}&method=tsne&ood=true").json()
    outside = [v["verdict"] == "out" for v in points["ood"]]
    flagged = [i for i, out in zip(points["indices"], outside, strict=True) if out]
    assert 0 < len(flagged) < num, "the tiny model flags some of its own test examples"
    assert json.loads(canvas.get_attribute("data-outside")) == flagged
    key = page.locator("#map-ood").inner_text()
    assert f"{len(flagged)} of these {num} test examples" in key
    assert f"({expected['method']}, threshold " in key
    assert '"outside": the current input is flagged too' in key
    assert "This does not look like the digits this model learned from" in key
    pixels = _map_pixels(canvas, np.asarray(points["coords"]))
    crossed = pixels[np.asarray(outside)]
    assert page.evaluate(_MARKED, [crossed.tolist()]) == len(crossed)
    IMAGES_DIR.mkdir(parents=True, exist_ok=True)
    page.locator("#view").screenshot(path=str(IMAGES_DIR / "map-outside.png"))
