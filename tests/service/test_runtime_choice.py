"""Which runtime serves an endpoint: the LiteRT copy when it is the SavedModel's, else TF.

Every case runs a real server on its own copy of the test repository and compares its
answers with the SavedModel called directly, so a wrong copy cannot go unnoticed.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from core.litert import sha256_hex
from core.manifest import ENDPOINTS, LITERT_FILE, MANIFEST_FILE, SAVED_MODEL_DIR
from tests.fixtures.server import run_server
from tests.service.helpers import copy_versions

ALL_LITERT = dict.fromkeys(ENDPOINTS, "litert")
ALL_TENSORFLOW = dict.fromkeys(ENDPOINTS, "tensorflow")


def _instances(n: int = 5) -> np.ndarray:
    return np.random.default_rng(3).uniform(0, 255, size=(n, 28, 28)).astype(np.float32)


def _savedmodel_answers(version_dir: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    loaded = tf.saved_model.load(str(version_dir / SAVED_MODEL_DIR))
    embedding = loaded.embed(x)["embedding"].numpy()
    return {
        "probabilities": loaded.predict(x)["probabilities"].numpy(),
        "embedding": embedding,
        "head": loaded.head(embedding)["probabilities"].numpy(),
    }


def _served_answers(http: Any, x: np.ndarray) -> dict[str, np.ndarray]:
    instances = x.tolist()
    predicted = http.post("/v1/models/digits:predict", json={"instances": instances})
    embedded = http.post("/v1/models/digits:embed", json={"instances": instances})
    assert predicted.status_code == embedded.status_code == 200, predicted.text
    embedding = np.array(embedded.json()["embeddings"], np.float32)
    head = http.post("/v1/models/digits:head", json={"embeddings": embedding.tolist()})
    assert head.status_code == 200, head.text
    return {
        "probabilities": np.array(
            [p["probabilities"] for p in predicted.json()["predictions"]], np.float32
        ),
        "embedding": embedding,
        "head": np.array([p["probabilities"] for p in head.json()["predictions"]], np.float32),
    }


def _serve_and_compare(settings: Any, version_dir: Path) -> dict[str, str]:
    x = _instances()
    expected = _savedmodel_answers(version_dir, x)
    with run_server(settings) as server, server.client() as http:
        runtimes = http.get("/v1/models/digits").json()["runtimes"]
        served = _served_answers(http, x)
    for key, value in expected.items():
        np.testing.assert_allclose(served[key], value, atol=1e-4, rtol=1e-4, err_msg=key)
    return runtimes


@pytest.fixture
def digits_copy(model_repository: Any, tmp_path: Path) -> tuple[Any, Path]:
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"digits": [1]})
    return model_repository.settings(models_dir=models_dir), models_dir / "digits" / "1"


def test_the_litert_copy_serves_every_endpoint_with_the_savedmodels_answers(
    digits_copy: tuple[Any, Path],
) -> None:
    settings, version_dir = digits_copy
    assert (version_dir / LITERT_FILE).is_file()
    assert _serve_and_compare(settings, version_dir) == ALL_LITERT


def test_the_tensorflow_setting_keeps_litert_out(digits_copy: tuple[Any, Path]) -> None:
    settings, version_dir = digits_copy
    settings = settings.model_copy(update={"inference_runtime": "tensorflow"})
    assert _serve_and_compare(settings, version_dir) == ALL_TENSORFLOW


def test_a_copy_that_fails_its_checksum_is_not_run(
    digits_copy: tuple[Any, Path], caplog: pytest.LogCaptureFixture
) -> None:
    settings, version_dir = digits_copy
    data = bytearray((version_dir / LITERT_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (version_dir / LITERT_FILE).write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        assert _serve_and_compare(settings, version_dir) == ALL_TENSORFLOW
    assert "checksum" in caplog.text


def test_a_copy_of_another_network_is_caught_by_the_load_check(
    model_repository: Any, digits_copy: tuple[Any, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """Right checksum, wrong weights (digits v2's copy in v1): every endpoint disagrees."""
    settings, version_dir = digits_copy
    other = (model_repository.models_dir / "digits" / "2" / LITERT_FILE).read_bytes()
    (version_dir / LITERT_FILE).write_bytes(other)
    manifest = json.loads((version_dir / MANIFEST_FILE).read_text())
    manifest["compiled"]["sha256"] = sha256_hex(other)
    (version_dir / MANIFEST_FILE).write_text(json.dumps(manifest))
    with caplog.at_level(logging.WARNING):
        assert _serve_and_compare(settings, version_dir) == ALL_TENSORFLOW
    assert "LiteRT copy not used" in caplog.text


def test_a_version_without_a_copy_is_served_by_tensorflow(digits_copy: tuple[Any, Path]) -> None:
    settings, version_dir = digits_copy
    (version_dir / LITERT_FILE).unlink()
    manifest = json.loads((version_dir / MANIFEST_FILE).read_text())
    manifest.pop("compiled")
    (version_dir / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert _serve_and_compare(settings, version_dir) == ALL_TENSORFLOW
