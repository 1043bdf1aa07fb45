"""A version's out-of-distribution calibration in memory, opened on first use.

The thresholds come from the manifest's ``OodRecord``; the Mahalanobis parameters from the
version's ``ood/`` folder, checked against the record's checksum before they are used, and
the train split's neighbour index (``knn``) from the version's ``IndexShelf``, so it is
mapped once whichever feature asks first; where ``knn`` searches a position-averaged feature
map, that space's split vectors come from ``ood/`` too (small: 64 floats a row), checked.
Nothing here is read from a path a request names.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np

from core.manifest import OOD_DIR, OOD_MAHALANOBIS_FILE, OodRecord, ood_knn_file


class CorruptCalibration(Exception):
    """A calibration file does not match its manifest record."""


class OodShelf:
    def __init__(self, version_dir: Path, record: OodRecord | None) -> None:
        self._dir = version_dir
        self.record = record
        self._params: np.ndarray | None = None
        self._knn: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    def mahalanobis_params(self) -> np.ndarray:
        """Blocking on first use: (C + D, D) class means then shared precision."""
        with self._lock:
            if self._params is None:
                if self.record is None:
                    raise CorruptCalibration("this version has no ood calibration")
                path = self._dir / OOD_DIR / OOD_MAHALANOBIS_FILE
                data = path.read_bytes()
                if hashlib.sha256(data).hexdigest() != self.record.mahalanobis_sha256:
                    raise CorruptCalibration(f"{path.name} does not match its manifest checksum")
                self._params = np.load(path, allow_pickle=False)
            return self._params

    def knn_vectors(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Blocking on first use: ``split``'s vectors in a pooled ``knn`` space and their
        squared norms."""
        with self._lock:
            if split not in self._knn:
                expected = self.record.knn_files.get(split) if self.record else None
                if expected is None:
                    raise CorruptCalibration(f"no pooled knn vectors of {split} are recorded")
                path = self._dir / OOD_DIR / ood_knn_file(split)
                data = path.read_bytes()
                if hashlib.sha256(data).hexdigest() != expected:
                    raise CorruptCalibration(f"{path.name} does not match its manifest checksum")
                vectors = np.load(path, allow_pickle=False).astype(np.float32, copy=False)
                self._knn[split] = (vectors, np.einsum("ij,ij->i", vectors, vectors))
            return self._knn[split]
