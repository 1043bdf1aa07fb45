"""``:explain?layer=`` for every probe-able layer, through the tails the trainer exports."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from core.manifest import PROBABILITIES_LAYER, TAILS_DIR, Manifest
from tests.fixtures.models import ModelRepository
from tests.fixtures.server import run_server
from tests.service.helpers import assert_error, copy_versions

#: A few test images in one request: the path of each runs in the same call.
IMAGES = {"examples": [{"dataset": "mnist-test", "index": i} for i in (0, 1, 2)]}
STEPS = 64


def _manifest(repository: ModelRepository, model: str) -> Manifest:
    versions = sorted(int(p.name) for p in (repository.models_dir / model).iterdir())
    return Manifest.read(repository.models_dir / model / str(versions[-1]))


def _layers(repository: ModelRepository, model: str) -> list[str]:
    return [la.name for la in _manifest(repository, model).layers if la.name != PROBABILITIES_LAYER]


@pytest.mark.parametrize("model", ["digits", "digits-cnn"])
def test_every_layer_is_complete_at_64_steps(
    http: httpx.Client, model_repository: ModelRepository, model: str
) -> None:
    manifest = _manifest(model_repository, model)
    assert manifest.tails is not None
    layers = _layers(model_repository, model)
    assert set(manifest.tails.layers) | {manifest.embedding_layer} == set(layers)
    black = http.post(f"/v1/models/{model}:explain?steps=1", json=IMAGES).json()
    for layer in layers:
        response = http.post(f"/v1/models/{model}:explain?layer={layer}&steps={STEPS}", json=IMAGES)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["layer"] == layer
        shape = manifest.layer(layer).output_shape
        for item, plain in zip(body["explanations"], black["explanations"], strict=True):
            assert np.asarray(item["attributions"]).shape == shape
            # The same scores as from the input: the path joins the activations of the
            # input and of the black baseline.
            assert item["value"] == pytest.approx(plain["value"], abs=1e-5)
            assert item["baseline_value"] == pytest.approx(plain["baseline_value"], abs=1e-5)
            change = abs(item["value"] - item["baseline_value"])
            assert item["completeness_gap"] <= max(0.01 * change, 1e-3), (layer, item["value"])
            total = np.asarray(item["attributions"]).sum()
            assert total == pytest.approx(
                item["value"] - item["baseline_value"], abs=max(0.01 * change, 1e-3)
            )


def test_layers_without_a_tail_and_unknown_layers_are_400s_naming_the_accepted(
    http: httpx.Client, model_repository: ModelRepository
) -> None:
    url = "/v1/models/digits-cnn:explain"
    accepted = ", ".join(_layers(model_repository, "digits-cnn"))
    body = assert_error(http.post(f"{url}?layer=nosuch", json=IMAGES), 400, "nosuch")
    assert body["code"] == "unknown_layer" and accepted in body["error"]
    body = assert_error(
        http.post(f"{url}?layer=probabilities", json=IMAGES), 400, "no attribution tail"
    )
    assert accepted in body["error"]


def test_a_tampered_tails_folder_is_refused_at_load(
    model_repository: ModelRepository, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    models_dir = copy_versions(
        model_repository.models_dir, tmp_path / "models", {"digits-cnn": [1]}
    )
    variables = next((models_dir / "digits-cnn" / "1" / TAILS_DIR / "variables").glob("*.data*"))
    raw = bytearray(variables.read_bytes())
    raw[-1] ^= 1
    variables.write_bytes(bytes(raw))
    settings = model_repository.settings(models_dir=models_dir, reload_interval_s=0)
    with run_server(settings) as server, server.client() as http:
        url = "/v1/models/digits-cnn:explain"
        body = assert_error(http.post(f"{url}?layer=conv2", json=IMAGES), 400, "checksum")
        assert "layers accepted: embedding" in body["error"]
        answer = http.post(f"{url}?layer=embedding&steps=16", json=IMAGES)
        assert answer.status_code == 200, answer.text
    assert any("does not match its manifest checksum" in r.getMessage() for r in caplog.records)
