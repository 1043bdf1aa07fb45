"""The result of ``:neighbors``: per input, the nearest examples of a dataset split and their
vote, which says whether the training data backs the model's prediction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clients.results._convert import Record
from clients.results._per_input import Items, PerInput


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
class Neighborhood(Record, Items[Neighbor]):
    """One input: the model's prediction, its ``k`` nearest examples (nearest first), their
    vote and whether the vote ``agrees`` with the prediction (a prediction the neighbours
    disagree with deserves less trust than its probability says)."""

    ITEMS = "neighbors"

    predicted: int
    predicted_label: str
    neighbors: list[Neighbor]
    vote: NeighborVote
    agrees: bool

    @property
    def indexes(self) -> np.ndarray:
        return np.asarray([n.index for n in self.neighbors], dtype=np.int64)

    @property
    def distances(self) -> np.ndarray:
        return np.asarray([n.distance for n in self.neighbors], dtype=np.float32)


@dataclass(frozen=True)
class NeighborsResult(PerInput[Neighborhood]):
    """Neighbourhoods in the order the inputs were given, and what was searched: the split
    (``dataset``), the ``space`` (``embedding`` or ``pixel``), the ``layer`` compared in
    embedding space (None in pixel space), the ``metric`` and ``k``."""

    ITEMS = "results"

    model: str
    version: int
    dataset: str
    space: str
    layer: str | None
    metric: str
    k: int
    results: list[Neighborhood]

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
