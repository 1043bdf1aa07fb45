"""The examples of one confusion-matrix cell: the query checked against the model, the
stored page (``core.db.get_cell``) turned into the route's answer.

A page holds at most ``MAX_CELL_EXAMPLES`` examples: indices and probabilities (a few
kilobytes), and with ``instances=true`` each example's input as the dataset route serves it,
so a client draws a page of thumbnails with one request rather than one per example (the
page's first version made 49 requests a page: slower, and each one a chance to be dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.db import PredictionCell
from service.dataplane.examples import dataset_example
from service.errors import InvalidInput, PredictionsNotFound
from service.features.metrics.answers import CellPage

#: The most examples one page answers (``num``); the page asks for 48.
MAX_CELL_EXAMPLES = 500
DEFAULT_CELL_EXAMPLES = 48


def check_cell_query(num_classes: int, true_class: int, predicted_class: int, num: int) -> None:
    for name, value in (("true", true_class), ("predicted", predicted_class)):
        if not 0 <= value < num_classes:
            raise InvalidInput(
                f"{name}={value} is not a class of this model: classes are 0 to {num_classes - 1}"
            )
    if not 1 <= num <= MAX_CELL_EXAMPLES:
        raise InvalidInput(f"num must be from 1 to {MAX_CELL_EXAMPLES}, got {num}")


def cell_answer(model: str, version: int, cell: PredictionCell | None) -> CellPage:
    """The route's JSON, or 404 when nothing is stored, or 400 for a start past the cell."""
    if cell is None:
        raise PredictionsNotFound(
            f"no per-example test predictions are stored for {model} v{version}: the trainer "
            "adds them to versions trained before they existed (run `make run` or "
            "`layerlens-train train`)"
        )
    if cell.start > 0 and cell.start >= cell.total:
        raise InvalidInput(
            f"start={cell.start} is past the cell's last example: it holds {cell.total} "
            f"(start from 0 to {max(cell.total - 1, 0)})"
        )
    return {
        "model": model,
        "version": version,
        "dataset": cell.dataset,
        "true": cell.true_class,
        "predicted": cell.predicted_class,
        "total": cell.total,
        "start": cell.start,
        "indices": list(cell.examples),
        "labels": [cell.true_class] * len(cell.examples),
        "probability": list(cell.probabilities),
    }


def cell_instances(ref: str, indices: Sequence[int], data_dir: Path) -> list[np.ndarray]:
    """The inputs of a page's examples; blocking (reads the split's files): thread pool."""
    return [dataset_example(ref, index, data_dir)[0] for index in indices]
