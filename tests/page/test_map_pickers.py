"""The Map view's method and layer pickers in a real browser: each switch draws the points
the API serves for that map, and the stored cluster figure of the map drawn is marked."""

from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np

from tests.page.test_browser import TIMEOUT_MS, _assert_bounds, _most_isolated


def _drawn(page: Any, method: str, layer: str, points: int) -> Any:
    selector = f'#map[data-method="{method}"][data-layer="{layer}"][data-points="{points}"]'
    page.wait_for_selector(selector, timeout=TIMEOUT_MS)
    return page.locator("#map")


def _check_against_api(page: Any, canvas: Any, api: httpx.Client, query: str) -> None:
    """The canvas's bounds are those of the API's points and the input :project placed, and
    hovering the most isolated API point names that very example."""
    expected = api.get(f"/v1/models/digits-cnn/projection/points?num=500&seed=0&{query}").json()
    coords = np.asarray(expected["coords"])
    placed = api.post(
        f"/v1/models/digits-cnn:project?{query}",
        json={"examples": [{"dataset": "mnist-test", "index": 0}]},
    ).json()["coords"][0]
    mine = json.loads(canvas.get_attribute("data-input"))
    assert np.allclose(mine, placed, atol=1e-3)
    _assert_bounds(canvas, coords, mine, atol=1e-5)
    i, spot = _most_isolated(canvas, coords)
    page.mouse.move(*spot)
    tip = page.locator("#map-tip [data-index]")
    tip.wait_for(timeout=TIMEOUT_MS)
    assert tip.get_attribute("data-index") == str(expected["indices"][i])
    box = canvas.bounding_box()
    page.mouse.move(box["x"] - 20, box["y"] - 20)


def test_switching_method_and_layer_draws_the_apis_maps(lens, api) -> None:
    page, watch = lens
    page.goto(f"{watch.origin}/#/digits-cnn/map")
    tsne = api.get("/v1/models/digits-cnn/projection?method=tsne").json()
    # t-SNE is drawn first where the version has it, of the embedding
    canvas = _drawn(page, "tsne", "embedding", tsne["points"])
    _check_against_api(page, canvas, api, "method=tsne&layer=embedding")
    stored = api.get("/v1/models/digits-cnn/metrics?kind=map").json()["evaluations"][0]["data"]
    current = page.locator("#map-clusters tr.current")
    assert (current.get_attribute("data-method"), current.get_attribute("data-layer")) == (
        "tsne", "embedding",
    )  # fmt: skip
    share = next(
        m["share"] for m in stored["maps"] if (m["method"], m["layer"]) == ("tsne", "embedding")
    )
    assert float(current.get_attribute("data-share")) == share
    assert page.locator("#map-clusters tbody tr").count() == len(stored["maps"])
    # another layer, same method
    page.select_option("#map-layer", "dense1")
    canvas = _drawn(page, "tsne", "dense1", tsne["points"])
    _check_against_api(page, canvas, api, "method=tsne&layer=dense1")
    # PCA keeps the layer, over the whole split
    page.select_option("#map-method", "pca")
    canvas = _drawn(page, "pca", "dense1", 500)
    _check_against_api(page, canvas, api, "method=pca&layer=dense1")
    assert page.locator("#map-clusters tr.current").get_attribute("data-method") == "pca"
    assert page.locator("#view .error").count() == 0
    # the layer picker lists exactly the API's maps of the chosen method
    options = page.locator("#map-layer option").all_inner_texts()
    assert options == [m["layer"] for m in tsne["maps"] if m["method"] == "pca"]
