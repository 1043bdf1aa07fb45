"""The result of ``:explain``: per input, which parts of it moved the model towards a target
class, as a signed array in the input's shape (or the layer's width)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clients.results._convert import Record
from clients.results._per_input import PerInput


@dataclass(frozen=True)
class ExplanationPath(Record):
    """``f`` at each point of the straight path from the baseline (alpha 0) to the input
    (alpha 1): the curve integrated gradients integrates the slope of."""

    alphas: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class Explanation(Record):
    """One input. ``f`` is the target's probability (or its logit, ``output="logit"``);
    ``value`` is ``f(input)``. Integrated gradients also give ``baseline_value``,
    ``completeness_gap`` (``|sum(attributions) - (value - baseline_value)|``: how far to trust
    the map) and ``path``; occlusion gives ``baseline_value``."""

    target: int
    target_class: str
    predicted: int
    value: float
    attributions: np.ndarray
    baseline_value: float | None = None
    completeness_gap: float | None = None
    path: ExplanationPath | None = None

    @property
    def total(self) -> float:
        """The attributions' sum: ``value - baseline_value`` for exact integrated gradients."""
        return float(self.attributions.sum())

    def top(self, k: int = 5) -> list[tuple[tuple[int, ...], float]]:
        """The ``k`` largest attributions by magnitude, as (index into the input, value)."""
        flat = self.attributions.ravel()
        order = np.argsort(-np.abs(flat), kind="stable")[:k]
        shape = self.attributions.shape
        return [(tuple(int(i) for i in np.unravel_index(j, shape)), float(flat[j])) for j in order]


@dataclass(frozen=True)
class ExplainResult(PerInput[Explanation]):
    """Explanations in the order the inputs were given, and the options they were made with
    (``baseline`` is the named baseline, ``"input"`` for one given, None where the method
    takes none)."""

    ITEMS = "explanations"

    model: str
    version: int
    method: str
    output: str
    layer: str | None
    baseline: str | None
    explanations: list[Explanation]

    @property
    def attributions(self) -> np.ndarray:
        """(N, *input shape), or (N, layer width) with ``layer``."""
        return np.stack([e.attributions for e in self.explanations])

    @property
    def targets(self) -> np.ndarray:
        return np.asarray([e.target for e in self.explanations], dtype=np.int64)
