"""The embedding map's routes on the live server: ``/projection``, ``/projection/points`` and
``:project``, checked against numpy's PCA of the embeddings the model serves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from core.manifest import Manifest, neighbor_index_paths
from tests.fixtures.server import run_server
from tests.service.helpers import assert_error, copy_versions, encode_npy, image_bytes

TEST_1 = {"examples": [{"dataset": "mnist-test", "index": 1}]}


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def numpy_pca(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, the two top eigenvectors of the covariance (largest |loading| positive), shares."""
    data = np.asarray(vectors, dtype=np.float64)
    values, vectors_ = np.linalg.eigh(np.cov(data, rowvar=False))
    top = vectors_[:, ::-1][:, :2].T
    top *= np.sign(top[np.arange(2), np.abs(top).argmax(axis=1)])[:, None]
    return data.mean(axis=0), top, values[::-1][:2] / values.sum()


def test_the_projection_is_numpys_pca_of_the_test_index(http: httpx.Client, live_server) -> None:
    body = ok(http.get("/v1/models/digits/versions/1/projection"))
    assert (body["method"], body["layer"], body["dataset"]) == ("pca", "embedding", "mnist-test")
    vectors_path, _ = neighbor_index_paths(
        live_server.settings.models_dir / "digits" / "1", "mnist-test"
    )
    mean, components, explained = numpy_pca(np.load(vectors_path))
    np.testing.assert_allclose(body["mean"], mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(body["components"], components, atol=1e-9)
    np.testing.assert_allclose(body["explained"], explained, rtol=1e-9)
    assert body["explained"][0] >= body["explained"][1] > 0


def test_the_projection_is_that_of_the_served_embeddings(http: httpx.Client) -> None:
    """sklearn-digits' test split embedded through :embed, independently of the index."""
    run = ok(http.get("/v1/datasets/sklearn-digits-test?start=0&num=4096"))
    embedded = ok(
        http.post("/v1/models/sklearn-digits:embed", json={"instances": run["instances"]})
    )
    mean, components, _ = numpy_pca(np.asarray(embedded["embeddings"]))
    body = ok(http.get("/v1/models/sklearn-digits/projection"))
    np.testing.assert_allclose(body["mean"], mean, atol=1e-4)
    np.testing.assert_allclose(body["components"], components, atol=1e-3)


def test_points_are_the_test_split_projected(http: httpx.Client) -> None:
    projection = ok(http.get("/v1/models/digits/projection"))
    body = ok(http.get("/v1/models/digits/projection/points?num=300&seed=3"))
    indices = body["indices"]
    assert len(indices) == 300 and indices == sorted(set(indices)) and body["size"] == 10_000
    assert body == ok(http.get("/v1/models/digits/projection/points?num=300&seed=3"))
    other = ok(http.get("/v1/models/digits/projection/points?num=300&seed=4"))
    assert other["indices"] != indices
    picked = [0, 150, 299]
    examples = [ok(http.get(f"/v1/datasets/mnist-test/{indices[i]}")) for i in picked]
    assert [body["labels"][i] for i in picked] == [e["label"] for e in examples]
    instances = [e["instance"] for e in examples]
    predicted = ok(http.post("/v1/models/digits:predict", json={"instances": instances}))
    assert [body["predicted"][i] for i in picked] == [
        p["class_id"] for p in predicted["predictions"]
    ]
    embedded = ok(http.post("/v1/models/digits:embed", json={"instances": instances}))
    expected = (np.asarray(embedded["embeddings"]) - projection["mean"]) @ np.asarray(
        projection["components"]
    ).T
    np.testing.assert_allclose([body["coords"][i] for i in picked], expected, atol=1e-3)


def test_a_split_smaller_than_num_gives_every_row(http: httpx.Client) -> None:
    body = ok(http.get("/v1/models/xor/projection/points?num=10000"))
    assert body["indices"] == list(range(160)) and len(body["coords"]) == 160


def test_project_puts_an_input_on_its_point_whatever_its_form(http: httpx.Client) -> None:
    points = ok(http.get("/v1/models/digits/projection/points?num=10000"))
    point = points["coords"][1]
    image = ok(http.get("/v1/datasets/mnist-test/1"))["instance"]
    pixels = np.asarray([image], dtype=np.float32)
    url = "/v1/models/digits:project"
    by_reference = ok(http.post(url, json=TEST_1))
    assert by_reference["dataset"] == "mnist-test" and by_reference["method"] == "pca"
    np.testing.assert_allclose(by_reference["coords"][0], point, atol=1e-3)
    others = [
        ok(http.post(url, json={"instances": [image]})),
        ok(
            http.post(
                url, content=encode_npy(pixels), headers={"content-type": "application/x-npy"}
            )
        ),
        ok(http.post(url, files={"files": ("one.png", image_bytes(pixels[0]), "image/png")})),
    ]
    for other in others:
        assert other["coords"] == by_reference["coords"]
    two = ok(http.post("/v1/models/digits/versions/1:project", json={"instances": [image, image]}))
    assert two["version"] == 1 and len(two["coords"]) == 2


def test_mistakes_are_named_4xx(http: httpx.Client) -> None:
    base = "/v1/models/digits"
    assert_error(http.get(f"{base}/projection/points?num=0"), 400, "num")
    assert_error(http.get(f"{base}/projection/points?num=10001"), 400, "num")
    assert_error(http.get(f"{base}/projection/points?seed=-1"), 400, "seed")
    assert_error(http.get(f"{base}/projection/points?num=many"), 400, "num")
    assert_error(http.get("/v1/models/nope/projection"), 404, "nope")
    assert_error(http.get(f"{base}/versions/99/projection"), 404, "99")
    assert_error(http.post(f"{base}:project", json={}), 400, "instances")
    assert_error(http.post(f"{base}:project", json={"instances": [[1, 2]]}), 400, "784")
    assert_error(
        http.post(f"{base}:project", json={"examples": [{"dataset": "xor-test", "index": 0}]}),
        400,
        "shape",
    )
    assert_error(http.post(f"{base}:project", json={"nope": 1}), 400, "nope")
    assert_error(
        http.post(f"{base}:project", content=b"x", headers={"content-type": "text/plain"}), 415
    )


def _strip_test_index(version_dir: Path) -> None:
    manifest = Manifest.read(version_dir)
    kept = tuple(r for r in manifest.neighbor_indexes if not r.dataset.endswith("-test"))
    manifest.model_copy(update={"neighbor_indexes": kept}).write(version_dir)


def test_a_restart_fits_the_same_axes_and_missing_or_bad_indexes_are_named(
    http: httpx.Client, model_repository, tmp_path: Path
) -> None:
    """A second server over copies: digits v1 fits the very same projection; xor without
    its test index answers 404, sklearn-digits with a damaged one 503."""
    models = copy_versions(
        model_repository.models_dir,
        tmp_path / "models",
        {"digits": [1], "xor": [1], "sklearn-digits": [1]},
    )
    _strip_test_index(models / "xor" / "1")
    vectors_path, _ = neighbor_index_paths(models / "sklearn-digits" / "1", "sklearn-digits-test")
    data = bytearray(vectors_path.read_bytes())
    data[-1] ^= 0xFF
    vectors_path.write_bytes(bytes(data))
    before = http.get("/v1/models/digits/versions/1/projection").content
    settings = model_repository.settings(models_dir=models, reload_interval_s=0)
    with run_server(settings) as server, server.client() as fresh:
        after = fresh.get("/v1/models/digits/projection")
        assert after.status_code == 200 and after.content == before
        assert json.loads(after.content)["version"] == 1
        assert_error(fresh.get("/v1/models/xor/projection"), 404, "xor-test", "index")
        assert_error(fresh.post("/v1/models/xor:project", json={"instances": [[0, 1]]}), 404)
        assert_error(fresh.get("/v1/models/sklearn-digits/projection/points"), 503, "checksum")


@pytest.mark.parametrize("model", ["digits-cnn", "fashion", "sklearn-digits", "xor"])
def test_every_model_has_a_map(http: httpx.Client, model: str) -> None:
    body = ok(http.get(f"/v1/models/{model}/projection/points?num=50"))
    assert len(body["coords"]) == 50 and all(len(c) == 2 for c in body["coords"])
    assert np.isfinite(body["coords"]).all()
