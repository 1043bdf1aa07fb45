"""What the store takes and returns: plain, immutable values with no session attached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

KIND_TEST = "test"
KIND_TRAIN = "train"
KIND_VALIDATION = "validation"
KIND_HISTORY = "history"
KIND_CROSS_DATASET = "cross-dataset"
KIND_SWEEP = "sweep"
KIND_AGREEMENT = "agreement"
KIND_OOD = "ood"
#: "Separate clusters" per map of the test split (``training.maps``).
KIND_MAP = "map"
KIND_ROBUSTNESS = "robustness"
#: Every evaluation kind; docs/architecture.md says what each one's ``data`` holds.
EVALUATION_KINDS = (
    KIND_TEST,
    KIND_TRAIN,
    KIND_VALIDATION,
    KIND_HISTORY,
    KIND_CROSS_DATASET,
    KIND_SWEEP,
    KIND_AGREEMENT,
    KIND_OOD,
    KIND_MAP,
    KIND_ROBUSTNESS,
)


class UnknownEvaluationKind(ValueError):
    """A kind that is not in EVALUATION_KINDS. core carries no HTTP status: the service maps
    this to its 400 ``invalid_input``; the message names the kind and the accepted ones and
    is safe to show a caller."""


def check_kind(kind: str) -> str:
    """``kind`` if it is an evaluation kind, else UnknownEvaluationKind: the one check that
    the store's reads and writes and the service's metrics route share."""
    if kind not in EVALUATION_KINDS:
        raise UnknownEvaluationKind(
            f"unknown evaluation kind {kind!r}; expected one of: {', '.join(EVALUATION_KINDS)}"
        )
    return kind


class EvaluationItem(NamedTuple):
    """One evaluation to write; a plain ``(kind, dataset, data)`` tuple works too."""

    kind: str
    dataset: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EvaluationRecord:
    model: str
    version: int
    kind: str
    dataset: str
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ModelVersionRecord:
    model: str
    version: int
    task: str
    architecture: str
    created_at: datetime
    manifest: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PredictionCell:
    """One page of a confusion-matrix cell: the test examples of class ``true_class`` that
    the version predicted as ``predicted_class``, in example order from ``start``."""

    dataset: str
    true_class: int
    predicted_class: int
    total: int
    start: int
    examples: tuple[int, ...]
    probabilities: tuple[float, ...]
