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


def _top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and scores of each row's ``k`` smallest scores, smallest first."""
    k = min(k, scores.shape[1])
    part = np.argpartition(scores, k - 1, axis=1)[:, :k]
    chosen = np.take_along_axis(scores, part, axis=1)
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
        candidates, scores = [], []
        for r0 in range(0, len(rows), ROW_CHUNK):
            block = np.asarray(rows[r0 : r0 + ROW_CHUNK], dtype=np.float32)
            if squared_norms is not None:
                norms = np.asarray(squared_norms[r0 : r0 + ROW_CHUNK], dtype=np.float32)
            else:
                norms = np.einsum("ij,ij->i", block, block)
            dots = q @ block.T
            if metric == "euclidean":
                score = norms[None, :] - 2 * dots
            else:
                score = -dots / np.maximum(np.sqrt(norms), 1e-12)[None, :]
            found, best = _top_k(score, k)
            candidates.append(found + r0)
            scores.append(best)
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
