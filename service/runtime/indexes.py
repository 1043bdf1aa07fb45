"""Exact k-nearest-neighbour search over a version's memory-mapped index files.

The index files (``training.neighbors``) are mapped read-only, so every worker on a machine
shares one copy in the page cache; they are checked against the manifest's checksums the
first time a request uses them, never read from a path a request names. Exact search is
right at this size: one query against 50,000 x 128 vectors is one matrix-vector product
(``core.neighbors``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.manifest import (
    EMBEDDING_LAYER,
    NeighborIndexRecord,
    file_sha256,
    neighbor_index_paths,
)
from core.neighbors_pruned import LazyPrunedIndex

if TYPE_CHECKING:
    from service.runtime.runners import Runner


class CorruptIndex(Exception):
    """An index file does not match its manifest record."""


@dataclass(frozen=True, eq=False)
class NeighborIndex:
    record: NeighborIndexRecord
    vectors: np.ndarray
    """(rows, width) float32, memory-mapped read-only."""
    labels: np.ndarray
    squared_norms: np.ndarray

    @classmethod
    def open(cls, version_dir: Path, record: NeighborIndexRecord) -> NeighborIndex:
        """Blocking: hashes both files (about 0.1 s for 25 MB) then maps them."""
        vectors_path, labels_path = neighbor_index_paths(version_dir, record.dataset, record.layer)
        for path, expected in ((vectors_path, record.sha256), (labels_path, record.labels_sha256)):
            if file_sha256(path) != expected:
                raise CorruptIndex(f"{path} does not match its manifest checksum")
        vectors = np.load(vectors_path, mmap_mode="r", allow_pickle=False)
        labels = np.load(labels_path, allow_pickle=False)
        if vectors.shape != (record.rows, record.width) or labels.shape != (record.rows,):
            raise CorruptIndex(f"{vectors_path} does not have the recorded shape")
        norms = np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64).astype(np.float32)
        return cls(record=record, vectors=vectors, labels=labels, squared_norms=norms)


class IndexShelf:
    """A version's indexes, each opened on first use (loading a version costs nothing)."""

    def __init__(self, version_dir: Path, records: tuple[NeighborIndexRecord, ...]) -> None:
        self._dir = version_dir
        self._records = {(r.dataset, r.layer): r for r in records}
        self._open: dict[tuple[str, str], NeighborIndex] = {}
        self._lock = threading.Lock()
        #: (dataset, layer or "pixel", space, metric, neighbours kept) -> the runner that
        #: batches concurrent searches of it, made on first use by
        #: ``service.features.neighbors.search``.
        self.searchers: dict[tuple[str, str, str, str, int], Runner] = {}
        #: (dataset, layer or "pixel") -> the pruned search's projection, one for the
        #: euclidean searchers of every bucket of k (built by the first search).
        self.pruned: dict[tuple[str, str], LazyPrunedIndex] = {}

    @property
    def datasets(self) -> tuple[str, ...]:
        """The splits indexed (in the embedding's space at least)."""
        return tuple(dict.fromkeys(dataset for dataset, _layer in self._records))

    def layers(self, dataset: str) -> tuple[str, ...]:
        """The layers ``dataset`` is indexed in."""
        return tuple(layer for name, layer in self._records if name == dataset)

    async def close(self) -> None:
        """Run what is queued, then stop the searchers' batchers (a version unloading)."""
        for searcher in list(self.searchers.values()):
            await searcher.close()

    def opened(self, dataset: str, layer: str = EMBEDDING_LAYER) -> NeighborIndex | None:
        """The index if ``get`` opened it already (never blocks: no thread hop needed)."""
        return self._open.get((dataset, layer))

    def get(self, dataset: str, layer: str = EMBEDDING_LAYER) -> NeighborIndex:
        """Blocking on first use; KeyError for a (dataset, layer) the version has no index of."""
        key = (dataset, layer)
        with self._lock:
            index = self._open.get(key)
            if index is None:
                index = self._open[key] = NeighborIndex.open(self._dir, self._records[key])
        return index


@lru_cache(maxsize=4)
def split_pixels(dataset: str, data_dir: Path) -> np.ndarray:
    """A split's inputs in its stored dtype (uint8 for MNIST: 39 MB for mnist-train), kept
    per process after the first pixel-space query of it. Blocking."""
    from core.datasets import load_split, resolve_reference

    name, split = resolve_reference(dataset, data_dir)
    return load_split(name, split, data_dir).x
