"""The answer of ``:explain``, typed (the SDK's ``clients.results.explanation`` is checked
against it by a test). An explanation is a ``TypedDict``: which keys it has depends on the
method (a path and its completeness gap for integrated gradients, a baseline's value for the
methods that compare with one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NotRequired, TypedDict

import numpy as np

from service.dataplane.answers import VersionAnswer


class ExplanationPath(TypedDict):
    alphas: np.ndarray
    values: np.ndarray


class Explanation(TypedDict):
    value: float
    attributions: np.ndarray
    baseline_value: NotRequired[float]
    completeness_gap: NotRequired[float]
    path: NotRequired[ExplanationPath]
    target: NotRequired[int]
    target_class: NotRequired[str]
    predicted: NotRequired[int]


@dataclass
class Explanations(VersionAnswer):
    method: str
    output: str
    layer: str | None
    baseline: str | None
    explanations: list[Explanation]
