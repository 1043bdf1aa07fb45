"""The result of an interpolation sweep: one prediction per alpha and where the class flips."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clients.results._convert import Record
from clients.results.prediction import Verdict


@dataclass(frozen=True)
class InterpolationPoint(Record):
    alpha: float
    class_id: int
    label: str
    probability: float
    probabilities: np.ndarray
    ood: Verdict | None = None
    """The mixed input's out-of-distribution verdict, when asked for (``ood=True``)."""


@dataclass(frozen=True)
class Flip(Record):
    """The predicted class changes between two neighbouring alphas."""

    alpha_before: float
    alpha_after: float
    from_class_id: int
    to_class_id: int
    from_label: str
    to_label: str

    @property
    def alpha(self) -> float:
        """Midway between the two alphas: where a plot marks the flip."""
        return (self.alpha_before + self.alpha_after) / 2


@dataclass(frozen=True)
class Interpolation:
    """``x(alpha) = alpha * a + (1 - alpha) * b``: alpha 1 is ``a``, alpha 0 is ``b``."""

    model: str
    version: int
    space: str
    points: list[InterpolationPoint]
    flips: list[Flip]
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Interpolation:
        summary = raw.get("summary") or {}
        return cls(
            model=str(raw.get("model", "")),
            version=int(raw.get("version", 0)),
            space=str(raw.get("space", "")),
            points=[InterpolationPoint.from_json(p) for p in raw.get("points", [])],
            flips=[Flip.from_json(f) for f in summary.get("flips", [])],
            raw=raw,
        )

    def __len__(self) -> int:
        return len(self.points)

    @property
    def alphas(self) -> np.ndarray:
        return np.asarray([p.alpha for p in self.points], dtype=np.float64)

    @property
    def class_ids(self) -> np.ndarray:
        return np.asarray([p.class_id for p in self.points], dtype=np.int64)

    @property
    def probability(self) -> np.ndarray:
        """The predicted class's probability at each alpha."""
        return np.asarray([p.probability for p in self.points], dtype=np.float32)

    @property
    def probabilities(self) -> np.ndarray:
        """(num alphas, C)."""
        return np.stack([p.probabilities for p in self.points])

    def to_json(self) -> dict[str, Any]:
        return self.raw
