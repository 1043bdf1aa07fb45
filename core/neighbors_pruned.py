"""Exact euclidean k-nearest search that reads a tenth of the index per query.

One query against 50,000 x 128 float32 vectors reads 25.6 MB, which on these machines
bounds the exact search at about 2.5 ms whatever the arithmetic costs. The embeddings
live near a lower-dimensional subspace, so a cheap lower bound rules most rows out:
with ``P`` the top ``d`` principal directions of the rows (around their mean), for any
query ``q`` and row ``v``

    |q - v|^2 = |P(q - v)|^2 + |R(q - v)|^2 >= |Pq - Pv|^2 + (|Rq| - |Rv|)^2

(``R`` the residual beyond ``P``; the last step is the reverse triangle inequality). The
bound reads ``d`` + 2 numbers per row, and holds for any ``d``. Two are used: a coarse one
(``COARSE_DIMS``) over every row, then a fine one (``PROJECTED_DIMS``) over the rows the
coarse one leaves (about 1,300 of 50,000 for k = 8). At each level the rows with the
smallest bounds give an upper bound on the k-th distance (any k rows' exact distances do),
and every row whose bound is above it is ruled out. The candidates left go through
``core.neighbors.search`` itself, so the answer (indices, distances, ranking) is the exact
search's over a set that holds every true neighbour. A query's traffic is mostly the
coarse terms (2 MB at 50,000 rows, in place of the 6.8 MB of one level at 32): the search
costs about the memory it reads whenever the index has left the caches between requests.
Cosine, and rows that are not float vectors (pixels), use the plain search.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from core.neighbors import Metric, search

#: Principal directions of the fine bound (32 of 128: a quarter of a row's bytes) and of
#: the coarse one (8: a tenth). For k = 8 at 50,000 x 128 (MNIST's digits embedding) the
#: coarse bound leaves about 1,300 rows, the fine one about 60.
PROJECTED_DIMS = 32
COARSE_DIMS = 8
#: Below this many rows the plain search is as fast.
MIN_ROWS = 4096
#: The first guess at the k-th distance reads the exact distances of about this many times
#: k rows (at least ``MIN_FIRST``), cut by a threshold read off a sample of ``SAMPLE`` rows.
FIRST_GUESS = 4
MIN_FIRST = 64
SAMPLE = 2048
#: Relative slack on the k-th distance, for float32 rounding in the exact distances.
SLACK = 1e-3
#: The expanded bound's float32 rounding, relative to the squared norms it cancels
#: (about 80 float32 epsilons: a row is never ruled out by rounding).
ROUNDING = 1e-5


@dataclass(frozen=True)
class PrunedIndex:
    """The rows' projections, built once per index (about 0.1 s at 50,000 x 128)."""

    rows: np.ndarray
    squared_norms: np.ndarray | None
    mean: np.ndarray
    basis: np.ndarray  # (dims, PROJECTED_DIMS); the first COARSE_DIMS columns: the coarse P
    #: (COARSE_DIMS + 2, rows) float32: each row's ``terms`` (below) as a column, so a
    #: query's coarse bounds are one vector-matrix product over contiguous memory.
    coarse: np.ndarray
    #: (rows, PROJECTED_DIMS + 2) float32: each row's terms, a row's contiguous, for the
    #: few rows whose fine bounds are read.
    fine: np.ndarray

    @classmethod
    def build(cls, rows: np.ndarray, squared_norms: np.ndarray | None) -> PrunedIndex | None:
        """None when pruning cannot pay (few rows, few dimensions, not float32 vectors)."""
        if rows.ndim != 2 or rows.dtype != np.float32 or len(rows) < MIN_ROWS:
            return None
        if rows.shape[1] <= 2 * PROJECTED_DIMS:
            return None
        data = np.asarray(rows, dtype=np.float64)
        mean = data.mean(axis=0)
        centred = data - mean
        _, vectors = np.linalg.eigh(centred.T @ centred)  # ascending eigenvalues
        basis = vectors[:, ::-1][:, :PROJECTED_DIMS]  # (dims, d), orthonormal columns
        projected = centred @ basis
        squared = np.einsum("ij,ij->i", centred, centred)
        return cls(
            rows=np.asarray(rows),  # a memory map's own indexing costs more than its reads
            squared_norms=squared_norms,
            mean=mean.astype(np.float32),
            basis=basis.astype(np.float32),
            coarse=np.ascontiguousarray(terms(projected[:, :COARSE_DIMS], squared).T),
            fine=np.ascontiguousarray(terms(projected, squared)),
        )

    def search(self, queries: np.ndarray, *, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exactly ``core.neighbors.search(queries, rows, norms, k=k, metric="euclidean")``."""
        queries = queries.reshape(len(queries), -1).astype(np.float32)
        k = min(k, len(self.rows))
        centred = queries - self.mean
        projected = centred @ self.basis
        squared = np.einsum("ij,ij->i", centred, centred)
        coarse = query_weights(projected[:, :COARSE_DIMS], squared)
        fine = query_weights(projected, squared)
        out_i, out_d = [], []
        for i, q in enumerate(queries):
            # one vector-matrix product per query: a (queries x d + 2) product costs
            # OpenBLAS more than the queries' products one by one
            bound = coarse[0][i] @ self.coarse
            bound += coarse[1][i]
            limit = self._limit(q, bound, None, k)
            left = np.flatnonzero(bound <= limit)
            bound = self.fine[left] @ fine[0][i]
            bound += fine[1][i]
            limit = min(limit, self._limit(q, bound, left, k))
            candidates = left[bound <= limit]
            norms = None if self.squared_norms is None else self.squared_norms[candidates]
            found, distances = search(
                q[None], self.rows[candidates], norms, k=k, metric="euclidean"
            )
            out_i.append(candidates[found])
            out_d.append(distances)
        return np.concatenate(out_i), np.concatenate(out_d)

    def _limit(self, q: np.ndarray, bound: np.ndarray, rows: np.ndarray | None, k: int) -> float:
        """An upper bound on the squared k-th distance (with ``SLACK``) from the exact
        distances of the rows with small bounds (``bound`` of ``rows``; None: of all)."""
        first = _smallest(bound, k)
        if rows is not None:
            first = rows[first]
        exact = np.linalg.norm(self.rows[first] - q, axis=1)
        kth = np.partition(exact, k - 1)[k - 1]
        return float((kth * (1 + SLACK)) ** 2)


def terms(projected: np.ndarray, squared: np.ndarray) -> np.ndarray:
    """(rows, d + 2) float32 ``[Pv, |Rv|, (1 - ROUNDING) |v|^2]`` of centred vectors with
    projections ``projected`` (d of them) and squared norms ``squared``."""
    residual = np.sqrt(np.maximum(squared - (projected**2).sum(axis=1), 0))
    norms = (projected**2).sum(axis=1) + residual**2
    return np.column_stack([projected, residual, (1 - ROUNDING) * norms]).astype(np.float32)


def query_weights(projected: np.ndarray, squared: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per query (projections ``projected``, squared norms ``squared``, centred), the
    weights and constant that make its bounds one product with rows' ``terms``:
    ``terms @ weights[i] + offsets[i]`` is ``|Pq - Pv|^2 + (|Rq| - |Rv|)^2`` expanded, less
    its float32 rounding (where the terms cancel, the expanded bound may exceed the true
    distance by a hair; float32 sums of d + 2 terms err by far less than ROUNDING of the
    norms)."""
    residual = np.sqrt(np.maximum(squared - (projected**2).sum(axis=1), 0))
    weights = np.empty((len(projected), projected.shape[1] + 2), dtype=np.float32)
    weights[:, :-2] = -2 * projected
    weights[:, -2] = -2 * residual
    weights[:, -1] = 1
    offsets = (1 - ROUNDING) * ((projected**2).sum(axis=1) + residual**2)
    return weights, offsets.astype(np.float32)


def _smallest(bound: np.ndarray, k: int) -> np.ndarray:
    """Positions, at least ``k`` and about ``FIRST_GUESS * k`` (at least ``MIN_FIRST``),
    with small bounds, cut at a threshold read off a strided sample of ``SAMPLE`` bounds
    (no selection over every row); all of them where there are few."""
    wanted = max(FIRST_GUESS * k, MIN_FIRST)
    if len(bound) <= wanted:
        return np.arange(len(bound))
    stride = max(1, len(bound) // SAMPLE)
    sample = bound[::stride]
    rank = min(len(sample) - 1, wanted // stride)
    first = np.flatnonzero(bound <= np.partition(sample, rank)[rank])
    if len(first) < k:  # the sample fell short here: select exactly
        first = np.argpartition(bound, wanted)[:wanted]
    return first


def exact_search(
    queries: np.ndarray,
    rows: np.ndarray,
    squared_norms: np.ndarray | None,
    pruned: PrunedIndex | None,
    *,
    k: int,
    metric: Metric,
) -> tuple[np.ndarray, np.ndarray]:
    """The pruned search where it applies (euclidean over float vectors), else the plain one."""
    if pruned is not None and metric == "euclidean":
        return pruned.search(queries, k=k)
    return search(queries, rows, squared_norms, k=k, metric=metric)


class LazyPrunedIndex:
    """Builds the projection on the first search (in the thread that runs it), once."""

    def __init__(self, rows: np.ndarray, squared_norms: np.ndarray | None) -> None:
        self._rows, self._norms = rows, squared_norms
        self._lock = threading.Lock()
        self._built = False
        self._index: PrunedIndex | None = None

    def get(self) -> PrunedIndex | None:
        with self._lock:
            if not self._built:
                self._index = PrunedIndex.build(self._rows, self._norms)
                self._built = True
        return self._index
