"""The answer of ``:interpolate``, typed (the SDK's ``clients.results.interpolation`` is
checked against it by a test)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import numpy as np

from service.dataplane.answers import VersionAnswer


class SweepPoint(TypedDict):
    """One alpha (a ``TypedDict``: ``ood`` is there only when the request asks for it)."""

    alpha: float
    class_id: int
    label: str
    probability: float
    probabilities: np.ndarray
    ood: NotRequired[dict[str, Any]]
    """With ``ood=true``: the mixed input's out-of-distribution verdict."""


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


@dataclass
class Sweep(VersionAnswer):
    space: str
    points: list[SweepPoint]
    summary: SweepSummary
