"""Stored evaluations and per-example test predictions from the metrics database
(read-only: migrations are a prestart step).

The database is optional for serving: inference never touches it, and when it is down or
hung only the metrics routes fail, with 503 ``metrics_unavailable``. ``EvaluationReader``
keeps that failure cheap. The engine bounds each wait (``core.db.engine``: a refused
connection fails at once, a silent server after the 2 s connect timeout); at most
``DATABASE_SLOTS`` reads wait on the database at once, since the thread pool they run in
also runs the models (measured: eight reads of a hung database held every model thread and
a 1 ms prediction took 3.5 s); and after a failed read, reads fail at once for
``FAIL_FAST_S`` (a circuit breaker) before one tries again, so the routes recover by
themselves within a second of the database's return. Every metrics route reads through the
one reader, so they share the slots and the breaker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.db import KIND_ROBUSTNESS, KIND_TEST, PredictionCell, get_cell, get_evaluations
from service.errors import MetricsUnavailable

logger = logging.getLogger(__name__)

#: Reads that may wait on the database at once; the thread pool's other threads run models.
DATABASE_SLOTS = 2
#: Kinds whose data carry a confusion matrix, shown also normalised by class counts.
_CONFUSION_KINDS = (KIND_TEST, KIND_ROBUSTNESS)
#: After a failed read, how long reads answer 503 at once instead of trying again.
FAIL_FAST_S = 1.0

InThread = Callable[..., Awaitable[Any]]


class EvaluationReader:
    """``read_evaluations`` with bounded concurrency and a circuit breaker (module docstring)."""

    def __init__(
        self,
        engine: Engine,
        *,
        slots: int = DATABASE_SLOTS,
        fail_fast_s: float = FAIL_FAST_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._slots = asyncio.Semaphore(slots)
        self._fail_fast_s = fail_fast_s
        self._clock = clock
        self._failed_at: float | None = None

    def _refuse_after_recent_failure(self) -> None:
        if self._failed_at is None:
            return
        ago = self._clock() - self._failed_at
        if ago < self._fail_fast_s:
            raise MetricsUnavailable(
                f"the metrics database is not available (a read failed {ago:.1f} s ago; "
                f"the next attempt is at most {self._fail_fast_s:g} s after it)"
            )

    async def call(self, in_thread: InThread, read: Callable[..., Any], *args: Any) -> Any:
        """``read(engine, *args)``, run off the event loop by ``in_thread``
        (``DataPlane.in_thread``), within the slots and the breaker."""
        self._refuse_after_recent_failure()
        async with self._slots:
            self._refuse_after_recent_failure()  # it may have failed while this one waited
            try:
                result = await in_thread(read, self._engine, *args)
            except MetricsUnavailable:
                self._failed_at = self._clock()
                # Pooled connections may be the broken part (a SQLite file moved away and
                # back kept them failing for over 30 s): the next read opens fresh ones.
                self._engine.dispose()
                raise
        self._failed_at = None
        return result

    async def read(
        self, in_thread: InThread, model: str, version: int, kind: str | None
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await self.call(
            in_thread, read_evaluations, model, version, kind
        )
        return rows


@contextmanager
def _unavailable_on_database_error(what: str) -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError:
        logger.exception("reading %s failed", what)
        raise MetricsUnavailable(
            "the metrics database is not available or not initialised (run the migrations)"
        ) from None


def read_evaluations(
    engine: Engine, model: str, version: int, kind: str | None
) -> list[dict[str, Any]]:
    """Blocking: run in the thread pool."""
    with _unavailable_on_database_error(f"evaluations of {model} v{version}"):
        records = get_evaluations(engine, model, version, kind)
    return [
        {
            "kind": r.kind,
            "dataset": r.dataset,
            "created_at": r.created_at.isoformat(),
            "data": with_normalised_confusion(r.data) if r.kind in _CONFUSION_KINDS else r.data,
        }
        for r in records
    ]


def read_cell(
    engine: Engine,
    model: str,
    version: int,
    true_class: int,
    predicted_class: int,
    start: int,
    num: int,
) -> PredictionCell | None:
    """A page of one confusion cell (``core.db.get_cell``); blocking: run in the thread pool."""
    with _unavailable_on_database_error(f"test predictions of {model} v{version}"):
        return get_cell(engine, model, version, true_class=true_class,
                        predicted_class=predicted_class, start=start, num=num)  # fmt: skip


def with_normalised_confusion(data: dict[str, Any]) -> dict[str, Any]:
    """Add the confusion matrix normalised by class counts (rows sum to 1), as the reports do."""
    matrix = data.get("confusion_matrix")
    if not isinstance(matrix, list) or "confusion_matrix_normalised" in data:
        return data
    counts = np.asarray(matrix, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    return {**data, "confusion_matrix_normalised": normalised.round(6).tolist()}
