"""Loading datasets and their splits as numpy arrays.

Splits: MNIST and Fashion-MNIST keep their 10k test files as ``test`` and split the 60k
training files 50k/10k into ``train``/``validation`` by a seeded permutation;
sklearn-digits holds out a stratified 20% as ``test`` then 10% of the rest as
``validation``; XOR holds out 20% then 20% of the rest. Loading a test split reads only
the test files, so a service that only shows test examples never reads the 60k set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.datasets import splits
from core.datasets.errors import UnknownDatasetReference
from core.datasets.facts import (
    CLASS_NAMES,
    FILES,
    SKLEARN_DIGITS_SPECS,
    SOURCES,
    SPLITS,
    check_name,
    idx_specs,
)
from core.datasets.generated import sklearn_digits, xor_points
from core.datasets.verify import array_sha256, load_verified
from core.manifest import DatasetRecord

DEFAULT_SEED = 0


@dataclass(frozen=True)
class Split:
    """One split: ``x`` (N, ...) inputs and ``y`` (N,) uint8 class ids. Read-only arrays."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Dataset:
    name: str
    class_names: tuple[str, ...]
    train: Split
    validation: Split
    test: Split
    seed: int = DEFAULT_SEED
    sha256: dict[str, str] = field(default_factory=dict)

    def split(self, name: str) -> Split:
        return {"train": self.train, "validation": self.validation, "test": self.test}[name]

    def record(self) -> DatasetRecord:
        """What a manifest stores to pin this data: source, checksums, split sizes."""
        return DatasetRecord(
            name=self.name,
            source=f"{SOURCES[self.name].record}; split seed {self.seed}",
            sha256=dict(self.sha256),
            split={name: len(self.split(name)) for name in SPLITS},
        )


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise UnknownDatasetReference(f"unknown split {split!r}; splits: {', '.join(SPLITS)}")
    return split


def split_pool(
    name: str, split: str, data_dir: Path, seed: int = DEFAULT_SEED
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The arrays a split is drawn from and the rows it takes (None: all of them).

    Lets callers that need one example index the shared arrays without copying a split.
    """
    check_name(name)
    check_split(split)
    if name in FILES:
        images, labels = idx_specs(name, "t10k" if split == "test" else "train")
        x, y = load_verified(data_dir, images), load_verified(data_dir, labels)
        if split == "test":
            return x, y, None
        kept, held = _idx_validation_holdout(len(y), seed)
        return x, y, kept if split == "train" else held
    x, y = sklearn_digits() if name == "sklearn-digits" else xor_points(seed)
    train, validation, test = _three_way(name, seed)
    return x, y, {"train": train, "validation": validation, "test": test}[split]


def load_split(name: str, split: str, data_dir: Path, *, seed: int = DEFAULT_SEED) -> Split:
    x, y, rows = split_pool(name, split, Path(data_dir), seed)
    if rows is None:
        return Split(x, y)
    return Split(_frozen(x[rows]), _frozen(y[rows]))


def load_dataset(name: str, data_dir: Path, *, seed: int = DEFAULT_SEED) -> Dataset:
    """All three splits of a dataset, with the checksums that pin it."""
    check_name(name)
    parts = {split: load_split(name, split, Path(data_dir), seed=seed) for split in SPLITS}
    return Dataset(
        name=name,
        class_names=CLASS_NAMES[name],
        train=parts["train"],
        validation=parts["validation"],
        test=parts["test"],
        seed=seed,
        sha256=_checksums(name, seed),
    )


def _checksums(name: str, seed: int) -> dict[str, str]:
    # Arrays loaded through load_verified / sklearn_digits match the sums in core.datasets.facts.
    if name in FILES:
        return {spec.key: spec.sha256 for spec in FILES[name]}
    if name == "sklearn-digits":
        return {spec.key: spec.sha256 for spec in SKLEARN_DIGITS_SPECS}
    x, y = xor_points(seed)
    return {"x": array_sha256(x), "y": array_sha256(y)}


@lru_cache(maxsize=8)
def _idx_validation_holdout(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return splits.holdout(n, splits.IDX_VALIDATION_SIZE, seed)


@lru_cache(maxsize=8)
def _three_way(name: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if name == "sklearn-digits":
        _, y = sklearn_digits()
        test_fraction, validation_fraction = (
            splits.SKLEARN_TEST_FRACTION,
            splits.SKLEARN_VALIDATION_FRACTION,
        )
    else:
        _, y = xor_points(seed)
        test_fraction, validation_fraction = (
            splits.XOR_TEST_FRACTION,
            splits.XOR_VALIDATION_FRACTION,
        )
    rest, test = splits.stratified(y, test_fraction, seed)
    kept, held = splits.stratified(y[rest], validation_fraction, seed)
    return rest[kept], rest[held], test


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array
