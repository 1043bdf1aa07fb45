"""Exact k-nearest-neighbour search and the neighbours' vote, in plain numpy.

Shared by the trainer (which measures how often a prediction's neighbours agree with it)
and the service (``:neighbors``), so both rank neighbours the same way.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Metric = Literal["euclidean", "cosine"]
#: Queries scored together: bounds the (queries x rows) distance block to ~50 MB at 50k rows.
QUERY_CHUNK = 256
#: Rows converted to float32 and scored at a time (uint8 pixels, memory-mapped vectors).
ROW_CHUNK = 8192
#: Columns per group of the two-stage selection (``_smallest_by_groups``), used where a row
#: has at least ``GROUPED_FROM`` times k groups (k = 8 of 8,192 columns: 14x less time).
MAX_GROUP, MIN_GROUP = 64, 8
GROUPED_FROM = 4


def _top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and scores of each row's ``k`` smallest scores, smallest first (an
    equal score: the lower column first; which of equal scores at the k-th place is kept is
    unspecified)."""
    k = min(k, scores.shape[1])
    group = _group_size(scores.shape[1], k)
    if group:
        part = _smallest_by_groups(scores, k, group)
    else:
        part = np.argpartition(scores, k - 1, axis=1)[:, :k]
    chosen = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, chosen), axis=1)
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(chosen, order, axis=1)


def _group_size(columns: int, k: int) -> int:
    """The largest power of two up to ``MAX_GROUP`` that divides ``columns`` into at least
    ``GROUPED_FROM`` times ``k`` groups; 0 where none of at least ``MIN_GROUP`` does."""
    group = MAX_GROUP
    while group >= MIN_GROUP:
        if columns % group == 0 and columns >= GROUPED_FROM * group * k:
            return group
        group //= 2
    return 0


def _smallest_by_groups(scores: np.ndarray, k: int, group: int) -> np.ndarray:
    """Columns of each row's ``k`` smallest scores, unordered, selected among ``k`` groups
    of ``group`` columns instead of every column (a selection over a whole row is most of
    a large search's time). The ``k`` groups with the smallest minima hold ``k`` smallest
    scores: their minima are ``k`` scores, and every score outside them is at least its own
    group's minimum, so at least the largest of those ``k``."""
    queries, columns = scores.shape
    groups = scores.reshape(queries, columns // group, group)
    picked = np.argpartition(groups.min(axis=2), k - 1, axis=1)[:, :k]  # (queries, k)
    members = np.take_along_axis(groups, picked[:, :, None], axis=1).reshape(queries, -1)
    best = np.argpartition(members, k - 1, axis=1)[:, :k]
    group_of, offset = np.divmod(best, group)
    return np.take_along_axis(picked, group_of, axis=1) * group + offset


def search(
    queries: np.ndarray,
    rows: np.ndarray,
    squared_norms: np.ndarray | None,
    *,
    k: int,
    metric: Metric,
) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances), each (queries, k), nearest first.

    ``rows`` may be any dtype (uint8 pixels are converted chunk by chunk). Each block of
    rows keeps only its ``k`` best candidates per query, ranked by a score that orders
    like the distance but skips the per-query constant (``|v|^2 - 2 q.v`` for euclidean,
    ``-q.v / |v|`` for cosine); the true distance is computed for the survivors only.
    """
    queries = queries.reshape(len(queries), -1).astype(np.float32)
    rows = rows.reshape(len(rows), -1)
    out_i, out_d = [], []
    for start in range(0, len(queries), QUERY_CHUNK):
        q = queries[start : start + QUERY_CHUNK]
        # -2q: the product is then exactly -2 q.v (a power of two scales without rounding),
        # so the score is made in place with the same bits as |v|^2 - 2 q.v
        scaled = -2 * q if metric == "euclidean" else q
        candidates, scores = [], []
        for r0 in range(0, len(rows), ROW_CHUNK):
            block = np.asarray(rows[r0 : r0 + ROW_CHUNK], dtype=np.float32)
            if squared_norms is not None:
                norms = np.asarray(squared_norms[r0 : r0 + ROW_CHUNK], dtype=np.float32)
            else:
                norms = np.einsum("ij,ij->i", block, block)
            score = scaled @ block.T
            if metric == "euclidean":
                score += norms[None, :]
            else:  # -q.v / |v|, dividing by -|v|: the same bits
                score /= -np.maximum(np.sqrt(norms), 1e-12)[None, :]
            found, best = _top_k(score, k)
            candidates.append(found + r0)
            scores.append(best)
        if len(candidates) == 1:  # one block: its own ranking is the answer
            indices = candidates[0]
        else:
            where, _best = _top_k(np.concatenate(scores, axis=1), k)
            indices = np.take_along_axis(np.concatenate(candidates, axis=1), where, axis=1)
        out_i.append(indices)
        out_d.append(_exact_distances(q, rows, indices, metric))
    return np.concatenate(out_i), np.concatenate(out_d)


def _exact_distances(
    q: np.ndarray, rows: np.ndarray, indices: np.ndarray, metric: Metric
) -> np.ndarray:
    """Distances to the chosen rows computed directly: the expanded form's float32
    cancellation would leave an example ~1e-3 from itself."""
    chosen = np.asarray(rows[indices.ravel()], dtype=np.float32).reshape(*indices.shape, -1)
    if metric == "euclidean":
        return np.linalg.norm(chosen - q[:, None, :], axis=2)
    dots = np.einsum("qkd,qd->qk", chosen, q)
    scale = np.linalg.norm(chosen, axis=2) * np.linalg.norm(q, axis=1)[:, None]
    return 1.0 - dots / np.maximum(scale, 1e-12)


def vote(labels: np.ndarray, num_classes: int) -> tuple[int, float]:
    """The neighbours' majority class (lowest id on a tie) and its share of the votes."""
    counts = np.bincount(labels, minlength=num_classes)
    winner = int(counts.argmax())
    return winner, float(counts[winner] / max(len(labels), 1))
