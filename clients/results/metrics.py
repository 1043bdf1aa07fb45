"""The stored evaluations of a model version (test, train, validation, history,
cross-dataset, sweep, agreement): numeric lists arrive as numpy arrays, ``raw`` keeps the
JSON; ``Agreement`` reads an ``agreement`` evaluation's buckets into arrays;
``CellExamples`` is a page of one confusion-matrix cell's test examples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clients.errors import ResponseError
from clients.results._convert import arrays_in

AGREEMENT = "agreement"


@dataclass(frozen=True)
class Evaluation:
    kind: str
    dataset: str
    created_at: str
    data: dict[str, Any]
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Evaluation:
        return cls(
            kind=str(raw.get("kind", "")),
            dataset=str(raw.get("dataset", "")),
            created_at=str(raw.get("created_at", "")),
            data=arrays_in(raw.get("data") or {}),
            raw=raw,
        )


@dataclass(frozen=True)
class Metrics:
    model: str
    version: int
    evaluations: list[Evaluation]
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Metrics:
        return cls(
            model=str(raw.get("model", "")),
            version=int(raw.get("version", 0)),
            evaluations=[Evaluation.from_json(e) for e in raw.get("evaluations", [])],
            raw=raw,
        )

    def of_kind(self, kind: str) -> list[Evaluation]:
        return [e for e in self.evaluations if e.kind == kind]

    def get(self, kind: str, dataset: str | None = None) -> Evaluation | None:
        """The first evaluation of that kind (and dataset, if given), or None."""
        for evaluation in self.of_kind(kind):
            if dataset is None or evaluation.dataset == dataset:
                return evaluation
        return None

    def agreements(self) -> list[Agreement]:
        """The ``agreement`` evaluations, the labelled one (the model's own test split)
        first, then the cross dataset's."""
        rows = [Agreement.from_evaluation(e) for e in self.of_kind(AGREEMENT)]
        return sorted(rows, key=lambda a: not a.labelled)

    def to_json(self) -> dict[str, Any]:
        return self.raw


def _need(data: dict[str, Any], key: str) -> Any:
    if key not in data:
        raise ResponseError(f"the service's answer has no {key!r}: {sorted(data)}")
    return data[key]


def _maybe_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _per_bucket(buckets: list[dict[str, Any]], key: str) -> np.ndarray:
    """One value per bucket; NaN where the bucket is empty (the service sends null)."""
    return np.array([np.nan if b.get(key) is None else float(b[key]) for b in buckets])


@dataclass(frozen=True)
class Agreement:
    """One ``agreement`` evaluation (docs/architecture.md): the predictions on one dataset
    bucketed by how many of the ``k`` nearest training examples carry the predicted class
    (``agreeing`` = 0..k). Only the model's own test split has labels, so the accuracies are
    None on the cross dataset; per-bucket values are NaN where a bucket is empty."""

    dataset: str
    k: int
    num_examples: int
    agreeing: np.ndarray
    counts: np.ndarray
    mean_confidence: np.ndarray
    bucket_accuracy: np.ndarray | None
    majority_agrees: float
    confident_share: float
    majority_agrees_when_confident: float | None
    accuracy: float | None
    accuracy_when_majority_agrees: float | None
    accuracy_when_majority_disagrees: float | None

    @classmethod
    def from_evaluation(cls, evaluation: Evaluation) -> Agreement:
        data = evaluation.data
        buckets = sorted(_need(data, "buckets"), key=lambda b: int(b["agreeing"]))
        labelled = data.get("accuracy") is not None
        return cls(
            dataset=evaluation.dataset,
            k=int(_need(data, "k")),
            num_examples=int(_need(data, "num_examples")),
            agreeing=np.array([int(b["agreeing"]) for b in buckets], dtype=np.int64),
            counts=np.array([int(b["count"]) for b in buckets], dtype=np.int64),
            mean_confidence=_per_bucket(buckets, "mean_confidence"),
            bucket_accuracy=_per_bucket(buckets, "accuracy") if labelled else None,
            majority_agrees=float(_need(data, "majority_agrees")),
            confident_share=float(_need(data, "confident_share")),
            majority_agrees_when_confident=_maybe_float(data.get("majority_agrees_when_confident")),
            accuracy=_maybe_float(data.get("accuracy")),
            accuracy_when_majority_agrees=_maybe_float(data.get("accuracy_when_majority_agrees")),
            accuracy_when_majority_disagrees=_maybe_float(
                data.get("accuracy_when_majority_disagrees")
            ),
        )

    @property
    def labelled(self) -> bool:
        """Whether the dataset has labels the model's classes match (its own test split)."""
        return self.accuracy is not None

    @property
    def majority(self) -> int:
        """The fewest agreeing neighbours that are a majority (5 of 8)."""
        return self.k // 2 + 1

    @property
    def shares(self) -> np.ndarray:
        """Each bucket's share of the images."""
        total = int(self.counts.sum())
        return self.counts / total if total else np.zeros(len(self.counts))


@dataclass(frozen=True)
class CellExamples:
    """A page of the test examples of class ``true`` that the model predicted as
    ``predicted``: ``indices`` number the ``dataset`` reference (``client.dataset_example(
    dataset, i)``), ``probabilities`` are the predicted class's, ``total`` is the cell's
    count in the stored confusion matrix, ``start`` this page's position in the cell;
    ``instances`` the examples' inputs when asked for (else None)."""

    model: str
    version: int
    dataset: str
    true: int
    predicted: int
    total: int
    start: int
    indices: np.ndarray
    probabilities: np.ndarray
    instances: np.ndarray | None
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CellExamples:
        instances = raw.get("instances")
        return cls(
            model=str(raw.get("model", "")),
            version=int(raw.get("version", 0)),
            dataset=str(raw.get("dataset", "")),
            true=int(_need(raw, "true")),
            predicted=int(_need(raw, "predicted")),
            total=int(_need(raw, "total")),
            start=int(raw.get("start", 0)),
            indices=np.asarray(_need(raw, "indices"), dtype=np.int64),
            probabilities=np.asarray(raw.get("probability", []), dtype=np.float64),
            instances=None if instances is None else np.asarray(instances, dtype=np.float32),
            raw=raw,
        )

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def refs(self) -> list[str]:
        """The examples as the SDK's inputs name them (``"mnist-test:12"``)."""
        return [f"{self.dataset}:{i}" for i in self.indices]

    def to_json(self) -> dict[str, Any]:
        return self.raw
