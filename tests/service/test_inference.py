"""predict / embed / head with every input format, on the live server."""

from __future__ import annotations

import httpx
import numpy as np

from tests.service.helpers import assert_error, encode_npy, image_bytes, mnist_example


def test_predict_top_k_and_logits(http: httpx.Client) -> None:
    instance, _ = mnist_example(http, 0)
    body = http.post(
        "/v1/models/digits:predict",
        params={"top_k": 5, "output": "logits"},
        json={"instances": [instance, instance]},
    ).json()
    assert body["model"] == "digits" and len(body["predictions"]) == 2
    prediction = body["predictions"][0]
    assert len(prediction["top_k"]) == 5 and len(prediction["logits"]) == 10
    probabilities = [t["probability"] for t in prediction["top_k"]]
    assert probabilities == sorted(probabilities, reverse=True)
    logits = np.array(prediction["logits"])
    softmax = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(softmax, prediction["probabilities"], atol=1e-5)
    plain = http.post("/v1/models/digits:predict", json={"instances": [instance]}).json()
    assert "logits" not in plain["predictions"][0] and len(plain["predictions"][0]["top_k"]) == 3


def test_predict_accepts_flat_vectors_small_tasks_and_unit_scale(http: httpx.Client) -> None:
    instance, _ = mnist_example(http, 0)
    nested = http.post("/v1/models/digits:predict", json={"instances": [instance]}).json()
    flat = np.array(instance).reshape(-1).tolist()
    by_flat = http.post("/v1/models/digits:predict", json={"instances": [flat]}).json()
    unit = (np.array(instance) / 255).tolist()
    by_unit = http.post(
        "/v1/models/digits:predict", params={"scale": "unit"}, json={"instances": [unit]}
    ).json()
    for other in (by_flat, by_unit):
        np.testing.assert_allclose(
            other["predictions"][0]["probabilities"],
            nested["predictions"][0]["probabilities"],
            atol=1e-5,
        )
    xor = http.post("/v1/models/xor:predict", json={"instances": [[0, 1], [1, 1]]}).json()
    assert [len(p["probabilities"]) for p in xor["predictions"]] == [2, 2]
    digits8 = http.post("/v1/models/sklearn-digits:predict", json={"instances": [[[0] * 8] * 8]})
    assert digits8.status_code == 200, digits8.text


def test_predict_from_uploaded_png_and_jpeg_matches_json(http: httpx.Client) -> None:
    instance, label = mnist_example(http, 0)
    png = image_bytes(np.array(instance))
    files = [("files", ("seven.png", png, "image/png"))]
    by_file = http.post("/v1/models/digits:predict", files=files).json()
    by_json = http.post("/v1/models/digits:predict", json={"instances": [instance]}).json()
    np.testing.assert_allclose(
        by_file["predictions"][0]["probabilities"],
        by_json["predictions"][0]["probabilities"],
        atol=1e-5,
    )
    # A large RGB photo-like JPEG, dark figure on light paper: still classified.
    big = 255 - np.kron(np.array(instance), np.ones((8, 8)))
    jpeg = image_bytes(big, fmt="JPEG", mode="RGB")
    files = [("files", ("a.png", png, "image/png")), ("files", ("b.jpg", jpeg, "image/jpeg"))]
    both = http.post("/v1/models/digits:predict", files=files).json()
    assert [p["class_id"] for p in both["predictions"]] == [label, label]


def test_predict_from_npy_batch(http: httpx.Client) -> None:
    instance, _ = mnist_example(http, 0)
    batch = np.array([instance, instance], dtype=np.float32)
    response = http.post(
        "/v1/models/digits:predict",
        content=encode_npy(batch),
        headers={"content-type": "application/x-npy"},
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == 2


def test_embed_any_probe_able_layer(http: httpx.Client) -> None:
    instance, _ = mnist_example(http, 0)
    body = http.post(
        "/v1/models/digits:embed", params={"layer": "logits"}, json={"instances": [instance]}
    ).json()
    assert body["layer"] == "logits" and body["shape"] == [1, 10]
    conv = http.post(
        "/v1/models/digits-cnn:embed", params={"layer": "conv1"}, json={"instances": [instance]}
    )
    assert conv.status_code == 200, conv.text
    assert conv.json()["shape"][0] == 1 and len(conv.json()["shape"]) == 4
    assert_error(
        http.post(
            "/v1/models/digits:embed", params={"layer": "nope"}, json={"instances": [instance]}
        ),
        400,
        "nope",
        "embedding",
    )


def test_head_checks_the_embedding_width(http: httpx.Client) -> None:
    assert_error(http.post("/v1/models/digits:head", json={"embeddings": [[0.0] * 5]}), 400, "128")
    assert_error(http.post("/v1/models/digits:head", json={"vectors": []}), 400, "embeddings")
