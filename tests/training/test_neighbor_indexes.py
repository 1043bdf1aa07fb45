"""Nearest-neighbour indexes: made at export, added in place to versions exported before."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from core import datasets
from core.db import make_engine, store
from core.manifest import (
    NEIGHBORS_DIR,
    SAVED_MODEL_DIR,
    Manifest,
    neighbor_index_paths,
    tree_sha256,
)
from tests.fixtures.models import ModelRepository
from tests.service.helpers import copy_versions
from tests.training.helpers import rerun
from training import agreement
from training.recipes import get_spec


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
    model_repository: ModelRepository, tmp_path: Path, engine: Engine
) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"xor": [1]})
    version_dir = models_dir / "xor" / "1"
    shutil.rmtree(version_dir / NEIGHBORS_DIR)
    old = Manifest.read(version_dir).model_copy(update={"neighbor_indexes": ()})
    old.write(version_dir)
    weights = tree_sha256(version_dir / SAVED_MODEL_DIR)
    outcome = rerun(
        get_spec("xor"),
        models_dir=models_dir,
        engine=engine,
        data_dir=model_repository.data_dir,
    )
    assert outcome.status == "skipped" and outcome.version == 1
    updated = Manifest.read(version_dir)
    assert {r.dataset for r in updated.neighbor_indexes} == {"xor-train", "xor-test"}
    assert tree_sha256(version_dir / SAVED_MODEL_DIR) == weights
    assert updated.model_copy(update={"neighbor_indexes": ()}) == old


def test_agreement_report_buckets_by_agreeing_neighbours() -> None:
    predicted = np.array([0, 0, 1, 1])
    confidence = np.array([0.999, 0.5, 0.995, 0.6])
    neighbours = np.array([[0] * 8, [0] * 3 + [1] * 5, [1] * 8, [0] * 8])  # agreeing: 8, 3, 8, 0
    y = np.array([0, 1, 1, 0])
    report = agreement.agreement_report(predicted, confidence, neighbours, y)
    counts = {b["agreeing"]: b["count"] for b in report["buckets"]}
    assert counts[8] == 2 and counts[3] == 1 and counts[0] == 1 and sum(counts.values()) == 4
    assert report["majority_agrees"] == 0.5
    assert report["accuracy_when_majority_agrees"] == 1.0
    assert report["accuracy_when_majority_disagrees"] == 0.0
    assert report["confident_share"] == 0.5 and report["majority_agrees_when_confident"] == 1.0
    cross = agreement.agreement_report(predicted, confidence, neighbours, None)
    assert "accuracy" not in cross and all("accuracy" not in b for b in cross["buckets"])


def test_the_run_stores_agreement_for_image_models(model_repository: ModelRepository) -> None:
    engine = make_engine(model_repository.database_url)
    try:
        rows = {r.dataset: r.data for r in store.get_evaluations(engine, "digits", 1, "agreement")}
        xor_rows = store.get_evaluations(engine, "xor", 1, "agreement")
    finally:
        engine.dispose()
    assert set(rows) == {"mnist-test", "fashion-mnist-test"} and not xor_rows
    own = rows["mnist-test"]
    assert sum(b["count"] for b in own["buckets"]) == own["num_examples"] > 0
    assert own["accuracy_when_majority_agrees"] > own["accuracy_when_majority_disagrees"]
    assert rows["fashion-mnist-test"]["majority_agrees"] < own["majority_agrees"]
