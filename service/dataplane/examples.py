"""Examples of local datasets (``mnist-test`` index 1), with dataset errors made HTTP errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from core.datasets.errors import DatasetError, IndexOutOfRange, UnknownDatasetReference
from core.datasets.references import load_example, load_examples
from service.codecs.validate import check_batch_size
from service.errors import DatasetNotFound, InvalidInput

logger = logging.getLogger(__name__)


@contextmanager
def _as_http_errors(ref: str) -> Iterator[None]:
    try:
        yield
    except UnknownDatasetReference as exc:
        raise DatasetNotFound(str(exc)) from None
    except IndexOutOfRange as exc:
        raise InvalidInput(str(exc)) from None
    except DatasetError as exc:
        # Missing or corrupt files: the details (paths, fetch commands) go to the log only.
        logger.error("dataset %s unavailable: %s", ref, exc)
        raise DatasetNotFound(f"dataset {ref!r} is not available on this server") from None


def dataset_example(ref: str, index: int, data_dir: Path) -> tuple[np.ndarray, int]:
    """Blocking (reads and verifies files the first time): call it in the thread pool."""
    with _as_http_errors(ref):
        return load_example(ref, index, data_dir)


def dataset_examples(
    ref: str, start: int, num: int, data_dir: Path, *, max_num: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """A run of examples (fewer where the split ends) and the split's size; blocking."""
    check_batch_size(num, max_num, noun="example")
    with _as_http_errors(ref):
        return load_examples(ref, start, num, data_dir)
