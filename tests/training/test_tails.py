"""Layer tails: exported with each version, added in place to versions exported before."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from pydantic import ValidationError

from core.db import make_engine
from core.manifest import PROBABILITIES_LAYER, SAVED_MODEL_DIR, TAILS_DIR, Manifest, tree_sha256
from tests.fixtures.models import ModelRepository
from tests.service.helpers import copy_versions
from training import networks, pipeline, tails
from training.recipes import get_spec


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize("model", ["digits-cnn", "sklearn-digits"])
def test_each_tail_after_the_layers_endpoint_is_predict(
    model_repository: ModelRepository, model: str
) -> None:
    version_dir = model_repository.models_dir / model / "1"
    manifest = Manifest.read(version_dir)
    record = manifest.tails
    assert record is not None
    assert record.sha256 == tree_sha256(version_dir / TAILS_DIR)
    probed = [la.name for la in manifest.layers if la.name != PROBABILITIES_LAYER]
    assert list(record.layers) == probed
    source = tf.saved_model.load(str(version_dir / SAVED_MODEL_DIR))
    loaded = tf.saved_model.load(str(version_dir / TAILS_DIR))
    low, high = manifest.input.value_range
    x = tf.constant(np.random.default_rng(7).uniform(low, high, (5, *manifest.input.shape)),
                    tf.float32)  # fmt: skip
    activations, expected = source.layers(x), source.predict(x)
    for layer in record.layers:
        got = getattr(loaded, layer)(activations[layer])
        for output in ("probabilities", "logits"):
            np.testing.assert_allclose(got[output], expected[output], rtol=1e-5, atol=1e-5)


def test_a_run_over_an_older_version_adds_tails_with_the_weights_untouched(
    model_repository: ModelRepository, tmp_path: Path
) -> None:
    models_dir = copy_versions(
        model_repository.models_dir, tmp_path / "models", {"digits-cnn": [1]}
    )
    version_dir = models_dir / "digits-cnn" / "1"
    shutil.rmtree(version_dir / TAILS_DIR)
    Manifest.read(version_dir).model_copy(update={"tails": None}).write(version_dir)
    weights = _tree_digest(version_dir / SAVED_MODEL_DIR)
    database = tmp_path / "metrics.db"
    shutil.copy(model_repository.database_url.removeprefix("sqlite:///"), database)
    engine = make_engine(f"sqlite:///{database}")

    def run() -> pipeline.Outcome:
        return pipeline.run_model(
            get_spec("digits-cnn"),
            models_dir=models_dir,
            engine=engine,
            cache=pipeline.DataCache(model_repository.data_dir, seed=0),
            profile=pipeline.PROFILES["quick"],
            seed=0,
        )

    try:
        assert run().status == "skipped"
        manifest = Manifest.read(version_dir)
        assert manifest.tails is not None and "conv1" in manifest.tails.layers
        assert manifest.tails.sha256 == tree_sha256(version_dir / TAILS_DIR)
        assert _tree_digest(version_dir / SAVED_MODEL_DIR) == weights
        assert not [p for p in version_dir.iterdir() if p.name.startswith(".")]
        everything = _tree_digest(version_dir)
        assert run().status == "skipped"
        assert _tree_digest(version_dir) == everything
    finally:
        engine.dispose()


def test_a_recipe_that_no_longer_matches_changes_nothing(
    model_repository: ModelRepository, tmp_path: Path
) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"xor": [1]})
    version_dir = models_dir / "xor" / "1"
    shutil.rmtree(version_dir / TAILS_DIR)
    Manifest.read(version_dir).model_copy(update={"tails": None}).write(version_dir)
    before = _tree_digest(version_dir)
    # Same architecture id, other widths: the variables' shapes no longer match.
    changed = dataclasses.replace(get_spec("xor"), build=partial(networks.vector_mlp, hidden=5))
    assert tails.add_tails(version_dir, changed) is None
    assert _tree_digest(version_dir) == before


def test_a_manifest_refuses_tails_of_layers_it_does_not_list(
    model_repository: ModelRepository,
) -> None:
    manifest = Manifest.read(model_repository.models_dir / "xor" / "1")
    assert manifest.tails is not None
    raw = json.loads(manifest.to_json())
    raw["tails"]["layers"] = ["embedding", "nosuch"]
    with pytest.raises(ValidationError, match="tails"):
        Manifest.model_validate(raw)
