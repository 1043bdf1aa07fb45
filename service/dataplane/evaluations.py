"""Stored evaluations from the metrics database (read-only: migrations are a prestart step)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.db import KIND_TEST, get_evaluations
from service.errors import MetricsUnavailable

logger = logging.getLogger(__name__)


def read_evaluations(
    engine: Engine, model: str, version: int, kind: str | None
) -> list[dict[str, Any]]:
    """Blocking: run in the thread pool."""
    try:
        records = get_evaluations(engine, model, version, kind)
    except SQLAlchemyError:
        logger.exception("reading evaluations of %s v%d failed", model, version)
        raise MetricsUnavailable(
            "the metrics database is not available or not initialised (run the migrations)"
        ) from None
    return [
        {
            "kind": r.kind,
            "dataset": r.dataset,
            "created_at": r.created_at.isoformat(),
            "data": with_normalised_confusion(r.data) if r.kind == KIND_TEST else r.data,
        }
        for r in records
    ]


def with_normalised_confusion(data: dict[str, Any]) -> dict[str, Any]:
    """Add the confusion matrix normalised by class counts (rows sum to 1), as the reports do."""
    matrix = data.get("confusion_matrix")
    if not isinstance(matrix, list) or "confusion_matrix_normalised" in data:
        return data
    counts = np.asarray(matrix, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    return {**data, "confusion_matrix_normalised": normalised.round(6).tolist()}
