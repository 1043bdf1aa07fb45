"""Engine creation: one place that knows each backend's settings.

SQLite (the embedded default) gets WAL, a busy timeout and foreign keys. pysqlite's own
transaction handling is switched off so that SQLAlchemy's ``BEGIN`` is real: DDL becomes
transactional and writers can take the write lock up front (``BEGIN IMMEDIATE``), which
avoids "database is locked" failures when a transaction reads before it writes.
PostgreSQL URLs are normalised to the psycopg 3 driver, and every wait on the server is
bounded, so that a database that is down or unreachable costs a metrics read seconds at
most, never the operating system's TCP timeout (minutes): pooled connections are checked
before use (``pool_pre_ping``), a new connection gives up after ``PG_CONNECT_TIMEOUT_S``
(libpq's minimum; a refused connection fails at once), and a request waiting for a pooled
connection gives up after ``POOL_TIMEOUT_S``. No restart is needed once the database is
back: the next checkout connects again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT_MS = 10_000
#: Execution option: on SQLite, begin with the write lock held (no effect elsewhere).
WRITE_LOCK_OPTION = "layerlens_write_lock"

_PSYCOPG_DRIVER = "postgresql+psycopg"
#: Seconds a new PostgreSQL connection may take (libpq rounds anything lower up to 2).
PG_CONNECT_TIMEOUT_S = 2
#: Seconds to wait for a free pooled connection before failing (SQLAlchemy's default: 30).
POOL_TIMEOUT_S = 2.0
_PG_CONNECT_ARGS = {"connect_timeout": PG_CONNECT_TIMEOUT_S}


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3, the driver layerlens ships."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return _PSYCOPG_DRIVER + "://" + url[len(prefix) :]
    return url


def _dump_json(value: Any) -> str:
    # NaN/Infinity are not JSON: refuse them here too, not only in to_jsonable.
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for ``url`` with layerlens' per-backend settings."""
    parsed = make_url(normalise_url(url))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed.render_as_string(hide_password=False), echo=echo)
    if backend == "postgresql":
        return create_engine(
            parsed,
            echo=echo,
            pool_pre_ping=True,
            pool_timeout=POOL_TIMEOUT_S,
            # A connect_timeout in the URL's query wins.
            connect_args={} if "connect_timeout" in parsed.query else _PG_CONNECT_ARGS,
            json_serializer=_dump_json,
        )
    raise ValueError(
        f"unsupported database URL scheme {parsed.drivername!r}: "
        "use sqlite:///path or postgresql://user:pass@host/db"
    )


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    database = make_url(url).database
    in_memory = not database or database == ":memory:" or database.startswith("file::memory")
    kwargs: dict[str, Any] = {"echo": echo, "json_serializer": _dump_json}
    if in_memory:
        # One shared connection, otherwise every connection sees its own empty database.
        kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")  # a no-op for in-memory databases
        cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, far fewer fsyncs
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(WRITE_LOCK_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A transaction meant to write: commits on success, rolls back on any exception.

    On SQLite it starts with the write lock (waiting up to the busy timeout), so two
    writers queue instead of one failing when it upgrades a read lock.
    """
    with engine.connect() as connection:
        connection.execution_options(**{WRITE_LOCK_OPTION: True})
        with connection.begin():
            yield connection


P = ParamSpec("P")
R = TypeVar("R")


def in_own_transaction(
    write: Callable[Concatenate[Connection, P], R],
) -> Callable[Concatenate[Engine, P], R]:
    """``write``, which works inside a transaction its caller owns, as a function of an
    engine that runs it in a ``begin_write`` transaction of its own."""

    def save(engine: Engine, *args: P.args, **kwargs: P.kwargs) -> R:
        with begin_write(engine) as connection:
            return write(connection, *args, **kwargs)

    return save
