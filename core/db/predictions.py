"""Per-example test predictions (``example_predictions``): what lists a confusion cell.

A version's predictions on one dataset are written as a whole, replacing any earlier ones
inside the caller's transaction, so a reader sees either the old set or the new one and a
writer that dies leaves the old set. The trainer writes them in the same transaction as
the ``test`` evaluation whose confusion matrix they break down, so each cell's count
equals the matrix's entry.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import Connection, Engine, Table, and_, delete, func, insert, select

from core.db.engine import in_own_transaction
from core.db.records import PredictionCell
from core.db.schema import DATASET_LENGTH, ExamplePrediction, ModelVersion
from core.db.store import ModelVersionNotFound

_PREDICTIONS: Table = ExamplePrediction.__table__  # type: ignore[assignment]
_MODEL_VERSIONS: Table = ModelVersion.__table__  # type: ignore[assignment]
#: Rows per INSERT statement: keeps each statement's parameters well under the drivers' limits.
_CHUNK = 2000


def write_predictions(
    connection: Connection,
    model: str,
    version: int,
    dataset: str,
    true_classes: Sequence[int] | np.ndarray,
    predicted_classes: Sequence[int] | np.ndarray,
    probabilities: Sequence[float] | np.ndarray,
) -> int:
    """Replace the version's predictions on ``dataset``: example ``i`` (the dataset
    reference's index) had class ``true_classes[i]`` and was predicted
    ``predicted_classes[i]`` with probability ``probabilities[i]``. Inside a transaction
    the caller owns; everything is checked before the first row is touched."""
    true, predicted, probability = _validated(dataset, true_classes, predicted_classes,
                                              probabilities)  # fmt: skip
    key = and_(_PREDICTIONS.c.model == model, _PREDICTIONS.c.version == version,
               _PREDICTIONS.c.dataset == dataset)  # fmt: skip
    exists = connection.execute(
        select(_MODEL_VERSIONS.c.id).where(
            _MODEL_VERSIONS.c.model == model, _MODEL_VERSIONS.c.version == version
        )
    ).first()
    if exists is None:
        raise ModelVersionNotFound(
            f"model version {model}/{version} is not in the metrics database; "
            "save_model_version must come first"
        )
    connection.execute(delete(_PREDICTIONS).where(key))
    rows = [
        {"model": model, "version": version, "dataset": dataset, "example": i,
         "true_class": t, "predicted_class": p, "probability": q}
        for i, (t, p, q) in enumerate(zip(true, predicted, probability, strict=True))
    ]  # fmt: skip
    for start in range(0, len(rows), _CHUNK):
        connection.execute(insert(_PREDICTIONS), rows[start : start + _CHUNK])
    return len(rows)


save_predictions = in_own_transaction(write_predictions)
"""``write_predictions`` in a transaction of its own; returns the rows written."""


def _validated(
    dataset: str, true_classes: object, predicted_classes: object, probabilities: object
) -> tuple[list[int], list[int], list[float]]:
    if not isinstance(dataset, str) or not 0 < len(dataset) <= DATASET_LENGTH:
        raise ValueError(
            f"dataset must be a non-empty string of at most {DATASET_LENGTH} characters, "
            f"got {dataset!r}"
        )
    true = np.asarray(true_classes)
    predicted = np.asarray(predicted_classes)
    probability = np.asarray(probabilities, dtype=np.float64)
    if not (true.ndim == predicted.ndim == probability.ndim == 1):
        raise ValueError("true classes, predicted classes and probabilities must be 1-D")
    if not len(true) == len(predicted) == len(probability) > 0:
        raise ValueError(
            f"one true class, predicted class and probability per example, got "
            f"{len(true)}, {len(predicted)} and {len(probability)}"
        )
    for name, classes in (("true", true), ("predicted", predicted)):
        if not np.issubdtype(classes.dtype, np.integer) or classes.min() < 0:
            raise ValueError(f"{name} classes must be integers >= 0")
    if not np.all(np.isfinite(probability)) or probability.min() < 0 or probability.max() > 1:
        raise ValueError("probabilities must be finite and in [0, 1]")
    return true.tolist(), predicted.tolist(), probability.tolist()


def prediction_datasets(engine: Engine, model: str, version: int) -> list[str]:
    """The datasets the version has predictions on, sorted."""
    query = (
        select(_PREDICTIONS.c.dataset)
        .where(_PREDICTIONS.c.model == model, _PREDICTIONS.c.version == version)
        .distinct()
        .order_by(_PREDICTIONS.c.dataset)
    )
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def get_cell(
    engine: Engine,
    model: str,
    version: int,
    *,
    true_class: int,
    predicted_class: int,
    start: int = 0,
    num: int = 48,
    dataset: str | None = None,
) -> PredictionCell | None:
    """A page of one confusion cell (``num`` examples from the ``start``-th), with the
    cell's total; None when the version has no stored predictions (on ``dataset``, or on
    any dataset: then the first by name). Both queries read one range of the cell index."""
    if start < 0 or num < 0:
        raise ValueError(f"start and num must be >= 0, got {start} and {num}")
    with engine.connect() as connection:
        if dataset is None:
            dataset = connection.execute(
                select(func.min(_PREDICTIONS.c.dataset)).where(
                    _PREDICTIONS.c.model == model, _PREDICTIONS.c.version == version
                )
            ).scalar()
            if dataset is None:
                return None
        elif not _has_rows(connection, model, version, dataset):
            return None
        cell = and_(
            _PREDICTIONS.c.model == model,
            _PREDICTIONS.c.version == version,
            _PREDICTIONS.c.dataset == dataset,
            _PREDICTIONS.c.true_class == true_class,
            _PREDICTIONS.c.predicted_class == predicted_class,
        )
        count = select(func.count()).select_from(_PREDICTIONS).where(cell)
        total = int(connection.execute(count).scalar() or 0)
        # past the end: an empty page, without asking (SQLite's OFFSET is a signed 64-bit
        # integer, and start=2**63 overflowed it)
        rows = (
            []
            if start >= total
            else connection.execute(
                select(_PREDICTIONS.c.example, _PREDICTIONS.c.probability)
                .where(cell)
                .order_by(_PREDICTIONS.c.example)
                .offset(start)
                .limit(num)
            ).all()
        )
    return PredictionCell(
        dataset=dataset,
        true_class=true_class,
        predicted_class=predicted_class,
        total=total,
        start=start,
        examples=tuple(int(r.example) for r in rows),
        probabilities=tuple(float(r.probability) for r in rows),
    )


def has_predictions(engine: Engine, model: str, version: int, dataset: str) -> bool:
    """Whether the version's predictions on ``dataset`` are stored (the trainer skips then)."""
    with engine.connect() as connection:
        return _has_rows(connection, model, version, dataset)


def _has_rows(connection: Connection, model: str, version: int, dataset: str) -> bool:
    query = select(_PREDICTIONS.c.example).where(
        _PREDICTIONS.c.model == model,
        _PREDICTIONS.c.version == version,
        _PREDICTIONS.c.dataset == dataset,
    )
    return connection.execute(query.limit(1)).first() is not None
