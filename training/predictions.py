"""Per-example test predictions: which test examples fall in each confusion-matrix cell.

The trainer writes them in the same transaction as the ``test`` evaluation they break
down, from the same model outputs, so each cell's count is the matrix's entry. Versions
evaluated before they existed get them from the next run (``add_missing``), without
retraining: the SavedModel is run on the test split again, exactly as at evaluation, and
the rows are stored only if their confusion matrix equals the stored one (it does when
nothing changed; it would not for a version evaluated on another split, e.g. an XOR model
trained with another split seed, whose examples the service's ``xor-test`` does not
number).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from sqlalchemy import Connection, Engine

from core import datasets
from core.datasets.loading import DEFAULT_SEED
from core.db import KIND_TEST, begin_write, get_evaluations, has_predictions, write_predictions
from core.manifest import PROBABILITIES_LAYER, SAVED_MODEL_DIR
from training import evaluate

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitPredictions:
    """Example ``i`` of ``dataset`` had class ``true[i]`` and was predicted ``predicted[i]``
    with probability ``probability[i]``."""

    dataset: str
    true: np.ndarray
    predicted: np.ndarray
    probability: np.ndarray

    @classmethod
    def from_outputs(
        cls, dataset: str, outputs: dict[str, np.ndarray], y: np.ndarray
    ) -> SplitPredictions:
        probabilities = outputs[PROBABILITIES_LAYER]
        return cls(dataset, np.asarray(y), probabilities.argmax(axis=1),
                   probabilities.max(axis=1))  # fmt: skip

    def confusion(self, num_classes: int) -> np.ndarray:
        matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
        np.add.at(matrix, (self.true, self.predicted), 1)
        return matrix

    def write(self, connection: Connection, model: str, version: int) -> int:
        """Inside the caller's transaction (the one writing the test evaluation)."""
        return write_predictions(connection, model, version, self.dataset, self.true,
                                 self.predicted, self.probability)  # fmt: skip


def is_served_split(name: str, split: datasets.Split, seed: int, data_dir: Path) -> bool:
    """Whether ``split`` (the test split loaded with ``seed``) is the one the service's
    ``{name}-test`` reference numbers: its examples' indices are only meaningful then."""
    if seed == DEFAULT_SEED:
        return True
    served = datasets.load_split(name, "test", data_dir)
    return np.array_equal(served.y, split.y) and np.array_equal(served.x, split.x)


def add_missing(
    model: str,
    version: int,
    version_dir: Path,
    test: datasets.Split,
    dataset: str,
    engine: Engine,
) -> bool:
    """Store the predictions of an evaluated version that has none on ``dataset`` (its
    ``test`` split as the service numbers it, labels in the task's classes); True if it
    wrote them. Nothing is run when they are stored or the version is not evaluated."""
    if has_predictions(engine, model, version, dataset):
        return False
    stored = [r for r in get_evaluations(engine, model, version, KIND_TEST) if r.dataset == dataset]
    if not stored:
        return False
    expected = np.asarray(stored[0].data["confusion_matrix"], dtype=np.int64)
    loaded = tf.saved_model.load(str(version_dir / SAVED_MODEL_DIR))
    outputs = evaluate.run_endpoint(loaded.predict, test.x.astype(np.float32))
    predictions = SplitPredictions.from_outputs(dataset, outputs, test.y)
    if len(test.y) != expected.sum() or not np.array_equal(
        predictions.confusion(len(expected)), expected
    ):
        logger.warning(
            "%s v%d: its %s predictions now differ from its stored test evaluation "
            "(evaluated on another split, or by another build of TensorFlow); not stored",
            model, version, dataset,
        )  # fmt: skip
        return False
    with begin_write(engine) as connection:
        predictions.write(connection, model, version)
    logger.info("%s v%d: stored %d %s predictions", model, version, len(test.y), dataset)
    return True
