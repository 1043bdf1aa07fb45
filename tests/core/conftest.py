"""Fixtures of the core tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from core.db import make_engine, save_model_version, upgrade
from tests.core.helpers import make_manifest


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database (SQLite or PostgreSQL, as ``database_url`` is parametrised) that
    holds one model version, ``make_manifest()``'s."""
    engine = make_engine(database_url)
    upgrade(engine)
    save_model_version(engine, make_manifest())
    yield engine
    engine.dispose()
