"""What the tests of a rerun over existing versions share: a private copy of the tiny
repository's metrics database, and the run itself (``make run`` over versions that already
exist skips training and adds only what a version lacks)."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine

from tests.fixtures.models import ModelRepository
from training import pipeline
from training.recipes import ModelSpec


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
