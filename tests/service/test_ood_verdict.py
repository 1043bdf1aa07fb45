"""The out-of-distribution verdict on every front door of the live server: v1 :predict
(JSON, multipart PNG, .npy), the Open Inference Protocol over REST and gRPC; the stored
evaluation recomputed from the served scores; bad input answered 4xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from sklearn.metrics import roc_auc_score

from core import datasets
from core.db import KIND_OOD, make_engine, store
from core.manifest import OOD_DIR, Manifest, ood_knn_file
from core.ood import scores
from tests.fixtures.models import ModelRepository
from tests.fixtures.server import run_server
from tests.grpc.conftest import grpc_target
from tests.service.helpers import assert_error, copy_versions, encode_npy, image_bytes
from tests.training.helpers import pooled_calibration
from training import ood

FIELDS = {"score", "threshold", "verdict", "method"}
#: The quick profile's cap on evaluation sets (training.pipeline.PROFILES["quick"]).
EVALUATED = 2000


def _served(http: httpx.Client, model: str, x: np.ndarray, query: str) -> list[dict[str, Any]]:
    response = http.post(
        f"/v1/models/{model}/versions/1:predict?{query}",
        content=encode_npy(x.astype(np.float32)),
        headers={"content-type": "application/x-npy"},
    )
    assert response.status_code == 200, response.text
    return [p["ood"] for p in response.json()["predictions"]]


def _map_points_ood(http: httpx.Client) -> tuple[np.ndarray, list[float]]:
    """12 of digits-cnn's map points: their test-split rows and their verdicts' scores."""
    points = http.get("/v1/models/digits-cnn/versions/1/projection/points?num=12&ood=true")
    assert points.status_code == 200, points.text
    return np.asarray(points.json()["indices"]), [v["score"] for v in points.json()["ood"]]


@pytest.fixture(scope="module")
def mnist(model_repository: ModelRepository) -> np.ndarray:
    return datasets.load_split("mnist", "test", model_repository.data_dir).x


@pytest.fixture(scope="module")
def fashion(model_repository: ModelRepository) -> np.ndarray:
    return datasets.load_split("fashion-mnist", "test", model_repository.data_dir).x


def test_json_predict_carries_the_verdict_with_the_default_method(
    http: httpx.Client, model_repository: ModelRepository, mnist: np.ndarray
) -> None:
    manifest = Manifest.read(model_repository.models_dir / "digits" / "1")
    assert manifest.ood is not None
    body = {"instances": mnist[:3].tolist()}
    plain = http.post("/v1/models/digits/versions/1:predict", json=body).json()
    assert all("ood" not in p for p in plain["predictions"])
    answer = http.post("/v1/models/digits/versions/1:predict?ood=true", json=body)
    assert answer.status_code == 200, answer.text
    for with_ood, without in zip(answer.json()["predictions"], plain["predictions"], strict=True):
        verdict = with_ood.pop("ood")
        assert with_ood == without
        assert set(verdict) == FIELDS and verdict["method"] == manifest.ood.default_method
        assert verdict["threshold"] == manifest.ood.methods[verdict["method"]].threshold
        assert verdict["verdict"] == ("out" if verdict["score"] > verdict["threshold"] else "in")


def test_served_scores_are_the_trainers_scores_for_every_method(
    http: httpx.Client, model_repository: ModelRepository, mnist: np.ndarray, fashion: np.ndarray
) -> None:
    version_dir = model_repository.models_dir / "digits-cnn" / "1"
    scorer = ood.Scorer.open(version_dir, Manifest.read(version_dir))
    x = np.concatenate([mnist[:20], fashion[:20]])
    expected = scorer.scores(x)
    for method in scores.METHODS:
        served = _served(http, "digits-cnn", x, f"ood_method={method}")
        assert {v["method"] for v in served} == {method}
        np.testing.assert_allclose(
            [v["score"] for v in served], expected[method], rtol=2e-3, atol=2e-3
        )


def test_the_stored_evaluation_equals_a_recomputation_from_served_scores(
    http: httpx.Client, model_repository: ModelRepository, mnist: np.ndarray, fashion: np.ndarray
) -> None:
    engine = make_engine(model_repository.database_url)
    try:
        rows = {r.dataset: r.data for r in store.get_evaluations(engine, "digits", 1, KIND_OOD)}
    finally:
        engine.dispose()
    stored = rows["fashion-mnist-test"]
    assert stored["num_in"] == stored["num_out"] == EVALUATED
    for method in ("knn", "msp"):
        inside = [
            v["score"] for v in _served(http, "digits", mnist[:EVALUATED], f"ood_method={method}")
        ]
        outside = [
            v["score"] for v in _served(http, "digits", fashion[:EVALUATED], f"ood_method={method}")
        ]
        labels = np.r_[np.zeros(EVALUATED), np.ones(EVALUATED)]
        auroc = roc_auc_score(labels, np.r_[inside, outside])
        assert stored["methods"][method]["auroc"] == pytest.approx(auroc, abs=2e-3), method
        threshold = stored["methods"][method]["threshold"]
        flagged = float((np.asarray(outside) > threshold).mean())
        assert stored["methods"][method]["flagged_out"] == pytest.approx(flagged, abs=2e-3)
    canvas = datasets.load_robustness("canvas", model_repository.data_dir)[0]
    canvas = canvas[: rows["canvas"]["num_out"]]
    served = _served(http, "digits", canvas, "ood=true")
    method = served[0]["method"]
    share = np.mean([v["verdict"] == "out" for v in served])
    assert rows["canvas"]["methods"][method]["flagged_out"] == pytest.approx(share, abs=2e-3)


def test_multipart_upload_carries_the_verdict(http: httpx.Client, mnist: np.ndarray) -> None:
    blank = np.zeros((28, 28), np.uint8)
    files = [
        ("files", ("seven.png", image_bytes(mnist[0]), "image/png")),
        ("files", ("blank.png", image_bytes(blank), "image/png")),
    ]
    answer = http.post("/v1/models/digits/versions/1:predict?ood_method=knn", files=files)
    assert answer.status_code == 200, answer.text
    verdicts = [p["ood"] for p in answer.json()["predictions"]]
    assert [set(v) for v in verdicts] == [FIELDS, FIELDS]
    assert verdicts[1]["score"] > verdicts[0]["score"]


def test_open_inference_protocol_rest_and_grpc_carry_the_verdict(
    live_server: Any, http: httpx.Client, mnist: np.ndarray
) -> None:
    x = mnist[:4].astype(np.float32)
    v1 = _served(http, "digits", x, "ood_method=energy")
    names = ("ood_score", "ood_threshold", "ood_verdict")
    rest = triton_http.InferenceServerClient(live_server.url.removeprefix("http://"))
    grpc = triton_grpc.InferenceServerClient(grpc_target(live_server))
    try:
        for module, client in ((triton_http, rest), (triton_grpc, grpc)):
            tensor = module.InferInput("x", [4, 28, 28], "FP32")
            tensor.set_data_from_numpy(x)
            asked = [module.InferRequestedOutput(n) for n in (*names, "probabilities")]
            result = client.infer(
                "digits", [tensor], outputs=asked, model_version="1",
                parameters={"ood_method": "energy"},
            )  # fmt: skip
            np.testing.assert_allclose(
                result.as_numpy("ood_score"), [v["score"] for v in v1], rtol=1e-4
            )
            np.testing.assert_allclose(
                result.as_numpy("ood_threshold"), [v["threshold"] for v in v1], rtol=1e-6
            )
            assert result.as_numpy("ood_verdict").tolist() == [
                float(v["verdict"] == "out") for v in v1
            ]
            assert result.as_numpy("probabilities").shape == (4, 10)
        outputs = {o["name"]: o["shape"] for o in rest.get_model_metadata("digits")["outputs"]}
        assert all(outputs[n] == [-1] for n in names)
    finally:
        rest.close()
        grpc.close()


def test_unknown_method_is_a_400_naming_the_methods(http: httpx.Client) -> None:
    body = {"instances": [[0.0, 1.0]]}
    answer = http.post("/v1/models/xor:predict?ood_method=odin", json=body)
    assert_error(answer, 400, "odin", "knn", "mahalanobis", "energy", "msp")
    v2 = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [0, 1]}],
          "outputs": [{"name": "ood_score"}], "parameters": {"ood_method": "odin"}}  # fmt: skip
    answer = http.post("/v2/models/xor/infer", json=v2)
    assert answer.status_code == 400 and "knn" in answer.json()["error"]


def test_a_version_without_calibration_names_the_command(
    model_repository: ModelRepository, tmp_path: Path
) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"xor": [1]})
    version_dir = models_dir / "xor" / "1"
    Manifest.read(version_dir).model_copy(update={"ood": None}).write(version_dir)
    for path in sorted((version_dir / OOD_DIR).iterdir()):
        path.unlink()
    settings = model_repository.settings(models_dir=models_dir, reload_interval_s=0)
    with run_server(settings) as server, server.client() as client:
        body = {"instances": [[0.0, 1.0]]}
        assert client.post("/v1/models/xor:predict", json=body).status_code == 200
        answer = client.post("/v1/models/xor:predict?ood=true", json=body)
        assert_error(answer, 404, "layerlens-train train", "calibration")
        v2 = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [0, 1]}],
              "outputs": [{"name": "ood_verdict"}]}  # fmt: skip
        answer = client.post("/v2/models/xor/infer", json=v2)
        assert answer.status_code == 404 and "layerlens-train train" in answer.json()["error"]


def test_interpolate_steps_carry_the_verdict(http: httpx.Client, mnist: np.ndarray) -> None:
    ends = {"a": {"dataset": "mnist-test", "index": 1}, "b": {"dataset": "mnist-test", "index": 2}}
    alphas = [0.0, 0.5, 1.0]
    pixel = http.post(
        "/v1/models/digits/versions/1:interpolate",
        json={**ends, "space": "pixel", "alphas": alphas, "ood_method": "knn"},
    )
    assert pixel.status_code == 200, pixel.text
    steps = [p["ood"] for p in pixel.json()["points"]]
    assert [set(s) for s in steps] == [FIELDS] * 3
    alone = _served(http, "digits", mnist[[2, 1]], "ood_method=knn")
    assert steps[0]["score"] == pytest.approx(alone[0]["score"], rel=1e-4)
    assert steps[2]["score"] == pytest.approx(alone[1]["score"], rel=1e-4)
    far = http.post(
        "/v1/models/digits/versions/1:interpolate",
        json={**ends, "space": "embedding", "alphas": [1.0, 40.0], "ood": True},
    )
    assert far.status_code == 200, far.text
    near, away = (p["ood"] for p in far.json()["points"])
    assert away["score"] > near["score"]
    bad = http.post(
        "/v1/models/digits:interpolate", json={**ends, "alphas": alphas, "ood_method": "nope"}
    )
    assert_error(bad, 400, "nope", "knn")


def test_knn_searches_the_layer_the_calibration_names(
    model_repository: ModelRepository, tmp_path: Path, mnist: np.ndarray, fashion: np.ndarray
) -> None:
    """A calibration whose ``knn_layer`` is ``dense1`` (digits-cnn indexes it): the served
    knn scores are distances in that layer's space, as the trainer's scorer computes them,
    and differ from the embedding's."""
    models_dir = copy_versions(
        model_repository.models_dir, tmp_path / "models", {"digits-cnn": [1]}
    )
    version_dir = models_dir / "digits-cnn" / "1"
    manifest = Manifest.read(version_dir)
    assert manifest.ood is not None
    embedding = ood.Scorer.open(version_dir, manifest, knn_layer=manifest.embedding_layer)
    record = manifest.ood.model_copy(
        update={"knn_layer": "dense1", "knn_pooling": None, "knn_files": {}}
    )
    manifest = manifest.model_copy(update={"ood": record})
    manifest.write(version_dir)
    scorer = ood.Scorer.open(version_dir, manifest)
    assert scorer.knn_layer == "dense1"
    x = np.concatenate([mnist[:10], fashion[:10]]).astype(np.float32)
    expected = scorer.knn(x)
    assert not np.allclose(expected, embedding.knn(x), rtol=1e-2)
    settings = model_repository.settings(models_dir=models_dir, reload_interval_s=0)
    with run_server(settings) as server, server.client() as client:
        served = _served(client, "digits-cnn", x, "ood_method=knn")
        # The map's points: their dense1 vectors come from the test split's dense1 index.
        rows, on_map = _map_points_ood(client)
        # An embedding-space sweep has no dense1 activations to search: a 400 that says so.
        sweep = client.post(
            "/v1/models/digits-cnn/versions/1:interpolate",
            json={
                "a": {"dataset": "mnist-test", "index": 0},
                "b": {"dataset": "mnist-test", "index": 1},
                "space": "embedding",
                "ood_method": "knn",
            },
        )
    np.testing.assert_allclose([v["score"] for v in served], expected, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(on_map, scorer.knn(mnist[rows].astype(np.float32)), atol=2e-3)
    assert_error(sweep, 400, "dense1")


def test_knn_in_a_pooled_space_is_the_trainers_on_every_path(
    model_repository: ModelRepository,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mnist: np.ndarray,
    fashion: np.ndarray,
) -> None:
    """A calibration that searches pool2 averaged over positions: :predict's scores (the
    service averages the layer's map it runs) and the map's points' (read from the test
    split's file) are the trainer's; a file that fails its checksum is a 503, not a 500."""
    version_dir, manifest, _data = pooled_calibration(model_repository, tmp_path, monkeypatch)
    scorer = ood.Scorer.open(version_dir, manifest)
    x = np.concatenate([mnist[:10], fashion[:10]]).astype(np.float32)
    settings = model_repository.settings(models_dir=version_dir.parents[1], reload_interval_s=0)
    with run_server(settings) as server, server.client() as client:
        served = _served(client, "digits-cnn", x, "ood_method=knn")
        rows, on_map = _map_points_ood(client)  # from the test split's averaged vectors
    np.testing.assert_allclose([v["score"] for v in served], scorer.knn(x), rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(on_map, scorer.knn(mnist[rows].astype(np.float32)), atol=2e-3)
    train_file = version_dir / OOD_DIR / ood_knn_file("mnist-train")
    train_file.write_bytes(train_file.read_bytes()[:-8] + b"\0" * 8)
    with run_server(settings) as server, server.client() as client:
        broken = client.post(
            "/v1/models/digits-cnn/versions/1:predict?ood_method=knn",
            content=encode_npy(x[:1]),
            headers={"content-type": "application/x-npy"},
        )
    assert_error(broken, 503, "checksum")
