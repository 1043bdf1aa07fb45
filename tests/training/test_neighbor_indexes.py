"""Nearest-neighbour indexes: made at export, added in place to versions exported before."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np

from core import datasets
from core.db import make_engine
from core.manifest import NEIGHBORS_DIR, SAVED_MODEL_DIR, Manifest, neighbor_index_paths
from tests.fixtures.models import ModelRepository
from tests.service.helpers import copy_versions
from training import pipeline
from training.recipes import get_spec


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_exported_versions_carry_both_indexes(model_repository: ModelRepository) -> None:
    version_dir = model_repository.models_dir / "xor" / "1"
    manifest = Manifest.read(version_dir)
    assert {r.dataset for r in manifest.neighbor_indexes} == {"xor-train", "xor-test"}
    record = manifest.neighbor_index("xor-test")
    assert record is not None
    vectors_path, labels_path = neighbor_index_paths(version_dir, "xor-test")
    assert hashlib.sha256(vectors_path.read_bytes()).hexdigest() == record.sha256
    labels = np.load(labels_path)
    split = datasets.load_split("xor", "test", model_repository.data_dir)
    np.testing.assert_array_equal(labels, split.y)
    assert np.load(vectors_path).shape == (len(split.y), record.width)


def test_a_run_over_an_older_repository_adds_indexes_without_retraining(
    model_repository: ModelRepository, tmp_path: Path
) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"xor": [1]})
    version_dir = models_dir / "xor" / "1"
    shutil.rmtree(version_dir / NEIGHBORS_DIR)
    old = Manifest.read(version_dir).model_copy(update={"neighbor_indexes": ()})
    old.write(version_dir)
    weights = _tree_digest(version_dir / SAVED_MODEL_DIR)
    database = tmp_path / "metrics.db"
    shutil.copy(model_repository.database_url.removeprefix("sqlite:///"), database)
    engine = make_engine(f"sqlite:///{database}")
    try:
        outcome = pipeline.run_model(
            get_spec("xor"),
            models_dir=models_dir,
            engine=engine,
            cache=pipeline.DataCache(model_repository.data_dir, seed=0),
            profile=pipeline.PROFILES["quick"],
            seed=0,
        )
    finally:
        engine.dispose()
    assert outcome.status == "skipped" and outcome.version == 1
    updated = Manifest.read(version_dir)
    assert {r.dataset for r in updated.neighbor_indexes} == {"xor-train", "xor-test"}
    assert _tree_digest(version_dir / SAVED_MODEL_DIR) == weights
    assert updated.model_copy(update={"neighbor_indexes": ()}) == old
