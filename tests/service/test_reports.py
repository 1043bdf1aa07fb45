"""The course reports' questions 1-7 (docs SEEDS.md), answered over HTTP by the live server."""

from __future__ import annotations

import itertools

import httpx
import numpy as np
import pytest

from tests.service.helpers import encode_npy, mnist_example

A = {"dataset": "mnist-test", "index": 1}  # a '2'
B = {"dataset": "mnist-test", "index": 2}  # a '1'


def test_q1_classify_an_image_with_every_class_probability(http: httpx.Client) -> None:
    instance, label = mnist_example(http, 0)
    body = http.post("/v1/models/digits:predict", json={"instances": [instance]}).json()
    prediction = body["predictions"][0]
    assert len(prediction["probabilities"]) == 10
    assert abs(sum(prediction["probabilities"]) - 1) < 1e-4
    assert prediction["label"] == str(prediction["class_id"])
    assert prediction["class_id"] == label  # even a tiny model gets test image 0 (a 7) right
    assert prediction["top_k"][0]["class_id"] == prediction["class_id"]


def test_q2_test_accuracy_per_class_and_confusion_matrix(http: httpx.Client) -> None:
    body = http.get("/v1/models/digits/metrics", params={"kind": "test"}).json()
    data = body["evaluations"][0]["data"]
    assert 0.5 < data["accuracy"] <= 1.0
    assert len(data["per_class_accuracy"]) == 10
    raw = np.array(data["confusion_matrix"])
    normalised = np.array(data["confusion_matrix_normalised"])
    assert raw.shape == normalised.shape == (10, 10)
    assert raw.sum() == data["num_examples"]
    np.testing.assert_allclose(normalised.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.diag(normalised), data["per_class_accuracy"], atol=1e-5)
    histogram = data["confidence_histogram"]
    assert len(histogram["correct"]) == len(histogram["incorrect"]) == 20


def _live_outputs(http: httpx.Client, model: str, dataset: str, size: int) -> tuple:
    """Every example of ``dataset`` through ``model`` over HTTP: (labels, probabilities)."""
    labels, probabilities = [], []
    start = 0
    while start < size:
        run = http.get(f"/v1/datasets/{dataset}", params={"start": start, "num": 1000}).json()
        batch = np.asarray(run["instances"], dtype=np.float32)
        answer = http.post(
            f"/v1/models/{model}:predict",
            content=encode_npy(batch),
            headers={"content-type": "application/x-npy"},
        )
        assert answer.status_code == 200, answer.text
        probabilities += [p["probabilities"] for p in answer.json()["predictions"]]
        labels += run["labels"]
        start += len(batch)
    return np.asarray(labels), np.asarray(probabilities)


@pytest.mark.parametrize(("model", "other"), [("digits", "fashion-mnist"), ("fashion", "mnist")])
def test_q3_stored_cross_dataset_report_is_what_the_served_model_answers(
    http: httpx.Client, model: str, other: str
) -> None:
    body = http.get(f"/v1/models/{model}/metrics", params={"kind": "cross-dataset"}).json()
    (evaluation,) = body["evaluations"]
    assert evaluation["dataset"] == f"{other}-test"
    data = evaluation["data"]
    labels, probabilities = _live_outputs(http, model, f"{other}-test", data["num_examples"])
    assert len(labels) == data["num_examples"] == 10_000
    predicted, confidence = probabilities.argmax(axis=1), probabilities.max(axis=1)
    # Training evaluated with TensorFlow, the service answers through LiteRT: a near-tie may
    # flip an argmax, so counts agree to a few examples and means to float tolerance.
    assert abs(float((predicted == labels).mean()) - data["accuracy"]) <= 5e-4
    assert abs(float(confidence.mean()) - data["mean_max_probability"]) <= 1e-4
    counts = np.bincount(predicted, minlength=10)
    assert np.abs(counts - np.asarray(data["predicted_class_counts"])).sum() <= 10
    assert sum(data["confidence_histogram"]["counts"]) == data["num_examples"]


def test_q4_pixel_interpolation_of_two_test_images_with_100_alphas(http: httpx.Client) -> None:
    request = {"a": A, "b": B, "space": "pixel", "alphas": {"start": 0, "stop": 1, "num": 100}}
    body = http.post("/v1/models/digits:interpolate", json=request).json()
    points = body["points"]
    assert len(points) == 100 and points[0]["alpha"] == 0.0 and points[-1]["alpha"] == 1.0
    ends = http.post(
        "/v1/models/digits:predict",
        json={"instances": [mnist_example(http, 2)[0], mnist_example(http, 1)[0]]},
    ).json()["predictions"]
    # alpha 0 is b (index 2) and alpha 1 is a (index 1): the same predictions as predict.
    np.testing.assert_allclose(points[0]["probabilities"], ends[0]["probabilities"], atol=1e-5)
    np.testing.assert_allclose(points[-1]["probabilities"], ends[1]["probabilities"], atol=1e-5)
    summary = body["summary"]
    assert summary["start"]["class_id"] == points[0]["class_id"]
    assert summary["stop"]["class_id"] == points[-1]["class_id"]
    classes = [p["class_id"] for p in points]
    assert len(summary["flips"]) == sum(a != b for a, b in itertools.pairwise(classes))


def test_q5_q6_embeddings_of_the_two_images_and_head_equals_predict(http: httpx.Client) -> None:
    instances = [mnist_example(http, 1)[0], mnist_example(http, 2)[0]]
    embedded = http.post("/v1/models/digits:embed", json={"instances": instances}).json()
    assert embedded["layer"] == "embedding"
    vectors = embedded["embeddings"]
    assert np.array(vectors).shape == (2, 128) == tuple(embedded["shape"])
    head = http.post("/v1/models/digits:head", json={"embeddings": vectors}).json()
    full = http.post("/v1/models/digits:predict", json={"instances": instances}).json()
    for h, f in zip(head["predictions"], full["predictions"], strict=True):
        assert h["class_id"] == f["class_id"]
        np.testing.assert_allclose(h["probabilities"], f["probabilities"], atol=1e-5)


def test_q7_embedding_interpolation_50_alphas_from_minus_1_to_2(http: httpx.Client) -> None:
    request = {"a": A, "b": B, "space": "embedding", "alphas": {"start": -1, "stop": 2, "num": 50}}
    body = http.post("/v1/models/digits:interpolate", json=request).json()
    assert body["space"] == "embedding" and len(body["points"]) == 50
    alphas = [p["alpha"] for p in body["points"]]
    np.testing.assert_allclose(alphas, np.linspace(-1, 2, 50))
    # Check one point by hand: mix the two embeddings, run the head.
    embedded = http.post(
        "/v1/models/digits:embed",
        json={"instances": [mnist_example(http, 1)[0], mnist_example(http, 2)[0]]},
    ).json()["embeddings"]
    v1, v2 = np.array(embedded)
    alpha = alphas[40]
    mixed = (alpha * v1 + (1 - alpha) * v2).tolist()
    head = http.post("/v1/models/digits:head", json={"embeddings": [mixed]}).json()
    np.testing.assert_allclose(
        head["predictions"][0]["probabilities"], body["points"][40]["probabilities"], atol=1e-4
    )
