"""The answers of ``:predict``, ``:head`` and ``:embed``, typed.

Dataclasses where every key is always there (orjson writes them natively, field by field);
a prediction is a ``TypedDict`` because ``logits`` and ``input`` appear only when asked for.
The SDK's results (``clients.results.prediction``) are checked against these by a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import numpy as np

from service.dataplane.answers import VersionAnswer


class TopK(TypedDict):
    class_id: int
    label: str
    probability: float


class Prediction(TypedDict):
    """One instance: the winning class, its probability, every class's probability."""

    class_id: int
    label: str
    probability: float
    probabilities: np.ndarray
    top_k: list[TopK]
    logits: NotRequired[np.ndarray]
    """With ``output=logits``."""
    input: NotRequired[np.ndarray]
    """With ``include_input=true``: what the model saw after decoding and fitting."""
    ood: NotRequired[dict[str, Any]]
    """With ``ood=true``: the out-of-distribution verdict (``service.features.ood``)."""


@dataclass
class Predictions(VersionAnswer):
    predictions: list[Prediction]


@dataclass
class Embeddings(VersionAnswer):
    layer: str
    shape: list[int]
    embeddings: np.ndarray
