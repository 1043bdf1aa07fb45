"""core.db: engine set-up, migrations and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, insert, inspect, select

import core.db
import core.db.engine as engine_module
from core.db import current, head_revision, make_engine, normalise_url, upgrade
from core.db.__main__ import main as cli_main
from core.db.engine import SQLITE_BUSY_TIMEOUT_MS, begin_write
from core.db.migrate import alembic_config
from core.db.schema import Base, ModelVersion
from tests.core.helpers import run_python_at_once


def test_public_names_are_exactly_all() -> None:
    public = {name for name in vars(core.db) if not name.startswith("_")}
    modules = {
        "engine", "jsonable", "migrate", "predictions", "records", "schema", "store", "migrations",
    }  # fmt: skip
    assert public - modules == set(core.db.__all__)


def test_upgrade_from_empty_creates_the_schema(database_url: str) -> None:
    assert current(database_url) is None
    assert upgrade(database_url) == head_revision()
    engine = make_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables == {"alembic_version", "model_versions", "evaluations", "example_predictions"}
    assert current(database_url) == head_revision()


def test_upgrade_twice_is_a_no_op_and_keeps_rows(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        row = {
            "model": "digits",
            "version": 1,
            "task": "digits",
            "architecture": "mlp-128",
            "created_at": datetime(2026, 1, 1, tzinfo=UTC),
            "manifest": {"name": "digits"},
        }
        with begin_write(engine) as connection:
            connection.execute(insert(ModelVersion).values(row))
        assert upgrade(engine) == head_revision()
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(ModelVersion)) == 1
    finally:
        engine.dispose()


def test_migrations_produce_exactly_the_orm_metadata(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_downgrade_to_base_and_back(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with begin_write(engine) as connection:
            command.downgrade(alembic_config(connection), "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        assert upgrade(engine) == head_revision()
    finally:
        engine.dispose()


def test_concurrent_upgrades_from_several_processes(database_url: str) -> None:
    """Service workers and the trainer may all migrate at start: one wins, none fails."""
    upgrade_args = ["-m", "core.db", "upgrade", "--url", database_url]
    for out in run_python_at_once(upgrade_args, upgrade_args):
        assert f"at revision {head_revision()}" in out
    assert current(database_url) == head_revision()


def test_sqlite_engine_uses_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "metrics.db"  # parents are created
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
            assert timeout == SQLITE_BUSY_TIMEOUT_MS
    finally:
        engine.dispose()
    assert path.is_file()


def test_in_memory_sqlite_is_one_shared_database() -> None:
    engine = make_engine("sqlite://")
    try:
        upgrade(engine)
        assert current(engine) == head_revision()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/metrics", "postgresql+psycopg://u:p@db:5432/metrics"),
        ("postgres://u@db/metrics", "postgresql+psycopg://u@db/metrics"),
        ("postgresql+psycopg://u@db/m", "postgresql+psycopg://u@db/m"),
        ("sqlite:///var/layerlens.db", "sqlite:///var/layerlens.db"),
    ],
)
def test_normalise_url(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_plain_postgresql_url_uses_psycopg3() -> None:
    engine = make_engine("postgresql://user@127.0.0.1:1/none")  # never connects
    assert engine.dialect.driver == "psycopg"


def test_unsupported_scheme_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unsupported database URL scheme 'mysql'"):
        make_engine("mysql://user@host/db")


def test_cli_current_then_upgrade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert cli_main(["current", "--url", url]) == 0
    assert "none" in capsys.readouterr().out
    assert cli_main(["upgrade", "--url", url]) == 0
    assert f"at revision {head_revision()}" in capsys.readouterr().out
    assert cli_main(["current", "--url", url]) == 0
    assert capsys.readouterr().out.strip() == head_revision()


def test_cli_reports_an_unreachable_database(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["current", "--url", "postgresql://nobody:secret@127.0.0.1:1/none"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "secret" not in err  # the password is never printed


def test_upgrade_waits_out_a_write_lock_longer_than_the_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow disk can keep another migrator's lock past SQLite's busy timeout."""
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 100)
    url = f"sqlite:///{tmp_path / 'metrics.db'}"
    holder = make_engine(url)
    result: dict[str, object] = {}
    try:
        with begin_write(holder):  # the write lock, held for 10 busy timeouts
            worker = threading.Thread(target=lambda: result.update(rev=upgrade(url)))
            worker.start()
            time.sleep(1.0)
            assert worker.is_alive(), result
        worker.join(timeout=30)
    finally:
        holder.dispose()
    assert result["rev"] == head_revision()
