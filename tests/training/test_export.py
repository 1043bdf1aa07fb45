"""Export: every recipe's network becomes a SavedModel whose endpoints agree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from core.litert import CompiledEndpoints, sha256_hex
from core.manifest import ENDPOINTS, LITERT_FILE, SAVED_MODEL_DIR, Manifest, list_versions
from tests.fixtures.models import ModelRepository
from training.export import export_network
from training.recipes import CATALOG

DATASET_RECORD = {"name": "synthetic", "source": "test", "sha256": {}, "split": {"test": 4}}
TRAINING_RECORD = {
    "epochs": 0,
    "batch_size": 1,
    "optimizer": "adam",
    "learning_rate": 0.001,
    "loss": "none",
    "seed": 0,
    "seconds": 0.0,
    "params": 0,
}


def _export(spec_name: str, models_dir: Path, version: int | None = None) -> Manifest:
    spec = CATALOG[spec_name]
    return export_network(
        spec,
        spec.network(),
        models_dir=models_dir,
        training=TRAINING_RECORD,
        dataset=DATASET_RECORD,
        version=version,
    )


def _random_inputs(manifest: Manifest, n: int = 7) -> np.ndarray:
    low, high = manifest.input.value_range
    rng = np.random.default_rng(0)
    return rng.uniform(low, high, size=(n, *manifest.input.shape)).astype(np.float32)


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_recipe_network_exports_consistent_endpoints(name: str, tmp_path: Path) -> None:
    manifest = _export(name, tmp_path)
    loaded = tf.saved_model.load(str(tmp_path / name / "1" / SAVED_MODEL_DIR))
    x = _random_inputs(manifest)

    predicted = loaded.predict(x)
    embedding = loaded.embed(x)["embedding"]
    from_head = loaded.head(embedding)
    layers = loaded.layers(x)

    np.testing.assert_allclose(from_head["probabilities"], predicted["probabilities"], atol=1e-5)
    np.testing.assert_allclose(from_head["logits"], predicted["logits"], atol=1e-5)
    np.testing.assert_allclose(layers["embedding"], embedding, atol=1e-6)
    np.testing.assert_allclose(np.sum(predicted["probabilities"], axis=1), 1.0, atol=1e-5)
    assert set(layers) == {layer.name for layer in manifest.layers}
    for layer in manifest.layers:
        assert tuple(layers[layer.name].shape[1:]) == layer.output_shape
    assert set(manifest.endpoints) >= set(ENDPOINTS)
    assert "scale" not in layers and "dropout" not in layers
    _assert_litert_copy_matches(tmp_path / name / "1", manifest, x)
    # Every recipe gets its layer tails, checked against predict when exported.
    assert manifest.tails is not None
    assert set(manifest.tails.layers) == set(layers) - {"probabilities"}


def _assert_litert_copy_matches(version_dir: Path, manifest: Manifest, x: np.ndarray) -> None:
    """The compiled copy the service runs gives the SavedModel's outputs on fresh inputs."""
    assert manifest.compiled is not None and manifest.compiled.endpoints == ENDPOINTS
    model = (version_dir / LITERT_FILE).read_bytes()
    assert sha256_hex(model) == manifest.compiled.sha256
    compiled = CompiledEndpoints(model)
    loaded = tf.saved_model.load(str(version_dir / SAVED_MODEL_DIR))
    embedding = loaded.embed(x)["embedding"].numpy()
    for endpoint in ENDPOINTS:
        given = embedding if endpoint == "head" else x
        expected = getattr(loaded, endpoint)(given)
        got = compiled.endpoint(endpoint)(given)
        assert set(got) == set(expected), endpoint
        for key, value in expected.items():
            np.testing.assert_allclose(got[key], value, atol=1e-4, rtol=1e-4, err_msg=key)


def test_export_takes_the_next_version_and_never_overwrites(tmp_path: Path) -> None:
    _export("xor", tmp_path)
    _export("xor", tmp_path)
    assert list_versions(tmp_path, "xor") == [1, 2]
    with pytest.raises(FileExistsError):
        _export("xor", tmp_path, version=1)


def test_a_failed_export_leaves_no_version_behind(tmp_path: Path, monkeypatch) -> None:
    def fail(self, version_dir: Path) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(Manifest, "write", fail)
    with pytest.raises(OSError, match="disk full"):
        _export("xor", tmp_path)
    assert list_versions(tmp_path, "xor") == []
    assert list((tmp_path / "xor").iterdir()) == []


def test_manifest_round_trips_through_its_file(tmp_path: Path) -> None:
    manifest = _export("digits", tmp_path)
    again = Manifest.read(tmp_path / "digits" / "1")
    assert again == manifest
    assert again.layer("embedding").output_shape == (128,)
    assert again.input.value_range == (0.0, 255.0)


def test_tensorflow_alone_can_use_a_trained_model(model_repository: ModelRepository) -> None:
    """The acceptance line: tf.saved_model.load plus the manifest is all a user needs."""
    version = model_repository.models_dir / "digits" / "2"
    script = (
        "import json, sys, numpy as np, tensorflow as tf\n"
        "m = json.load(open(sys.argv[1] + '/manifest.json'))\n"
        "sm = tf.saved_model.load(sys.argv[1] + '/saved_model')\n"
        "x = tf.zeros([2, *m['input']['shape']])\n"
        "p = sm.predict(x)['probabilities'].numpy()\n"
        "h = sm.head(sm.embed(x)['embedding'])['probabilities'].numpy()\n"
        "assert p.shape == (2, len(m['class_names'])), p.shape\n"
        "assert np.abs(p - h).max() < 1e-5\n"
        "print(json.dumps({'ok': True, 'layers': sorted(sm.layers(x))}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(version)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["ok"] and "embedding" in out["layers"]


@pytest.mark.parametrize("name", ["digits", "fashion", "xor", "sklearn-digits", "digits-cnn"])
def test_trained_models_head_of_embedding_equals_predict(
    model_repository: ModelRepository, name: str
) -> None:
    for version in list_versions(model_repository.models_dir, name):
        path = model_repository.models_dir / name / str(version)
        manifest = Manifest.read(path)
        loaded = tf.saved_model.load(str(path / SAVED_MODEL_DIR))
        x = _random_inputs(manifest, n=32)
        predicted = loaded.predict(x)["probabilities"].numpy()
        from_head = loaded.head(loaded.embed(x)["embedding"])["probabilities"].numpy()
        np.testing.assert_allclose(from_head, predicted, atol=1e-5)
