"""Per-example test predictions: stored with the test evaluation, added to versions
evaluated before by the next run (without retraining), and never written twice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, event

from core import datasets
from core.db import (
    KIND_TEST,
    begin_write,
    get_cell,
    get_evaluations,
    has_predictions,
    make_engine,
    save_evaluations,
)
from core.db.schema import ExamplePrediction
from tests.fixtures.models import ModelRepository
from tests.service.helpers import copy_versions
from tests.training.helpers import rerun
from training.predictions import add_missing
from training.recipes import get_spec


def _confusion_from_rows(engine: Engine, model: str, version: int, classes: int) -> np.ndarray:
    matrix = np.zeros((classes, classes), dtype=np.int64)
    for t in range(classes):
        for p in range(classes):
            cell = get_cell(engine, model, version, true_class=t, predicted_class=p, num=0)
            assert cell is not None
            matrix[t, p] = cell.total
    return matrix


@pytest.mark.parametrize(
    ("model", "version"), [("digits", 1), ("digits", 2), ("fashion", 1), ("xor", 1),
                           ("sklearn-digits", 1)],
)  # fmt: skip
def test_stored_predictions_add_up_to_the_stored_confusion_matrix(
    model_repository: ModelRepository, model: str, version: int
) -> None:
    engine = make_engine(model_repository.database_url)
    try:
        (test,) = get_evaluations(engine, model, version, KIND_TEST)
        expected = np.asarray(test.data["confusion_matrix"])
        found = _confusion_from_rows(engine, model, version, len(expected))
        cell = get_cell(engine, model, version, true_class=0, predicted_class=0, num=5)
    finally:
        engine.dispose()
    np.testing.assert_array_equal(found, expected)
    assert found.sum() == test.data["num_examples"]
    assert cell is not None and cell.dataset == test.dataset
    split = datasets.load_split(test.dataset.removesuffix("-test"), "test",
                                model_repository.data_dir)  # fmt: skip
    assert all(split.y[i] == 0 for i in cell.examples)  # indices number the served split


def _run_recording_writes(engine: Engine, models_dir: Path, data_dir: Path) -> tuple[str, list]:
    """One run of the pipeline over digits; its status and its writes to the predictions."""
    seen: list[str] = []

    def remember(*args: object) -> None:
        statement = str(args[2]).lstrip().upper()
        if "EXAMPLE_PREDICTIONS" in statement and not statement.startswith("SELECT"):
            seen.append(statement[:60])

    event.listen(engine, "before_cursor_execute", remember)
    try:
        outcome = rerun(get_spec("digits"), models_dir, engine, data_dir)
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    return outcome.status, seen


def test_a_run_adds_predictions_to_an_older_version_once(
    model_repository: ModelRepository, tmp_path: Path, engine: Engine
) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"digits": [1]})
    with begin_write(engine) as connection:  # as before this change: none stored
        connection.execute(ExamplePrediction.__table__.delete())
    runs = [_run_recording_writes(engine, models_dir, model_repository.data_dir)
            for _ in range(2)]  # fmt: skip
    (test,) = get_evaluations(engine, "digits", 1, KIND_TEST)
    found = _confusion_from_rows(engine, "digits", 1, 10)
    assert [status for status, _ in runs] == ["skipped", "skipped"]  # never retrained
    assert runs[0][1], "the first run wrote no predictions"
    assert runs[1][1] == [], "the second run wrote again"
    np.testing.assert_array_equal(found, test.data["confusion_matrix"])


def test_predictions_that_disagree_with_the_stored_matrix_are_not_stored(
    model_repository: ModelRepository, tmp_path: Path, engine: Engine
) -> None:
    """E.g. a version evaluated on another split: its rows would not add up to its matrix."""
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"xor": [1]})
    (test,) = get_evaluations(engine, "xor", 1, KIND_TEST)
    matrix = np.asarray(test.data["confusion_matrix"])
    matrix[0, 0] -= 1
    matrix[0, 1] += 1
    with begin_write(engine) as connection:
        connection.execute(ExamplePrediction.__table__.delete())
    tampered = {**test.data, "confusion_matrix": matrix}
    save_evaluations(engine, "xor", 1, [(KIND_TEST, test.dataset, tampered)])
    split = datasets.load_split("xor", "test", model_repository.data_dir)
    wrote = add_missing("xor", 1, models_dir / "xor" / "1", split, "xor-test", engine)
    assert not wrote and not has_predictions(engine, "xor", 1, "xor-test")
