"""The service's 2-D projection of a model version's embedding space, and inputs placed
with it (``:project``): the axes the page's map, the SDK and the CLI share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def _float64(value: Any) -> np.ndarray:
    return np.asarray(value if value is not None else [], dtype=np.float64)


@dataclass(frozen=True)
class Projection:
    """``coords = (embedding - mean) @ components.T``, fitted by the service on
    ``dataset``'s embeddings (``layer``); ``explained``: each axis's share of the variance."""

    model: str
    version: int
    method: str
    layer: str
    dataset: str
    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Projection:
        return cls(
            model=str(raw["model"]),
            version=int(raw["version"]),
            method=str(raw["method"]),
            layer=str(raw["layer"]),
            dataset=str(raw["dataset"]),
            mean=_float64(raw["mean"]),
            components=_float64(raw["components"]).reshape(2, -1),
            explained=_float64(raw["explained"]),
        )

    def apply(self, embeddings: Any) -> np.ndarray:
        """(N, 2) coordinates of embedding-layer vectors (e.g. ``embed(...).embeddings``)."""
        flat = np.asarray(embeddings, dtype=np.float64)
        flat = flat.reshape(-1, self.mean.size) if flat.size else flat.reshape(0, self.mean.size)
        return (flat - self.mean) @ self.components.T


@dataclass(frozen=True)
class Projected:
    """Inputs placed on the map: ``coords`` is (N, 2), in the inputs' order."""

    model: str
    version: int
    method: str
    layer: str
    dataset: str
    coords: np.ndarray

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Projected:
        coords = _float64(raw.get("coords")).reshape(-1, 2)
        return cls(
            str(raw["model"]), int(raw["version"]), str(raw["method"]), str(raw["layer"]),
            str(raw["dataset"]), coords,
        )  # fmt: skip

    @classmethod
    def concat(cls, parts: list[Projected]) -> Projected:
        first = parts[0]
        joined = np.concatenate([p.coords for p in parts])
        return cls(first.model, first.version, first.method, first.layer, first.dataset, joined)

    def __len__(self) -> int:
        return len(self.coords)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model, "version": self.version, "method": self.method,
            "layer": self.layer, "dataset": self.dataset, "coords": self.coords.tolist(),
        }  # fmt: skip
