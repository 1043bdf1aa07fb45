"""Two-dimensional views of an embedding space, in numpy alone (the SDK ships without
scikit-learn). PCA is deterministic and fast for a few thousand points; it keeps the
directions of largest spread, so well-separated classes show as separate clusters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHODS = ("pca",)


@dataclass(frozen=True)
class Projection:
    """``coords`` is (N, 2); ``explained`` is each axis's share of the total variance."""

    method: str
    coords: np.ndarray
    explained: tuple[float, float]


def pca_2d(vectors: np.ndarray) -> Projection:
    """The first two principal components, by SVD of the centred matrix. Signs are fixed
    (each axis's largest loading is positive) so the same data always draws the same way."""
    matrix = np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1)
    if len(matrix) < 2:
        raise ValueError(f"need at least 2 vectors to project, got {len(matrix)}")
    centred = matrix - matrix.mean(axis=0)
    left, singular, right = np.linalg.svd(centred, full_matrices=False)
    components = min(2, len(singular))
    signs = np.sign(right[np.arange(components), np.abs(right[:components]).argmax(axis=1)])
    signs[signs == 0] = 1.0
    coords = np.zeros((len(matrix), 2))
    coords[:, :components] = left[:, :components] * singular[:components] * signs
    variance = singular**2
    total = float(variance.sum())
    shares = [float(v / total) if total > 0 else 0.0 for v in variance[:2]]
    shares += [0.0] * (2 - len(shares))
    return Projection("pca", coords, (shares[0], shares[1]))


def project(vectors: np.ndarray, method: str = "pca") -> Projection:
    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}; choose one of {', '.join(METHODS)}")
    return pca_2d(vectors)


def class_centroids(coords: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    return {int(c): coords[labels == c].mean(axis=0) for c in np.unique(labels)}


def nearest_centroid_accuracy(coords: np.ndarray, labels: np.ndarray) -> float:
    """How often a point lies nearest its own class's centroid: 1/C for a map with no
    class structure, near 1 for separate clusters. One number for "classes cluster"."""
    centroids = class_centroids(coords, labels)
    classes = np.array(list(centroids))
    centres = np.stack([centroids[int(c)] for c in classes])
    distances = np.linalg.norm(coords[:, None, :] - centres[None, :, :], axis=-1)
    return float(np.mean(classes[distances.argmin(axis=1)] == labels))
