"""The result of ``:neighbors``: per input, the nearest examples of a dataset split and their
vote, which says whether the training data backs the model's prediction."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clients.results._convert import Record


@dataclass(frozen=True)
class Neighbor(Record):
    """One example of the searched split: ``index`` into it (``dataset_example(dataset,
    index)`` shows it), its class and its distance from the input."""

    index: int
    class_id: int
    label: str
    distance: float


@dataclass(frozen=True)
class NeighborVote(Record):
    """The neighbours' majority class and the share of them in it."""

    class_id: int
    label: str
    share: float


@dataclass(frozen=True)
class Neighborhood(Record):
    """One input: the model's prediction, its ``k`` nearest examples (nearest first), their
    vote and whether the vote ``agrees`` with the prediction (a prediction the neighbours
    disagree with deserves less trust than its probability says)."""

    predicted: int
    predicted_label: str
    neighbors: list[Neighbor]
    vote: NeighborVote
    agrees: bool

    def __len__(self) -> int:
        return len(self.neighbors)

    def __iter__(self) -> Iterator[Neighbor]:
        return iter(self.neighbors)

    def __getitem__(self, rank: int) -> Neighbor:
        return self.neighbors[rank]

    @property
    def indexes(self) -> np.ndarray:
        return np.asarray([n.index for n in self.neighbors], dtype=np.int64)

    @property
    def distances(self) -> np.ndarray:
        return np.asarray([n.distance for n in self.neighbors], dtype=np.float32)


@dataclass(frozen=True)
class NeighborsResult:
    """Neighbourhoods in the order the inputs were given, and what was searched: the split
    (``dataset``), the ``space`` (``embedding`` or ``pixel``), the ``layer`` compared in
    embedding space (None in pixel space), the ``metric`` and ``k``."""

    model: str
    version: int
    dataset: str
    space: str
    metric: str
    k: int
    results: list[Neighborhood]
    raw: list[dict[str, Any]] = field(default_factory=list, repr=False)
    layer: str | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> NeighborsResult:
        items = raw.get("results", [])
        return cls(
            model=str(raw.get("model", "")),
            version=int(raw.get("version", 0)),
            dataset=str(raw.get("dataset", "")),
            space=str(raw.get("space", "")),
            metric=str(raw.get("metric", "")),
            k=int(raw.get("k", 0)),
            results=[Neighborhood.from_json(r) for r in items],
            raw=list(items),
            layer=raw.get("layer"),
        )

    @classmethod
    def concat(cls, parts: list[NeighborsResult]) -> NeighborsResult:
        """One result from the answers to several requests (runs of inputs of one kind)."""
        first = parts[0]
        return cls(
            model=first.model,
            version=first.version,
            dataset=first.dataset,
            space=first.space,
            metric=first.metric,
            k=first.k,
            results=[r for part in parts for r in part.results],
            raw=[r for part in parts for r in part.raw],
            layer=first.layer,
        )

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[Neighborhood]:
        return iter(self.results)

    def __getitem__(self, index: int) -> Neighborhood:
        return self.results[index]

    @property
    def indexes(self) -> np.ndarray:
        """(N, k): each input's neighbours' indexes into the split, nearest first."""
        return np.stack([r.indexes for r in self.results])

    @property
    def distances(self) -> np.ndarray:
        """(N, k), each row ascending."""
        return np.stack([r.distances for r in self.results])

    @property
    def agreement(self) -> float:
        """The share of inputs whose neighbours' vote is the model's prediction."""
        return sum(r.agrees for r in self.results) / len(self.results) if self.results else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "dataset": self.dataset,
            "space": self.space,
            "layer": self.layer,
            "metric": self.metric,
            "k": self.k,
            "results": self.raw,
        }
