"""Results of predict, head and embed: the model's answer per instance, with numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clients.results._convert import Record, floats
from clients.results._per_input import PerInput


@dataclass(frozen=True)
class TopK(Record):
    class_id: int
    label: str
    probability: float


@dataclass(frozen=True)
class Verdict(Record):
    """Whether an input looks like the model's training data: ``score`` (higher = more
    unusual) against the version's ``threshold``, calibrated so that 95% of the validation
    split is ``"in"``; ``method`` is knn, mahalanobis, energy or msp."""

    score: float
    threshold: float
    verdict: str
    method: str

    @property
    def out(self) -> bool:
        return self.verdict == "out"


@dataclass(frozen=True)
class Prediction(Record):
    """One instance: the winning class, its probability, every class's probability."""

    class_id: int
    label: str
    probability: float
    probabilities: np.ndarray
    top_k: list[TopK]
    logits: np.ndarray | None = None
    ood: Verdict | None = None
    """The out-of-distribution verdict, when asked for (``predict(..., ood=True)``)."""


@dataclass(frozen=True)
class PredictResult(PerInput[Prediction]):
    """A batch of predictions, in the order the inputs were given."""

    ITEMS = "predictions"

    model: str
    version: int
    predictions: list[Prediction]

    @property
    def class_ids(self) -> np.ndarray:
        return np.asarray([p.class_id for p in self.predictions], dtype=np.int64)

    @property
    def labels(self) -> list[str]:
        return [p.label for p in self.predictions]

    @property
    def probabilities(self) -> np.ndarray:
        """(N, C): one row per instance."""
        return np.stack([p.probabilities for p in self.predictions])


@dataclass(frozen=True)
class Embeddings:
    """A layer's output for each instance: ``embeddings`` is (N, ...) and ``shape`` its
    shape, the batch axis first (as the service reports it)."""

    model: str
    version: int
    layer: str
    shape: tuple[int, ...]
    embeddings: np.ndarray

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Embeddings:
        return cls(
            model=str(raw.get("model", "")),
            version=int(raw.get("version", 0)),
            layer=str(raw.get("layer", "")),
            shape=tuple(int(d) for d in raw.get("shape", [])),
            embeddings=floats(raw.get("embeddings")),
        )

    @classmethod
    def concat(cls, parts: list[Embeddings]) -> Embeddings:
        first = parts[0]
        joined = np.concatenate([p.embeddings for p in parts])
        return cls(first.model, first.version, first.layer, joined.shape, joined)

    def __len__(self) -> int:
        return len(self.embeddings)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "layer": self.layer,
            "shape": list(self.shape),
            "embeddings": self.embeddings.tolist(),
        }
