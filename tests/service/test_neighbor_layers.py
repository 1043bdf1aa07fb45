"""``:neighbors?layer=``: an opted-in layer's index (digits-cnn's dense1) on the live server."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from tests.service.helpers import assert_error

MODEL = "digits-cnn"
LAYER = "dense1"


def neighbors(http: httpx.Client, query: str, **request: Any) -> dict[str, Any]:
    response = http.post(f"/v1/models/{MODEL}:neighbors?{query}", **request)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("split", "index"), [("test", 3), ("train", 11)])
def test_an_example_is_its_own_nearest_neighbour_in_the_layer(
    http: httpx.Client, split: str, index: int
) -> None:
    ref = f"mnist-{split}"
    body = neighbors(
        http, f"dataset={ref}&k=3&layer={LAYER}",
        json={"examples": [{"dataset": ref, "index": index}]},
    )  # fmt: skip
    assert (body["space"], body["layer"]) == ("embedding", LAYER)
    first = body["results"][0]["neighbors"][0]
    assert first["index"] == index
    assert first["distance"] == pytest.approx(0.0, abs=1e-3)


def test_distances_are_those_of_the_layers_served_activations(http: httpx.Client) -> None:
    ref = "mnist-test"
    body = neighbors(
        http, f"dataset={ref}&k=5&layer={LAYER}", json={"examples": [{"dataset": ref, "index": 1}]}
    )
    found = body["results"][0]["neighbors"]
    indexes = [1, *(n["index"] for n in found)]
    rows = [http.get(f"/v1/datasets/{ref}/{i}").json()["instance"] for i in indexes]
    embedded = http.post(
        f"/v1/models/{MODEL}:embed", params={"layer": LAYER}, json={"instances": rows}
    ).json()["embeddings"]
    vectors = np.asarray(embedded, dtype=np.float64).reshape(len(rows), -1)
    expected = np.linalg.norm(vectors[1:] - vectors[0], axis=1)
    np.testing.assert_allclose([n["distance"] for n in found], expected, rtol=1e-3, atol=1e-4)
    # the embedding's own index answers otherwise: the layer really is another space
    default = neighbors(
        http, f"dataset={ref}&k=5", json={"examples": [{"dataset": ref, "index": 1}]}
    )
    assert default["layer"] == "embedding"
    assert [n["distance"] for n in default["results"][0]["neighbors"]] != [
        n["distance"] for n in found
    ]


def test_a_layer_not_indexed_is_a_400_naming_those_indexed(http: httpx.Client) -> None:
    one = {"examples": [{"dataset": "mnist-test", "index": 0}]}
    refused = http.post(f"/v1/models/{MODEL}:neighbors?layer=conv1", json=one)
    assert_error(refused, 400, "conv1")
    message = refused.json()["error"]
    assert "embedding, dense1" in message and "neighbor_layers" in message
    other = http.post("/v1/models/digits:neighbors?layer=flatten", json=one)
    assert_error(other, 400, "indexed layers: embedding.")
    pixel = http.post(f"/v1/models/{MODEL}:neighbors?space=pixel&layer={LAYER}", json=one)
    assert_error(pixel, 400, "space=embedding")
    assert_error(http.post(f"/v1/models/{MODEL}:neighbors?layer=../x", json=one), 400, "layer")
