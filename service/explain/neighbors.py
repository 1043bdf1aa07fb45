"""Exact k-nearest-neighbour search over a version's memory-mapped index files.

The index files (``training.neighbors``) are mapped read-only, so every worker on a machine
shares one copy in the page cache; they are checked against the manifest's checksums the
first time a request uses them, never read from a path a request names. Exact search is
right at this size: one query against 50,000 x 128 vectors is one matrix-vector product.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from core.manifest import NeighborIndexRecord, neighbor_index_paths

Metric = Literal["euclidean", "cosine"]
#: Queries scored together: bounds the (queries x rows) distance block to ~50 MB at 50k rows.
QUERY_CHUNK = 256
#: Rows of a pixel-space split converted to float32 at a time.
ROW_CHUNK = 8192


class CorruptIndex(Exception):
    """An index file does not match its manifest record."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
        vectors_path, labels_path = neighbor_index_paths(version_dir, record.dataset)
        for path, expected in ((vectors_path, record.sha256), (labels_path, record.labels_sha256)):
            if _sha256(path) != expected:
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
        self._records = {r.dataset: r for r in records}
        self._open: dict[str, NeighborIndex] = {}
        self._lock = threading.Lock()

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(self._records)

    def get(self, dataset: str) -> NeighborIndex:
        """Blocking on first use; KeyError for a dataset the version has no index of."""
        with self._lock:
            index = self._open.get(dataset)
            if index is None:
                index = self._open[dataset] = NeighborIndex.open(self._dir, self._records[dataset])
        return index


def _top_k(distances: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    k = min(k, distances.shape[1])
    part = np.argpartition(distances, k - 1, axis=1)[:, :k]
    chosen = np.take_along_axis(distances, part, axis=1)
    order = np.argsort(chosen, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(chosen, order, axis=1)


def search(
    queries: np.ndarray,
    rows: np.ndarray,
    squared_norms: np.ndarray | None,
    *,
    k: int,
    metric: Metric,
) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances), each (queries, k), nearest first.

    ``rows`` may be any dtype (uint8 pixels are converted chunk by chunk); euclidean
    distances use ``|q|^2 - 2 q.v + |v|^2``, cosine distances are ``1 - cos``.
    """
    queries = queries.reshape(len(queries), -1).astype(np.float32)
    rows = rows.reshape(len(rows), -1)
    out_i, out_d = [], []
    for start in range(0, len(queries), QUERY_CHUNK):
        q = queries[start : start + QUERY_CHUNK]
        blocks = []
        for r0 in range(0, len(rows), ROW_CHUNK):
            block = np.asarray(rows[r0 : r0 + ROW_CHUNK], dtype=np.float32)
            dots = q @ block.T
            if squared_norms is not None:
                norms = squared_norms[r0 : r0 + ROW_CHUNK]
            else:
                norms = np.einsum("ij,ij->i", block, block)
            blocks.append(_distances(q, dots, norms, metric))
        indices, distances = _top_k(np.concatenate(blocks, axis=1), k)
        out_i.append(indices)
        out_d.append(distances)
    return np.concatenate(out_i), np.concatenate(out_d)


def _distances(q: np.ndarray, dots: np.ndarray, norms: np.ndarray, metric: Metric) -> np.ndarray:
    q_norms = np.einsum("ij,ij->i", q, q)[:, None]
    if metric == "euclidean":
        return np.sqrt(np.maximum(q_norms - 2 * dots + norms[None, :], 0.0))
    scale = np.sqrt(q_norms) * np.sqrt(norms)[None, :]
    return 1.0 - dots / np.maximum(scale, 1e-12)


@lru_cache(maxsize=4)
def split_pixels(dataset: str, data_dir: Path) -> np.ndarray:
    """A split's inputs in its stored dtype (uint8 for MNIST: 39 MB for mnist-train), kept
    per process after the first pixel-space query of it. Blocking."""
    from core.datasets import load_split, resolve_reference

    name, split = resolve_reference(dataset, data_dir)
    return load_split(name, split, data_dir).x


def vote(labels: np.ndarray, num_classes: int) -> tuple[int, float]:
    """The neighbours' majority class (lowest id on a tie) and its share of the votes."""
    counts = np.bincount(labels, minlength=num_classes)
    winner = int(counts.argmax())
    return winner, float(counts[winner] / max(len(labels), 1))
