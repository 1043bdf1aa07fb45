"""The pruned search answers exactly as the plain exact search."""

from __future__ import annotations

import numpy as np

from core import neighbors_pruned
from core.neighbors import search
from core.neighbors_pruned import MIN_ROWS, PrunedIndex, exact_search


def _embeddings(rows: int, seed: int) -> np.ndarray:
    """ReLU features of a low-rank signal plus noise, like a hidden layer's vectors."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(rows, 12))
    weights = rng.normal(size=(12, 128))
    return np.maximum(latent @ weights + 0.3 * rng.normal(size=(rows, 128)), 0).astype(np.float32)


def test_pruned_search_finds_the_same_neighbours_at_the_same_distances() -> None:
    rows = _embeddings(6000, 0)
    norms = np.einsum("ij,ij->i", rows, rows)
    index = PrunedIndex.build(rows, norms)
    assert index is not None
    queries = np.concatenate([_embeddings(40, 1), rows[:5]])  # and rows of the index itself
    for k in (1, 8, 100):
        expected_i, expected_d = search(queries, rows, norms, k=k, metric="euclidean")
        found_i, found_d = index.search(queries, k=k)
        np.testing.assert_array_equal(found_d, expected_d)
        np.testing.assert_array_equal(found_i, expected_i)
    assert (found_i[-5:, 0] == np.arange(5)).all()  # an index row is its own nearest


def test_cosine_small_and_pixel_indexes_use_the_plain_search() -> None:
    rows = _embeddings(MIN_ROWS - 1, 2)
    assert PrunedIndex.build(rows, None) is None
    assert PrunedIndex.build(np.zeros((MIN_ROWS, 784), dtype=np.uint8), None) is None
    big = _embeddings(MIN_ROWS, 3)
    index = PrunedIndex.build(big, None)
    q = big[:3] + 0.5
    cosine = exact_search(q, big, None, index, k=5, metric="cosine")
    plain = search(q, big, None, k=5, metric="cosine")
    np.testing.assert_array_equal(cosine[0], plain[0])


def test_the_first_guess_holds_k_rows_even_where_the_sample_misses_them() -> None:
    """The rows with small bounds sit between the sampled positions: the sample's threshold
    would keep too few, so the exact selection takes over."""
    bound = np.full(50_000, 100.0, dtype=np.float32)
    stride = len(bound) // neighbors_pruned.SAMPLE
    small = np.arange(1, 40 * stride, stride)  # never a multiple of the stride
    bound[small] = np.arange(len(small), dtype=np.float32)
    first = neighbors_pruned._smallest(bound, 8)
    assert len(first) >= 8
    assert set(small[:8]) <= set(first.tolist())
