"""The 2-D maps of a version's layers: PCA fitted here on first use, t-SNE and UMAP fitted
by the trainer and memory-mapped from the version's ``maps/`` folder.

PCA is fitted from the test split's neighbour index of the layer (``training.neighbors``,
checked against its manifest checksum when mapped), once per version and layer on first
use: the covariance is summed in float64 over the same rows in the same order, ``eigh`` is
deterministic, and each axis's sign is fixed, so every worker and every restart get the same
axes, and fitting takes milliseconds, so nothing is stored (docs/architecture.md).

A stored map (``core.manifest.MapRecord``) is two .npy files checked against the manifest
when first used, then mapped read-only. New inputs land by ``core.maps.place`` among the map
examples' vectors in the layer's space, gathered once from the same index.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.manifest import MapRecord, file_sha256, map_paths
from core.maps import PLACE_K, place, principal_axes
from service.runtime.indexes import CorruptIndex, IndexShelf


@dataclass(frozen=True, eq=False)
class Projection:
    """A fitted map: ``points[i]`` is row ``rows[i]`` of the split's index."""

    method: str
    dataset: str
    layer: str
    rows: np.ndarray
    """(N,) the split's rows on the map, ascending."""
    points: np.ndarray
    """(N, 2) their coordinates."""
    labels: np.ndarray
    """(N,) their true classes."""

    def apply(self, vectors: np.ndarray) -> dict[str, np.ndarray]:
        """``coords`` (N, 2) of (N, ...) layer outputs (and what else the method says)."""
        raise NotImplementedError(f"{type(self).__name__} does not place new inputs")

    def describe(self) -> dict[str, Any]:
        return {"method": self.method, "layer": self.layer, "dataset": self.dataset}


@dataclass(frozen=True, eq=False)
class LinearProjection(Projection):
    """PCA: ``coords = (vector - mean) @ components.T`` over every row of the split."""

    mean: np.ndarray
    """(E,) float64."""
    components: np.ndarray
    """(2, E) float64, unit rows; a zero row where the layer has fewer than 2 units."""
    explained: np.ndarray
    """(2,) each axis's share of the total variance."""

    def apply(self, vectors: np.ndarray) -> dict[str, np.ndarray]:
        flat = np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1)
        return {"coords": (flat - self.mean) @ self.components.T}

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "mean": self.mean,
            "components": self.components,
            "explained": self.explained,
        }


@dataclass(frozen=True, eq=False)
class PlacedMap(Projection):
    """A t-SNE or UMAP map the trainer fitted; new inputs are placed among its examples."""

    record: MapRecord
    vectors: np.ndarray
    """(N, W) float32: the map examples' vectors in the layer's space."""

    def apply(self, vectors: np.ndarray) -> dict[str, np.ndarray]:
        flat = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
        coords, nearest, distance = place(flat, self.vectors, self.points, k=PLACE_K)
        return {"coords": coords, "nearest": self.rows[nearest], "distance": distance}

    def describe(self) -> dict[str, Any]:
        r = self.record
        return {
            **super().describe(),
            "points": r.points,
            "seed": r.seed,
            "placement": {"rule": r.placement, "k": r.placement_k},
            "library": r.library,
            "params": r.params,
            "seconds": r.seconds,
            "cpu_seconds": r.cpu_seconds,
        }


def fit(dataset: str, layer: str, vectors: np.ndarray, labels: np.ndarray) -> LinearProjection:
    """PCA of every row of a split's index of ``layer``."""
    mean, components, explained = principal_axes(vectors)
    points = (np.asarray(vectors, dtype=np.float64) - mean) @ components.T
    rows = np.arange(len(points))
    return LinearProjection(
        "pca", dataset, layer, rows, points, np.asarray(labels), mean, components, explained
    )


def open_map(version_dir: Path, record: MapRecord, indexes: IndexShelf) -> PlacedMap:
    """Blocking: check both files against the record, map them, gather the examples'
    vectors from the index; CorruptIndex when a file does not match."""
    coords_path, rows_path = map_paths(version_dir, record.method, record.dataset, record.layer)
    for path, expected in ((coords_path, record.sha256), (rows_path, record.rows_sha256)):
        if file_sha256(path) != expected:
            raise CorruptIndex(f"{path.name} does not match its manifest checksum")
    coords = np.load(coords_path, mmap_mode="r", allow_pickle=False)
    rows = np.load(rows_path, mmap_mode="r", allow_pickle=False)
    index = indexes.get(record.dataset, record.layer)
    if coords.shape != (record.points, 2) or rows.shape != (record.points,):
        raise CorruptIndex(f"{coords_path.name} does not have the recorded shape")
    if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= index.record.rows):
        raise CorruptIndex(f"{rows_path.name} names rows outside its index")
    return PlacedMap(
        method=record.method,
        dataset=record.dataset,
        layer=record.layer,
        rows=rows,
        points=coords,
        labels=index.labels[rows],
        record=record,
        vectors=np.asarray(index.vectors[rows], dtype=np.float32),
    )


class ProjectionShelf:
    """A version's maps of its test split, each fitted or mapped on first use; kept with
    the loaded version (``LoadedModel.derived``, ``service.features.maps.run.shelf``)."""

    def __init__(
        self,
        indexes: IndexShelf,
        dataset: str,
        layer: str,
        *,
        version_dir: Path | None = None,
        stored: tuple[MapRecord, ...] = (),
    ) -> None:
        self._indexes = indexes
        self.dataset = dataset
        self.embedding_layer = layer
        self._dir = version_dir
        self._stored = {(r.method, r.layer): r for r in stored if r.dataset == dataset}
        self._fitted: dict[tuple[str, str], Projection] = {}
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        """Whether the split is indexed in the embedding's space (PCA of it can be fitted)."""
        return self.dataset in self._indexes.datasets

    def choices(self) -> list[dict[str, str]]:
        """Every (method, layer) this version can draw, PCA's first."""
        pca = [{"method": "pca", "layer": layer} for layer in self._indexes.layers(self.dataset)]
        stored = [{"method": m, "layer": layer} for m, layer in self._stored]
        return pca + stored

    def has(self, method: str, layer: str) -> bool:
        indexed = layer in self._indexes.layers(self.dataset)
        return indexed and (method == "pca" or (method, layer) in self._stored)

    def get(self, method: str = "pca", layer: str | None = None) -> Projection:
        """Blocking on first use (maps the files, fits PCA); KeyError for a map the version
        does not have (``has`` says)."""
        key = (method, layer or self.embedding_layer)
        with self._lock:
            found = self._fitted.get(key)
            if found is None:
                if method == "pca":
                    index = self._indexes.get(self.dataset, key[1])
                    found = fit(self.dataset, key[1], index.vectors, index.labels)
                else:
                    if self._dir is None:
                        raise KeyError(key)
                    found = open_map(self._dir, self._stored[key], self._indexes)
                self._fitted[key] = found
            return found
