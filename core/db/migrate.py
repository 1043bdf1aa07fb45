"""Schema migrations, run from code: no alembic.ini, so they work from an installed
package and inside Docker images alike.

``upgrade`` is idempotent and safe to call from several processes at once (service
workers, the trainer): they take a database-wide lock first (PostgreSQL advisory lock,
SQLite write lock), so one migrates and the others then find the schema at head. On
SQLite a waiter gives up after the busy timeout ("database is locked"), which a slow disk
can outlast; ``upgrade`` then tries again until ``LOCK_WAIT_S`` have passed.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from core.db.engine import begin_write, make_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: Arbitrary 64-bit key for pg_advisory_xact_lock: "layerlens migrations".
_PG_MIGRATION_LOCK = 0x6C6C_6D69_6772_0001
#: How long ``upgrade`` keeps trying while another process holds the SQLite write lock.
LOCK_WAIT_S = 120.0
_RETRY_PAUSE_S = 0.2

logger = logging.getLogger(__name__)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at the packaged migrations, bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def upgrade(database: str | Engine, revision: str = "head") -> str | None:
    """Bring the schema to ``revision`` (default: the newest); return the revision now current."""
    engine = make_engine(database) if isinstance(database, str) else database
    deadline = time.monotonic() + LOCK_WAIT_S
    try:
        while True:
            try:
                return _upgrade_once(engine, revision)
            except OperationalError as error:
                if not _is_locked(error) or time.monotonic() >= deadline:
                    raise
                logger.info("database locked by another migration; trying again")
                time.sleep(_RETRY_PAUSE_S)
    finally:
        if isinstance(database, str):
            engine.dispose()


def _upgrade_once(engine: Engine, revision: str) -> str | None:
    with begin_write(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        command.upgrade(alembic_config(connection), revision)
        return MigrationContext.configure(connection).get_current_revision()


def _is_locked(error: OperationalError) -> bool:
    return "database is locked" in str(error.orig)


def current(database: str | Engine) -> str | None:
    """The revision the database is at, or None for an empty (unmigrated) database."""
    engine = make_engine(database) if isinstance(database, str) else database
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if isinstance(database, str):
            engine.dispose()
