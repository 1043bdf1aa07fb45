"""Catalogue routes: list, metadata, versions (default = highest), weights, metrics."""

from __future__ import annotations

import httpx
import numpy as np

from tests.service.helpers import assert_error


def test_list_models_names_every_model_and_its_versions(http: httpx.Client) -> None:
    body = http.get("/v1/models").json()
    models = {m["name"]: m for m in body["models"]}
    assert {"digits", "fashion", "xor", "sklearn-digits", "digits-cnn"} <= set(models)
    assert models["digits"]["versions"] == [1, 2]
    assert models["digits"]["default_version"] == 2
    assert models["digits"]["class_names"] == [str(i) for i in range(10)]
    assert models["fashion"]["class_names"][0] == "T-shirt/top"


def test_metadata_is_the_manifest_of_the_default_or_named_version(http: httpx.Client) -> None:
    default = http.get("/v1/models/digits").json()
    first = http.get("/v1/models/digits/versions/1").json()
    assert default["version"] == 2 and first["version"] == 1
    assert default["versions"] == [1, 2]
    assert first["input"]["shape"] == [28, 28]
    assert "embedding" in [layer["name"] for layer in first["layers"]]


def test_versions_answer_differently_and_default_is_highest(http: httpx.Client) -> None:
    rng = np.random.default_rng(0)
    x = {"instances": rng.integers(0, 256, (4, 28, 28)).tolist()}
    v1 = http.post("/v1/models/digits/versions/1:predict", json=x).json()
    v2 = http.post("/v1/models/digits/versions/2:predict", json=x).json()
    default = http.post("/v1/models/digits:predict", json=x).json()
    assert (v1["version"], v2["version"], default["version"]) == (1, 2, 2)
    p1 = np.array([p["probabilities"] for p in v1["predictions"]])
    p2 = np.array([p["probabilities"] for p in v2["predictions"]])
    pd = np.array([p["probabilities"] for p in default["predictions"]])
    assert not np.allclose(p1, p2)  # trained with another seed
    np.testing.assert_allclose(pd, p2)


def test_unknown_model_and_version_are_404s_that_name_them(http: httpx.Client) -> None:
    assert_error(http.get("/v1/models/nope"), 404, "nope")
    body = assert_error(http.get("/v1/models/digits/versions/9"), 404, "version 9", "1, 2")
    assert body["code"] == "version_not_found"
    assert_error(http.get("/v1/models/digits/versions/abc"), 400, "version", "abc")
    assert_error(http.get("/v1/models/..%2F..%2Fetc"), 404)


def test_weights_of_the_first_dense_layer_reshape_to_28x28(http: httpx.Client) -> None:
    body = http.get("/v1/models/digits/weights").json()
    assert body["layer"] == "embedding"
    kernel = np.array(body["weights"], dtype=np.float32)
    assert kernel.shape == tuple(body["shape"]) and kernel.shape[0] == 784
    pictures = kernel.T.reshape(-1, 28, 28)  # one picture per hidden unit (report question 10)
    assert pictures.shape[0] == kernel.shape[1] and np.isfinite(pictures).all()
    logits = http.get("/v1/models/digits/versions/1/weights", params={"layer": "logits"}).json()
    assert logits["shape"] == [kernel.shape[1], 10]
    assert_error(http.get("/v1/models/digits/weights", params={"layer": "nope"}), 400, "nope")


def test_weights_of_a_convolution_are_its_filters(http: httpx.Client) -> None:
    layers = http.get("/v1/models/digits-cnn").json()["layers"]
    conv = next(layer for layer in layers if layer["kind"] == "Conv2D")
    body = http.get("/v1/models/digits-cnn/weights", params={"layer": conv["name"]}).json()
    kernel = np.array(body["weights"], dtype=np.float32)
    assert body["layer"] == conv["name"] and kernel.shape == tuple(body["shape"])
    height, width, channels, filters = kernel.shape
    assert (channels, filters) == (1, conv["output_shape"][-1]) and 1 < height == width <= 7
    assert np.isfinite(kernel).all() and np.abs(kernel).max() > 0
    default = http.get("/v1/models/digits-cnn/weights").json()
    assert len(default["shape"]) == 2, "the default stays the first Dense layer"
    assert_error(
        http.get("/v1/models/digits-cnn/weights", params={"layer": "nope"}), 400, conv["name"]
    )


def test_metrics_hold_the_stored_evaluations(http: httpx.Client) -> None:
    body = http.get("/v1/models/digits/metrics").json()
    assert body["model"] == "digits" and body["version"] == 2
    kinds = {e["kind"] for e in body["evaluations"]}
    assert {"test", "history"} <= kinds
    only_test = http.get("/v1/models/digits/metrics", params={"kind": "test"}).json()
    assert {e["kind"] for e in only_test["evaluations"]} == {"test"}
    assert_error(http.get("/v1/models/digits/metrics", params={"kind": "bogus"}), 400, "bogus")
