"""The ``robustness`` evaluation: how a digits model reads handwriting unlike MNIST's pixels.

For every model of the ``digits`` task, one row per held-out robustness set
(``core.datasets.robustness``: ``canvas``, digits drawn on the page's pad, and ``writers``,
other people's handwriting), with what the test evaluation stores: accuracy, loss,
per-class accuracy, confusion matrix and the confidence histograms. Computed through the
version's SavedModel ``predict`` endpoint, like every stored number, so it describes what
the service serves. Versions trained before this evaluation existed gain it from the next
``layerlens-train train`` (``training.pipeline`` calls ``ensure`` on every version it
passes), without retraining. The sets are only ever scored on, never fitted on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from sqlalchemy import Engine

from core.datasets import ROBUSTNESS_SETS, robustness_set
from core.datasets.robustness import ROBUSTNESS_TASK
from core.db import KIND_ROBUSTNESS, store
from core.manifest import SAVED_MODEL_DIR
from training import evaluate
from training.recipes import ModelSpec


def applies_to(spec: ModelSpec) -> bool:
    return spec.task.name == ROBUSTNESS_TASK


def reports(
    version_dir: Path, num_classes: int, data_dir: Path, names: tuple[str, ...] = ROBUSTNESS_SETS
) -> dict[str, dict[str, Any]]:
    """Per set name, the test-style report of the version's SavedModel on that set."""
    loaded = tf.saved_model.load(str(version_dir / SAVED_MODEL_DIR))
    found = {}
    for name in names:
        held_out = robustness_set(name, data_dir)
        outputs = evaluate.run_endpoint(loaded.predict, held_out.x.astype(np.float32))
        report = evaluate.test_report(outputs, held_out.y.astype(np.int64), num_classes)
        report["sha256"] = dict(held_out.sha256)
        found[name] = report
    return found


def ensure(
    spec: ModelSpec, version: int, version_dir: Path, data_dir: Path, engine: Engine
) -> None:
    """Store the sets' rows this version lacks (nothing for models of other tasks)."""
    if not applies_to(spec):
        return
    missing = tuple(
        name
        for name in ROBUSTNESS_SETS
        if not store.has_evaluation(engine, spec.name, version, KIND_ROBUSTNESS, name)
    )
    if not missing:
        return
    found = reports(version_dir, len(spec.task.class_names), data_dir, missing)
    store.save_reports(engine, spec.name, version, KIND_ROBUSTNESS, found)
