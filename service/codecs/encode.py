"""The way back: arrays to bytes or JSON-ready lists (clients and tests use these too)."""

from __future__ import annotations

import io

import numpy as np


def encode_npy(array: np.ndarray) -> bytes:
    """``.npy`` bytes of ``array``, never pickled (the format :func:`decode_npy` reads)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def to_lists(array: np.ndarray, *, decimals: int | None = None) -> list:
    """Nested Python lists of floats; ``decimals`` rounds to keep JSON bodies small."""
    values = np.asarray(array, dtype=np.float64)
    if decimals is not None:
        values = np.round(values, decimals)
    return values.tolist()
