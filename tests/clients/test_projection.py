"""The measures `layerlens map` reports of a 2-D map (the projection itself is the service's:
tests/service/test_projection_route.py checks it against numpy's PCA)."""

from __future__ import annotations

import numpy as np

from clients.projection import class_centroids, nearest_centroid_accuracy


def test_nearest_centroid_accuracy_tells_clusters_from_noise() -> None:
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(4), 50)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=float)
    clustered = centres[labels] + rng.normal(size=(200, 2))
    assert nearest_centroid_accuracy(clustered, labels) == 1.0
    noise = rng.normal(size=(200, 2))
    assert nearest_centroid_accuracy(noise, labels) < 0.5


def test_class_centroids_are_each_class_mean() -> None:
    coords = np.array([[0.0, 0.0], [2.0, 0.0], [5.0, 5.0]])
    centroids = class_centroids(coords, np.array([1, 1, 3]))
    assert sorted(centroids) == [1, 3]
    assert np.allclose(centroids[1], [1.0, 0.0]) and np.allclose(centroids[3], [5.0, 5.0])
