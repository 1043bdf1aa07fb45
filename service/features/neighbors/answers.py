"""The answer of ``:neighbors``, typed (the SDK's ``clients.results.neighbors`` is checked
against it by a test)."""

from __future__ import annotations

from dataclasses import dataclass

from service.dataplane.answers import VersionAnswer


@dataclass(frozen=True, slots=True)
class Neighbor:
    index: int
    class_id: int
    label: str
    distance: float


@dataclass(frozen=True, slots=True)
class Vote:
    class_id: int
    label: str
    share: float


@dataclass(frozen=True, slots=True)
class NeighborResult:
    """One input: the model's prediction, its nearest examples and their vote."""

    predicted: int
    predicted_label: str
    neighbors: list[Neighbor]
    vote: Vote
    agrees: bool


@dataclass
class Neighbors(VersionAnswer):
    dataset: str
    space: str
    layer: str | None
    metric: str
    k: int
    results: list[NeighborResult]
