"""The exact search's selection: the grouped two-stage path keeps the same neighbours as a
selection over every row, and equal scores are ranked by row."""

from __future__ import annotations

import numpy as np
import pytest

from core import neighbors
from core.neighbors import search


def _brute_force(queries: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Each query's k nearest rows by float64 distance, nearest first, ties by row."""
    d = ((queries[:, None, :].astype(np.float64) - rows[None, :, :]) ** 2).sum(axis=2)
    return np.array([np.lexsort((np.arange(len(row)), row))[:k] for row in d])


@pytest.mark.parametrize("k", [1, 8, 50])
def test_grouped_selection_finds_the_brute_force_neighbours(k: int) -> None:
    rng = np.random.default_rng(k)
    # integer coordinates: every distance exact in float32, so the ranking is unambiguous
    # up to ties, which the brute force breaks by row as the search does
    rows = rng.integers(0, 6, size=(8192 * 2 + 100, 16)).astype(np.float32)
    queries = rng.integers(0, 6, size=(40, 16)).astype(np.float32)
    assert neighbors._group_size(neighbors.ROW_CHUNK, k)  # the grouped path runs
    found, distances = search(queries, rows, None, k=k, metric="euclidean")
    expected = _brute_force(queries, rows, k)
    expected_d = np.sqrt(((queries[:, None, :] - rows[expected]) ** 2).sum(axis=2))
    np.testing.assert_allclose(distances, expected_d, rtol=1e-6)
    # many rows tie at each distance here: before the k-th distance, the same rows in the
    # same order (ties by lower row); which rows tying with the k-th are kept is unspecified
    inside = distances < distances[:, -1:]
    assert inside.any() or k == 1  # the comparison below compares something
    np.testing.assert_array_equal(found[inside], expected[inside])


def test_grouped_and_plain_selection_agree_on_random_scores() -> None:
    rng = np.random.default_rng(7)
    scores = rng.normal(size=(64, 8192)).astype(np.float32)
    for k in (1, 5, 8, 32):
        assert neighbors._group_size(8192, k)
        grouped = neighbors._top_k(scores, k)
        plain = np.sort(scores, axis=1)[:, :k]
        np.testing.assert_array_equal(grouped[1], plain)
        np.testing.assert_array_equal(np.take_along_axis(scores, grouped[0], axis=1), plain)


def test_small_blocks_and_large_k_use_the_plain_selection() -> None:
    assert neighbors._group_size(8192, 64) == 32
    assert neighbors._group_size(8192, 300) == 0
    assert neighbors._group_size(848, 8) == 16  # 848 = 53 x 16
    assert neighbors._group_size(100, 1) == 0
