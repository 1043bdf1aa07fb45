"""The answers of the metrics routes, typed. A stored evaluation's ``data`` keeps the shape
its kind gives it (docs/architecture.md, "Evaluation kinds"), so it stays a mapping."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import numpy as np

from service.dataplane.answers import VersionAnswer


@dataclass
class StoredEvaluations(VersionAnswer):
    evaluations: list[dict[str, Any]]


class CellPage(TypedDict):
    """A page of one confusion-matrix cell; ``instances`` only with ``instances=true``."""

    model: str
    version: int
    dataset: str
    true: int
    predicted: int
    total: int
    start: int
    indices: list[int]
    labels: list[int]
    probability: list[float]
    instances: NotRequired[list[np.ndarray]]
