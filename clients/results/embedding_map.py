"""A sample of a model's test split on the service's 2-D map: the data behind `layerlens
map` and the page's Map view (both draw the same points)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clients.results.projection import MapRef


@dataclass(frozen=True)
class EmbeddingMap(MapRef):
    """Dataset examples ``indices`` of ``dataset`` at ``coords`` (N, 2), with their true
    classes ``labels`` and the model's ``predicted`` ones; ``class_names[label]`` names them.
    ``explained``: each axis's share of the layer's variance (PCA; empty for t-SNE, UMAP).
    ``size``: the map's points (the whole split for PCA, the trainer's sample otherwise)."""

    size: int
    """Points on the map (the sample is drawn from them)."""
    seed: int
    indices: np.ndarray
    labels: np.ndarray
    predicted: np.ndarray
    coords: np.ndarray
    explained: np.ndarray
    class_names: list[str]
    ood: list[dict[str, Any]] | None = None
    """Asked with ``ood=True``: each point's verdict {score, threshold, verdict, method}."""

    @property
    def outside(self) -> np.ndarray:
        """(N,) bool: the points the out-of-distribution verdict flags (none when not asked)."""
        return np.asarray([v["verdict"] == "out" for v in self.ood or []], dtype=bool)

    @classmethod
    def from_json(cls, raw: dict[str, Any], class_names: list[str]) -> EmbeddingMap:
        return cls(
            **cls.ref_in(raw),
            size=int(raw["size"]),
            seed=int(raw["seed"]),
            indices=np.asarray(raw["indices"], dtype=np.int64),
            labels=np.asarray(raw["labels"], dtype=np.int64),
            predicted=np.asarray(raw["predicted"], dtype=np.int64),
            coords=np.asarray(raw["coords"], dtype=np.float64).reshape(-1, 2),
            explained=np.asarray(raw.get("explained") or [], dtype=np.float64),
            class_names=list(class_names),
            ood=list(raw["ood"]) if raw.get("ood") is not None else None,
        )

    def __len__(self) -> int:
        return len(self.coords)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.ref(),
            "size": self.size,
            "seed": self.seed,
            "explained": self.explained.tolist(),
            "class_names": list(self.class_names),
            "indices": self.indices.tolist(),
            "labels": self.labels.tolist(),
            "predicted": self.predicted.tolist(),
            "coords": self.coords.tolist(),
            **({"ood": self.ood} if self.ood is not None else {}),
        }
