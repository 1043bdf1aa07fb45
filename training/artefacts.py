"""Writing a version's per-version artefact files (neighbour indexes, maps, the
out-of-distribution calibration): the bytes the manifest records a checksum of, each file
written whole or not at all, so a reader never sees half a file."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np


def npy_bytes(array: np.ndarray) -> bytes:
    """The ``.npy`` file of ``array`` (no pickles), to checksum and write in one go."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def write_atomically(path: Path, data: bytes) -> str:
    """Write ``data`` beside ``path`` then rename it into place; returns its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return hashlib.sha256(data).hexdigest()
