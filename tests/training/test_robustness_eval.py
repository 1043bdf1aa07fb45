"""A version stored before the ``robustness`` evaluation existed gains it on the next run,
without retraining, and the rows equal a recomputation from its SavedModel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf
from sqlalchemy import Engine, delete

from core.datasets import ROBUSTNESS_SETS, load_robustness
from core.db import KIND_ROBUSTNESS, begin_write, get_evaluations
from core.db.schema import Evaluation
from core.manifest import SAVED_MODEL_DIR
from tests.fixtures.models import ModelRepository
from tests.service.helpers import copy_versions
from tests.training.helpers import rerun
from training.recipes import get_spec


def test_an_older_version_gains_the_robustness_evaluation_without_retraining(
    model_repository: ModelRepository, tmp_path: Path, engine: Engine
) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"digits": [1]})
    with begin_write(engine) as connection:  # as before this change: none stored
        connection.execute(delete(Evaluation).where(Evaluation.kind == KIND_ROBUSTNESS))
    outcome = rerun(
        get_spec("digits"),
        models_dir=models_dir,
        engine=engine,
        data_dir=model_repository.data_dir,
    )
    rows = {r.dataset: r.data for r in get_evaluations(engine, "digits", 1, KIND_ROBUSTNESS)}
    assert outcome.status == "skipped"
    assert set(rows) == set(ROBUSTNESS_SETS)
    loaded = tf.saved_model.load(str(models_dir / "digits" / "1" / SAVED_MODEL_DIR))
    for name in ROBUSTNESS_SETS:
        x, y = load_robustness(name, model_repository.data_dir)
        probabilities = loaded.predict(tf.constant(x, tf.float32))["probabilities"].numpy()
        predicted = probabilities.argmax(axis=1)
        assert rows[name]["accuracy"] == float((predicted == y).mean())
        per_class = [float((predicted[y == c] == c).mean()) for c in range(10)]
        np.testing.assert_allclose(rows[name]["per_class_accuracy"], per_class)
