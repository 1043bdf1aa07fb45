"""What the tests of a rerun over existing versions share: a private copy of the tiny
repository's metrics database, and the run itself (``make run`` over versions that already
exist skips training and adds only what a version lacks); and a version calibrated in a
pooled kNN space, for the trainer's and the service's tests of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from core import datasets
from core.manifest import Manifest
from tests.fixtures.models import ModelRepository
from tests.service.helpers import copy_versions
from training import ood, pipeline
from training.recipes import ModelSpec, get_spec

#: The quick profile's cap on evaluation sets (and on the pooled train vectors).
EVALUATED_QUICK = pipeline.PROFILES["quick"].max_eval_examples or 0


def copy_database(repository: ModelRepository, folder: Path) -> Path:
    """A copy of the session's metrics database in ``folder``, for a test to change."""
    database = folder / "metrics.db"
    shutil.copy(repository.database_url.removeprefix("sqlite:///"), database)
    return database


def rerun(spec: ModelSpec, models_dir: Path, engine: Engine, data_dir: Path) -> pipeline.Outcome:
    """One pipeline run of ``spec`` under the quick profile with seed 0."""
    return pipeline.run_model(
        spec,
        models_dir=models_dir,
        engine=engine,
        cache=pipeline.DataCache(data_dir, seed=0),
        profile=pipeline.PROFILES["quick"],
        seed=0,
    )


def pooled_calibration(
    model_repository: ModelRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Manifest, datasets.Dataset]:
    """digits-cnn's version 1 calibrated again with the pooled space chosen whatever it
    measures (the rule's choice is tested apart: here, what follows from it)."""
    models_dir = copy_versions(
        model_repository.models_dir, tmp_path / "models", {"digits-cnn": [1]}
    )
    version_dir = models_dir / "digits-cnn" / "1"
    monkeypatch.setattr(ood, "choose_knn_layer", lambda aurocs, embedding: "pool2 (mean)")
    data = datasets.load_dataset("mnist", model_repository.data_dir)
    manifest = ood.calibrate(
        version_dir,
        Manifest.read(version_dir),
        data.validation.x[:EVALUATED_QUICK],
        augment=get_spec("digits-cnn").fit.augment,
        train_x=data.train.x[:EVALUATED_QUICK],
    )
    manifest = ood.add_space_vectors(version_dir, manifest, {"mnist-test": data.test.x})
    manifest.write(version_dir)
    return version_dir, manifest, data
