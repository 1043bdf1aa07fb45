"""Layer tails: exported with each version, added in place to versions exported before."""

from __future__ import annotations

import dataclasses
import json
import shutil
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from pydantic import ValidationError
from sqlalchemy import Engine

from core.manifest import PROBABILITIES_LAYER, SAVED_MODEL_DIR, TAILS_DIR, Manifest, tree_sha256
from tests.fixtures.models import ModelRepository
from tests.service.helpers import copy_versions
from tests.training.helpers import rerun
from training import networks, pipeline, tails
from training.recipes import get_spec


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
    model_repository: ModelRepository, tmp_path: Path, engine: Engine
) -> None:
    models_dir = copy_versions(
        model_repository.models_dir, tmp_path / "models", {"digits-cnn": [1]}
    )
    version_dir = models_dir / "digits-cnn" / "1"
    shutil.rmtree(version_dir / TAILS_DIR)
    Manifest.read(version_dir).model_copy(update={"tails": None}).write(version_dir)
    weights = tree_sha256(version_dir / SAVED_MODEL_DIR)
    data_dir = model_repository.data_dir

    def run() -> pipeline.Outcome:
        return rerun(get_spec("digits-cnn"), models_dir, engine, data_dir)

    assert run().status == "skipped"
    manifest = Manifest.read(version_dir)
    assert manifest.tails is not None and "conv1" in manifest.tails.layers
    assert manifest.tails.sha256 == tree_sha256(version_dir / TAILS_DIR)
    assert tree_sha256(version_dir / SAVED_MODEL_DIR) == weights
    assert not [p for p in version_dir.iterdir() if p.name.startswith(".")]
    everything = tree_sha256(version_dir)
    assert run().status == "skipped"
    assert tree_sha256(version_dir) == everything


def test_a_recipe_that_no_longer_matches_changes_nothing(
    model_repository: ModelRepository, tmp_path: Path
) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"xor": [1]})
    version_dir = models_dir / "xor" / "1"
    shutil.rmtree(version_dir / TAILS_DIR)
    Manifest.read(version_dir).model_copy(update={"tails": None}).write(version_dir)
    before = tree_sha256(version_dir)
    # Same architecture id, other widths: the variables' shapes no longer match.
    changed = dataclasses.replace(get_spec("xor"), build=partial(networks.vector_mlp, hidden=5))
    assert tails.add_tails(version_dir, changed) is None
    assert tree_sha256(version_dir) == before


def test_a_manifest_refuses_tails_of_layers_it_does_not_list(
    model_repository: ModelRepository,
) -> None:
    manifest = Manifest.read(model_repository.models_dir / "xor" / "1")
    assert manifest.tails is not None
    raw = json.loads(manifest.to_json())
    raw["tails"]["layers"] = ["embedding", "nosuch"]
    with pytest.raises(ValidationError, match="tails"):
        Manifest.model_validate(raw)
