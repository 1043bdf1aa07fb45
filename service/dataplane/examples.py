"""Examples of local datasets (``mnist-test`` index 1), with dataset errors made HTTP errors."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from core.datasets.errors import DatasetError, IndexOutOfRange, UnknownDatasetReference
from core.datasets.references import load_example
from service.errors import DatasetNotFound, InvalidInput

logger = logging.getLogger(__name__)


def dataset_example(ref: str, index: int, data_dir: Path) -> tuple[np.ndarray, int]:
    """Blocking (reads and verifies files the first time): call it in the thread pool."""
    try:
        return load_example(ref, index, data_dir)
    except UnknownDatasetReference as exc:
        raise DatasetNotFound(str(exc)) from None
    except IndexOutOfRange as exc:
        raise InvalidInput(str(exc)) from None
    except DatasetError as exc:
        # Missing or corrupt files: the details (paths, fetch commands) go to the log only.
        logger.error("dataset %s unavailable: %s", ref, exc)
        raise DatasetNotFound(f"dataset {ref!r} is not available on this server") from None
