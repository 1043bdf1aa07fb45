"""The answer of ``:interpolate``, typed (the SDK's ``clients.results.interpolation`` is
checked against it by a test)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class SweepPoint:
    alpha: float
    class_id: int
    label: str
    probability: float
    probabilities: np.ndarray


@dataclass(frozen=True, slots=True)
class SweepEnd:
    alpha: float
    class_id: int
    label: str


@dataclass(frozen=True, slots=True)
class Flip:
    """Where the predicted class changes between two neighbouring alphas."""

    alpha_before: float
    alpha_after: float
    from_class_id: int
    to_class_id: int
    from_label: str
    to_label: str


@dataclass(frozen=True, slots=True)
class SweepSummary:
    start: SweepEnd
    stop: SweepEnd
    flips: list[Flip]


@dataclass(frozen=True, slots=True)
class Sweep:
    model: str
    version: int
    space: str
    points: list[SweepPoint]
    summary: SweepSummary
