"""The 2-D projection behind `layerlens map`, checked against numpy's eigen-decomposition."""

from __future__ import annotations

import numpy as np
import pytest

from clients.projection import nearest_centroid_accuracy, pca_2d, project


def test_pca_matches_the_covariance_eigenvectors() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(400, 6)) * np.array([5.0, 3.0, 1.0, 0.5, 0.2, 0.1])
    vectors = vectors @ np.linalg.qr(rng.normal(size=(6, 6)))[0] + 7.0  # rotated, shifted
    result = pca_2d(vectors)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(vectors, rowvar=False))
    top = eigenvectors[:, ::-1][:, :2]
    expected = (vectors - vectors.mean(axis=0)) @ top
    for axis in range(2):  # equal up to each axis's sign
        assert np.allclose(np.abs(result.coords[:, axis]), np.abs(expected[:, axis]), atol=1e-6)
    assert result.explained == pytest.approx(tuple(eigenvalues[::-1][:2] / eigenvalues.sum()))
    assert result.explained[0] > result.explained[1] > 0


def test_pca_signs_are_fixed_so_maps_are_reproducible() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(50, 4)) * [4, 2, 1, 1]
    order = rng.permutation(50)
    assert np.allclose(pca_2d(vectors[order]).coords, pca_2d(vectors).coords[order], atol=1e-9)


def test_pca_of_too_few_or_flat_vectors() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        pca_2d(np.ones((1, 3)))
    flat = pca_2d(np.ones((5, 3)))
    assert np.allclose(flat.coords, 0) and flat.explained == (0.0, 0.0)
    line = pca_2d(np.array([[0.0], [1.0], [3.0]]))  # one feature: the second axis is 0
    assert np.allclose(line.coords[:, 1], 0) and line.explained[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown projection"):
        project(np.ones((3, 3)), "tsne")


def test_nearest_centroid_accuracy_tells_clusters_from_noise() -> None:
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(4), 50)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=float)
    clustered = centres[labels] + rng.normal(size=(200, 2))
    assert nearest_centroid_accuracy(clustered, labels) == 1.0
    noise = rng.normal(size=(200, 2))
    assert nearest_centroid_accuracy(noise, labels) < 0.5
