"""The data an import is measured on: a task's splits or the user's own ``.npz`` files.

With data, the import gets what a trained version gets from it: the stored test evaluation
(accuracy, per class, confusion, confidence histograms), the per-example test predictions
and, for a task, the nearest-neighbour indexes. Without, the version still serves, and the
routes that need data answer that it has none.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import datasets
from core.manifest import DatasetRecord, InputSpec
from training.importer.errors import ImportRefused


@dataclass(frozen=True)
class ImportData:
    """``test`` (and maybe ``train``) in the task's layout; ``dataset`` is the task's loaded
    dataset (None for a user's files), ``name`` what stored evaluations call it."""

    name: str
    test: datasets.Split
    train: datasets.Split | None = None
    dataset: datasets.Dataset | None = None
    source: str = ""

    def check(self, spec: InputSpec, num_classes: int) -> None:
        for split_name, split in (("test", self.test), ("train", self.train)):
            if split is None:
                continue
            if split.x.shape[0] == 0 or int(np.prod(split.x.shape[1:])) != spec.size:
                raise ImportRefused(
                    f"{split_name} data: x has shape {split.x.shape}; the model takes "
                    f"(n, {', '.join(map(str, spec.shape))})"
                )
            if (
                split.y.shape != (split.x.shape[0],)
                or split.y.min() < 0
                or (split.y.max() >= num_classes)
            ):
                raise ImportRefused(
                    f"{split_name} data: y must hold one class id in 0..{num_classes - 1} "
                    "per row of x"
                )

    def record(self) -> DatasetRecord:
        if self.dataset is not None:
            return self.dataset.record()
        splits = {"test": self.test, **({"train": self.train} if self.train else {})}
        return DatasetRecord(
            name=self.name,
            source=self.source,
            sha256={
                f"{k}_{part}": hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
                for k, s in splits.items()
                for part, a in (("x", s.x), ("y", s.y))
            },
            split={k: len(s.y) for k, s in splits.items()},
        )


def from_task(dataset: str, data_dir: Path) -> ImportData:
    try:
        data = datasets.load_dataset(dataset, data_dir)
    except datasets.DatasetError as err:
        raise ImportRefused(err.message) from None
    return ImportData(name=dataset, test=data.test, train=data.train, dataset=data)


def _npz(path: Path, which: str) -> datasets.Split:
    try:
        with np.load(path, allow_pickle=False) as f:
            x, y = np.asarray(f["x"], dtype=np.float32), np.asarray(f["y"]).astype(np.int64)
    except (OSError, KeyError, ValueError) as err:
        message = f"--{which}-data {path.name}: need an .npz with arrays x and y ({err})"
        raise ImportRefused(message) from None
    return datasets.Split(x=x, y=y)


def from_files(test: Path, train: Path | None) -> ImportData:
    """A user's ``.npz`` files (arrays ``x`` and ``y``), named after the test file."""
    stem = "".join(c if c.isalnum() else "-" for c in test.stem.lower()).strip("-") or "user"
    return ImportData(
        name=f"user-{stem}",
        test=_npz(test, "test"),
        train=_npz(train, "train") if train else None,
        source=f"{test.name}" + (f" + {train.name}" if train else ""),
    )
