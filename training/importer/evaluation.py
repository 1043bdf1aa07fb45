"""After an import with data: the stored evaluation and the artefacts a trained version has.

The same calls the trainer makes (``training.evaluate``, ``training.predictions``,
``training.neighbors``), on the imported version's own SavedModel; a task's data also gets
the neighbour indexes and, for images, the neighbour-agreement evaluation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf
from sqlalchemy import Engine

from core import datasets
from core.db import KIND_AGREEMENT, begin_write, store
from core.manifest import SAVED_MODEL_DIR, Manifest
from training import agreement, evaluate, neighbors
from training.importer.data import ImportData
from training.predictions import SplitPredictions


def _shaped(split: datasets.Split, manifest: Manifest) -> datasets.Split:
    x = np.asarray(split.x, dtype=np.float32).reshape(len(split.x), *manifest.input.shape)
    return datasets.Split(x=x, y=np.asarray(split.y, dtype=np.int64))


def store_evaluations(manifest: Manifest, path: Path, data: ImportData, engine: Engine) -> float:
    """Evaluate on ``data`` and store it all; return the test accuracy."""
    loaded = tf.saved_model.load(str(path / SAVED_MODEL_DIR))
    test = _shaped(data.test, manifest)
    outputs = evaluate.run_endpoint(loaded.predict, test.x)
    ref = f"{data.name}-test"
    report = evaluate.test_report(outputs, test.y, manifest.num_classes)
    items = [store.EvaluationItem(kind="test", dataset=ref, data=report)]
    if data.train is not None:
        train = _shaped(data.train, manifest)
        fitted = evaluate.accuracy_and_loss(evaluate.run_endpoint(loaded.predict, train.x), train.y)
        items.append(store.EvaluationItem(kind="train", dataset=f"{data.name}-train", data=fitted))
    store.save_model_version(engine, manifest)
    with begin_write(engine) as connection:
        store.write_evaluations(connection, manifest.name, manifest.version, items)
        SplitPredictions.from_outputs(ref, outputs, test.y).write(
            connection, manifest.name, manifest.version
        )
    if data.dataset is not None:
        _task_artefacts(manifest, path, data.dataset, engine)
    return float(items[0].data["accuracy"])


def _task_artefacts(
    manifest: Manifest, path: Path, dataset: datasets.Dataset, engine: Engine
) -> None:
    shaped = datasets.Dataset(
        name=dataset.name,
        class_names=dataset.class_names,
        train=_shaped(dataset.train, manifest),
        validation=_shaped(dataset.validation, manifest),
        test=_shaped(dataset.test, manifest),
        seed=dataset.seed,
        sha256=dataset.sha256,
    )
    updated = neighbors.add_indexes(path, shaped, relabel=lambda y: y)
    if updated.input.kind != "image":
        return
    ref = f"{dataset.name}-test"
    reports = agreement.agreement_reports(updated, path, {ref: (shaped.test.x, shaped.test.y)})
    store.save_reports(engine, manifest.name, manifest.version, KIND_AGREEMENT, reports)
