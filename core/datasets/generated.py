"""The two datasets that need no fetching: scikit-learn's bundled digits and seeded XOR."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from core.datasets.errors import DatasetMissing
from core.datasets.facts import SKLEARN_DIGITS_SPECS, SOURCES
from core.datasets.verify import check_array

XOR_POINTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_LABELS = np.array([0, 1, 1, 0], dtype=np.uint8)
XOR_REPEATS = 200
XOR_NOISE_SIGMA = 0.3
SKLEARN_DIGITS_SHAPE = (8, 8)


@lru_cache(maxsize=1)
def sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """(images float32 (1797, 8, 8) in 0-16, labels uint8), verified against core.datasets.facts.

    scikit-learn is imported here only: the client and service do not need it otherwise.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        source = SOURCES["sklearn-digits"]
        raise DatasetMissing(
            f"the sklearn-digits dataset needs the {source.package}: run `{source.command}`"
        ) from None
    bunch = load_digits()
    data = bunch.data.astype(np.uint8)
    target = bunch.target.astype(np.uint8)
    data_spec, target_spec = SKLEARN_DIGITS_SPECS
    check_array(data, data_spec, where="scikit-learn's load_digits().data")
    check_array(target, target_spec, where="scikit-learn's load_digits().target")
    images = data.reshape(-1, *SKLEARN_DIGITS_SHAPE).astype(np.float32)
    return _frozen(images), _frozen(target)


@lru_cache(maxsize=4)
def xor_points(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The 4 XOR points tiled 200 times plus Gaussian noise (sigma 0.3): float32 (800, 2)."""
    rng = np.random.default_rng(seed)
    clean = np.tile(XOR_POINTS, (XOR_REPEATS, 1))
    noise = rng.normal(0.0, XOR_NOISE_SIGMA, size=clean.shape)
    x = (clean + noise).astype(np.float32)
    y = np.tile(XOR_LABELS, XOR_REPEATS)
    return _frozen(x), _frozen(y)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array
