"""The 2-D projection of a version's embedding space: PCA of its test split's embeddings.

Fitted by the service from the test split's neighbour index (``training.neighbors``, checked
against its manifest checksum when mapped), once per version on first use, and kept with the
loaded version (``LoadedModel.derived``). Every worker and every restart gets the same axes:
the covariance is summed in float64 over the same rows in the same order, ``eigh`` is
deterministic, and each axis's sign is fixed (its largest-magnitude loading is positive).
Fitting takes a few milliseconds (10,000 x 128), so nothing is stored: see
docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from service.runtime.indexes import IndexShelf

METHOD = "pca"
#: Axes of the map.
AXES = 2


@dataclass(frozen=True, eq=False)
class Projection:
    """``coords = (embedding - mean) @ components.T``; ``points`` are the fitted rows'."""

    dataset: str
    layer: str
    mean: np.ndarray
    """(E,) float64."""
    components: np.ndarray
    """(2, E) float64, unit rows; a zero row where the embedding has fewer than 2 units."""
    explained: np.ndarray
    """(2,) each axis's share of the total variance."""
    points: np.ndarray
    """(rows, 2) float64: the fitted split's examples on the map, in index order."""
    labels: np.ndarray
    """(rows,) their true classes."""

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """(N, 2) coordinates of (N, ...) embedding-layer outputs."""
        flat = np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1)
        return (flat - self.mean) @ self.components.T


def principal_axes(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, components (2, E), explained (2,)) of ``vectors`` (rows, E): the top two
    eigenvectors of the float64 covariance, each with its largest-|loading| entry positive."""
    rows, width = vectors.shape
    if rows < 2:
        raise ValueError(f"a projection needs at least 2 rows, got {rows}")
    data = np.asarray(vectors, dtype=np.float64)
    mean = data.mean(axis=0)
    centred = data - mean
    covariance = centred.T @ centred / (rows - 1)
    values, vectors_ = np.linalg.eigh(covariance)  # ascending
    top = min(AXES, width)
    order = np.argsort(values)[::-1][:top]
    components = np.zeros((AXES, width))
    components[:top] = vectors_[:, order].T
    biggest = np.abs(components).argmax(axis=1)
    signs = np.sign(components[np.arange(AXES), biggest])
    signs[signs == 0] = 1.0
    components *= signs[:, None]
    total = float(np.trace(covariance))
    explained = np.zeros(AXES)
    if total > 0:
        explained[:top] = np.clip(values[order], 0.0, None) / total
    return mean, components, explained


def fit(dataset: str, layer: str, vectors: np.ndarray, labels: np.ndarray) -> Projection:
    mean, components, explained = principal_axes(vectors)
    points = (np.asarray(vectors, dtype=np.float64) - mean) @ components.T
    return Projection(dataset, layer, mean, components, explained, points, np.asarray(labels))


def fit_from_index(shelf: IndexShelf, dataset: str, layer: str) -> Projection:
    """Blocking (maps the index, fits); KeyError without the index."""
    index = shelf.get(dataset)
    return fit(dataset, layer, index.vectors, index.labels)
