"""Measures of a 2-D map (the service fits the projection itself: ``Client.projection``):
where each class sits, and one number for "classes form clusters"."""

from __future__ import annotations

import numpy as np


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
