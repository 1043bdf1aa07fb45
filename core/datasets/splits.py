"""Seeded, reproducible splits. Index arrays come back sorted, so every split keeps the
source's order (``mnist-test`` index 1 is the file's example 1, as in the reports)."""

from __future__ import annotations

import numpy as np

#: MNIST-style: the last 10k of a seeded permutation of the 60k training set validate.
IDX_VALIDATION_SIZE = 10_000
SKLEARN_TEST_FRACTION = 0.2
SKLEARN_VALIDATION_FRACTION = 0.1
XOR_TEST_FRACTION = 0.2
XOR_VALIDATION_FRACTION = 0.2


def holdout(n: int, holdout_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(n)`` into (kept, held out) by a seeded permutation."""
    if not 0 < holdout_size < n:
        raise ValueError(f"holdout size {holdout_size} must be between 1 and {n - 1}")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[holdout_size:]), np.sort(order[:holdout_size])


def stratified(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split indices of ``labels`` into (kept, held out), holding out ``fraction`` of every
    class (rounded), so small imbalanced sets keep their class balance in both parts."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction {fraction} must be between 0 and 1")
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        take = round(len(members) * fraction)
        held.append(rng.permutation(members)[:take])
    held_out = np.sort(np.concatenate(held))
    kept = np.setdiff1d(np.arange(len(labels)), held_out, assume_unique=True)
    return kept, held_out
