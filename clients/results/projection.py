"""The service's 2-D map of a model version's layer (PCA, t-SNE, UMAP), and inputs placed on
it (``:project``): the map the page, the SDK and the CLI share."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np


def _float64(value: Any) -> np.ndarray:
    return np.asarray(value if value is not None else [], dtype=np.float64)


@dataclass(frozen=True)
class MapRef:
    """Which map: the version, its ``method`` (pca, tsne, umap), the ``layer`` mapped and the
    ``dataset`` it was fitted on (every map answer starts with these)."""

    model: str
    version: int
    method: str
    layer: str
    dataset: str

    @staticmethod
    def ref_in(raw: dict[str, Any]) -> dict[str, Any]:
        """The five fields from an answer, each required."""
        return {
            "model": str(raw["model"]),
            "version": int(raw["version"]),
            "method": str(raw["method"]),
            "layer": str(raw["layer"]),
            "dataset": str(raw["dataset"]),
        }

    def ref(self) -> dict[str, Any]:
        """The five fields as an answer has them."""
        return {f.name: getattr(self, f.name) for f in fields(MapRef)}


@dataclass(frozen=True)
class Projection(MapRef):
    """PCA: ``coords = (embedding - mean) @ components.T``, fitted by the service on
    ``dataset``'s vectors of ``layer``; ``explained``: each axis's share of the variance.
    t-SNE and UMAP (fitted by the trainer on ``points`` examples) have no axes: ``mean`` and
    ``components`` are empty, ``placement`` says how the service places new inputs and
    ``maps`` lists every (method, layer) the version can draw."""

    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray
    points: int | None = None
    placement: dict[str, Any] | None = None
    maps: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Projection:
        linear = raw.get("components") is not None
        return cls(
            **cls.ref_in(raw),
            mean=_float64(raw.get("mean")),
            components=_float64(raw["components"]).reshape(2, -1) if linear else np.zeros((0, 0)),
            explained=_float64(raw.get("explained")),
            points=raw.get("points"),
            placement=raw.get("placement"),
            maps=tuple((str(m["method"]), str(m["layer"])) for m in raw.get("maps") or ()),
        )

    def apply(self, embeddings: Any) -> np.ndarray:
        """(N, 2) coordinates of the layer's vectors (e.g. ``embed(...).embeddings``), for
        PCA only: a t-SNE or UMAP point is placed by the service (``project``)."""
        if self.method != "pca":
            raise ValueError(f"a {self.method} map places inputs on the service: use project()")
        flat = np.asarray(embeddings, dtype=np.float64)
        flat = flat.reshape(-1, self.mean.size) if flat.size else flat.reshape(0, self.mean.size)
        return (flat - self.mean) @ self.components.T


@dataclass(frozen=True)
class Projected(MapRef):
    """Inputs placed on the map: ``coords`` is (N, 2), in the inputs' order; on a t-SNE or
    UMAP map also the test example each landed nearest (``nearest``) and its distance in the
    layer's space (``distance``); empty for PCA."""

    coords: np.ndarray
    nearest: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    distance: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Projected:
        coords = _float64(raw.get("coords")).reshape(-1, 2)
        nearest = np.asarray(raw.get("nearest") or [], dtype=np.int64)
        return cls(
            **cls.ref_in(raw),
            coords=coords,
            nearest=nearest,
            distance=_float64(raw.get("distance")),
        )

    @classmethod
    def concat(cls, parts: list[Projected]) -> Projected:
        return replace(
            parts[0],
            coords=np.concatenate([p.coords for p in parts]),
            nearest=np.concatenate([p.nearest for p in parts]),
            distance=np.concatenate([p.distance for p in parts]),
        )

    def __len__(self) -> int:
        return len(self.coords)

    def to_json(self) -> dict[str, Any]:
        return {**self.ref(), "coords": self.coords.tolist()}
