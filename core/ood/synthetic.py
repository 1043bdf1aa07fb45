"""Synthetic far-out inputs: what no trained model should call in-distribution.

Made from the input contract alone (shape and value range), seeded, so the trainer can
choose a version's default method on validation-vs-synthetic and evaluate on
test-vs-synthetic without any other dataset.
"""

from __future__ import annotations

import numpy as np

from core.manifest import InputSpec

#: The kinds, in the order their rows are stacked.
KINDS = ("uniform-noise", "gaussian-noise", "blank", "inverted")


def synthetic(
    spec: InputSpec, base: np.ndarray, per_kind: int, *, seed: int
) -> dict[str, np.ndarray]:
    """``per_kind`` inputs of each of ``KINDS`` in ``spec``'s range: uniform noise over the
    range, Gaussian noise around its middle (sd a quarter of the range, clipped), blank
    (every value at the range's low end: an empty canvas), and the first ``per_kind`` of
    ``base`` inverted (``low + high - x``)."""
    low, high = spec.value_range
    shape = (per_kind, *spec.shape)
    rng = np.random.default_rng(seed)
    middle, spread = (low + high) / 2, (high - low) / 4
    gaussian = np.clip(rng.normal(middle, spread, size=shape), low, high)
    inverted = low + high - np.asarray(base[:per_kind], dtype=np.float32).reshape(-1, *spec.shape)
    return {
        "uniform-noise": rng.uniform(low, high, size=shape).astype(np.float32),
        "gaussian-noise": gaussian.astype(np.float32),
        "blank": np.full(shape, low, dtype=np.float32),
        "inverted": inverted.astype(np.float32),
    }
