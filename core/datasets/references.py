"""Dataset references: ``<name>-<split>`` (``mnist-test``), with an index for one example
(``{"dataset": "mnist-test", "index": 1}`` over HTTP, ``mnist-test:1`` on the command line).
"""

from __future__ import annotations

import operator
from pathlib import Path

import numpy as np

from core.datasets.errors import DatasetMissing, IndexOutOfRange, UnknownDatasetReference
from core.datasets.facts import DATASET_NAMES, FILES, SPLITS, idx_specs
from core.datasets.loading import DEFAULT_SEED, split_pool
from core.datasets.verify import refetch_hint, spec_path

REFERENCES = tuple(f"{name}-{split}" for name in DATASET_NAMES for split in SPLITS)


def resolve_reference(ref: str, data_dir: Path | None = None) -> tuple[str, str]:
    """``"mnist-test"`` -> ``("mnist", "test")``.

    With ``data_dir``, also check that the split's files are there (no reading or hashing),
    so a caller can tell "no such dataset" from "not fetched on this machine".
    """
    if not isinstance(ref, str) or ref not in REFERENCES:
        raise UnknownDatasetReference(
            f"unknown dataset reference {ref!r}: expected <dataset>-<split>, one of "
            f"{', '.join(REFERENCES)}"
        )
    name, split = ref.rsplit("-", 1)
    if data_dir is not None and name in FILES:
        for spec in idx_specs(name, "t10k" if split == "test" else "train"):
            path = spec_path(Path(data_dir), spec)
            if not path.is_file():
                raise DatasetMissing(f"{name} file {path} is missing: {refetch_hint(name)}.")
    return name, split


def parse_example_reference(text: str) -> tuple[str, int]:
    """``"mnist-test:1"`` -> ``("mnist-test", 1)`` (the command-line form)."""
    ref, sep, index = text.rpartition(":")
    if not sep or not index.strip().isdigit():
        raise UnknownDatasetReference(
            f"{text!r} is not an example reference: expected <dataset>-<split>:<index>, "
            "e.g. mnist-test:1"
        )
    resolve_reference(ref)
    return ref, int(index)


def _position(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise IndexOutOfRange(f"{what} must be an integer, got {value!r}")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise IndexOutOfRange(f"{what} must be an integer, got {value!r}") from None


def load_example(
    ref: str, index: int, data_dir: Path, *, seed: int = DEFAULT_SEED
) -> tuple[np.ndarray, int]:
    """One example of a split: (its input, read-only, e.g. uint8 (28, 28); its class id)."""
    x, y, _ = load_examples(ref, index, 1, data_dir, seed=seed, what="index")
    return x[0], int(y[0])


def load_examples(
    ref: str,
    start: int,
    num: int,
    data_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    what: str = "start",
) -> tuple[np.ndarray, np.ndarray, int]:
    """Examples ``start`` to ``start + num - 1`` of a split, fewer where it ends.

    Returns (inputs, class ids, the split's size); ``start`` must lie inside the split.
    """
    name, split = resolve_reference(ref, data_dir)
    position, count = _position(start, what), _position(num, "num")
    if count < 1:
        raise IndexOutOfRange(f"num must be at least 1, got {count}")
    x, y, rows = split_pool(name, split, Path(data_dir), seed)
    size = len(y) if rows is None else len(rows)
    if not 0 <= position < size:
        raise IndexOutOfRange(f"{what} {position} is out of range for {ref}: 0 to {size - 1}")
    stop = min(position + count, size)
    picked = slice(position, stop) if rows is None else rows[position:stop]
    return x[picked], y[picked].astype(np.int64), size
