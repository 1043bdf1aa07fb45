"""Fixtures of the training tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from core.db import make_engine
from tests.fixtures.models import ModelRepository
from tests.training.helpers import copy_database


@pytest.fixture
def engine(model_repository: ModelRepository, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a private copy of the tiny repository's metrics database (a rerun over
    existing versions writes to it), disposed of after the test."""
    engine = make_engine(f"sqlite:///{copy_database(model_repository, tmp_path)}")
    yield engine
    engine.dispose()
