"""core.db.predictions: the per-example test predictions behind the confusion cells, on
SQLite and PostgreSQL: pages of a cell, replacement as a whole, atomicity, the index."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sqlalchemy import Engine, delete, event, func, select

from core.db import (
    ModelVersionNotFound,
    begin_write,
    get_cell,
    has_predictions,
    prediction_datasets,
    save_predictions,
    write_predictions,
)
from core.db.schema import ExamplePrediction, ModelVersion
from tests.core.helpers import REPO_ROOT

N = 600
CLASSES = 10


def _predictions(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and predictions of a mostly right classifier: every cell a different size."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, CLASSES, N)
    wrong = rng.random(N) < 0.2
    predicted = np.where(wrong, rng.integers(0, CLASSES, N), true)
    return true, predicted, rng.uniform(0.1, 1.0, N).astype(np.float32)


def _rows(engine: Engine) -> int:
    with engine.connect() as connection:
        query = select(func.count()).select_from(ExamplePrediction)
        return int(connection.scalar(query) or 0)


def test_pages_of_every_cell_add_up_to_the_confusion_matrix(engine: Engine) -> None:
    true, predicted, probability = _predictions()
    assert save_predictions(engine, "digits", 1, "mnist-test", true, predicted, probability) == N
    confusion = np.zeros((CLASSES, CLASSES), dtype=int)
    np.add.at(confusion, (true, predicted), 1)
    for t in range(CLASSES):
        for p in range(CLASSES):
            cell = get_cell(engine, "digits", 1, true_class=t, predicted_class=p, num=N)
            assert cell is not None and cell.dataset == "mnist-test"
            assert cell.total == confusion[t, p] == len(cell.examples)
            expected = np.flatnonzero((true == t) & (predicted == p))
            assert list(cell.examples) == expected.tolist()
            np.testing.assert_allclose(cell.probabilities, probability[expected], rtol=1e-6)


def test_a_page_is_a_slice_in_example_order(engine: Engine) -> None:
    true, predicted, probability = _predictions()
    save_predictions(engine, "digits", 1, "mnist-test", true, predicted, probability)
    t = int(np.bincount(true).argmax())
    members = np.flatnonzero((true == t) & (predicted == t)).tolist()
    pages = []
    for start in range(0, len(members), 7):
        cell = get_cell(engine, "digits", 1, true_class=t, predicted_class=t, start=start, num=7)
        assert cell is not None and (cell.start, cell.total) == (start, len(members))
        pages.extend(cell.examples)
    assert pages == members
    beyond = get_cell(engine, "digits", 1, true_class=t, predicted_class=t, start=len(members))
    assert beyond is not None and beyond.examples == () and beyond.total == len(members)
    empty = get_cell(engine, "digits", 1, true_class=CLASSES + 3, predicted_class=0)
    assert empty is not None and empty.total == 0


def test_nothing_stored_is_none(engine: Engine) -> None:
    assert get_cell(engine, "digits", 1, true_class=0, predicted_class=0) is None
    assert not has_predictions(engine, "digits", 1, "mnist-test")
    assert prediction_datasets(engine, "digits", 1) == []
    save_predictions(engine, "digits", 1, "mnist-test", *_predictions())
    assert has_predictions(engine, "digits", 1, "mnist-test")
    assert prediction_datasets(engine, "digits", 1) == ["mnist-test"]
    assert get_cell(engine, "digits", 1, true_class=0, predicted_class=0, dataset="xor") is None
    assert get_cell(engine, "digits", 2, true_class=0, predicted_class=0) is None


def test_saving_again_replaces_the_whole_set(engine: Engine) -> None:
    save_predictions(engine, "digits", 1, "mnist-test", *_predictions(0))
    true, predicted, probability = _predictions(1)
    save_predictions(engine, "digits", 1, "mnist-test", true[:100], predicted[:100],
                     probability[:100])  # fmt: skip
    assert _rows(engine) == 100
    cell = get_cell(engine, "digits", 1, true_class=int(true[0]),
                    predicted_class=int(predicted[0]), num=100)  # fmt: skip
    assert cell is not None
    assert cell.total == int(((true[:100] == true[0]) & (predicted[:100] == predicted[0])).sum())


_CRASHING_WRITER = """
import os, sys
import numpy as np
from core.db import begin_write, make_engine, write_predictions
engine = make_engine(sys.argv[1])
with begin_write(engine) as connection:
    write_predictions(connection, "digits", 1, "mnist-test", np.zeros(50, int), np.ones(50, int),
                      np.full(50, 0.5))
    os._exit(3)  # the process dies mid-transaction: no rollback, no commit
"""


def test_a_process_dying_mid_write_leaves_the_old_set(engine: Engine, database_url: str) -> None:
    true, predicted, probability = _predictions()
    save_predictions(engine, "digits", 1, "mnist-test", true, predicted, probability)
    crashed = subprocess.run(
        [sys.executable, "-c", _CRASHING_WRITER, database_url],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert crashed.returncode == 3, crashed.stderr
    assert _rows(engine) == N
    cell = get_cell(engine, "digits", 1, true_class=0, predicted_class=1, num=N)
    assert cell is not None
    assert cell.total == int(((true == 0) & (predicted == 1)).sum())


def test_a_failure_inside_the_transaction_keeps_the_old_set(engine: Engine) -> None:
    save_predictions(engine, "digits", 1, "mnist-test", *_predictions())
    with pytest.raises(RuntimeError, match="crash"), begin_write(engine) as connection:
        write_predictions(connection, "digits", 1, "mnist-test", [0], [0], [1.0])
        raise RuntimeError("crash after the rows were replaced")
    assert _rows(engine) == N


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", [0], [0], [0.5]), "dataset must be a non-empty string"),
        (("mnist-test", [0, 1], [0], [0.5]), "got 2, 1 and 1"),
        (("mnist-test", [], [], []), "got 0, 0 and 0"),
        (("mnist-test", [-1], [0], [0.5]), "true classes must be integers >= 0"),
        (("mnist-test", [0], [0.5], [0.5]), "predicted classes must be integers"),
        (("mnist-test", [0], [0], [float("nan")]), "finite and in"),
        (("mnist-test", [0], [0], [1.5]), "finite and in"),
        (("mnist-test", [[0]], [[0]], [[0.5]]), "must be 1-D"),
    ],
)
def test_bad_values_write_nothing(engine: Engine, args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        save_predictions(engine, "digits", 1, *args)
    assert _rows(engine) == 0


def test_an_unknown_model_version_is_refused(engine: Engine) -> None:
    with pytest.raises(ModelVersionNotFound, match="digits/4"):
        save_predictions(engine, "digits", 4, "mnist-test", [0], [0], [1.0])


def test_deleting_a_model_version_cascades(engine: Engine) -> None:
    save_predictions(engine, "digits", 1, "mnist-test", *_predictions())
    with begin_write(engine) as connection:
        connection.execute(delete(ModelVersion).where(ModelVersion.model == "digits"))
    assert _rows(engine) == 0


def test_a_page_of_a_cell_reads_the_cell_index(engine: Engine) -> None:
    """The count and the page search the cell index; neither scans the table."""
    save_predictions(engine, "digits", 1, "mnist-test", *_predictions())
    statements: list[tuple[str, object]] = []

    def remember(*args: object) -> None:
        statement, parameters = args[2], args[3]
        if isinstance(statement, str) and statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", remember)
    try:
        get_cell(engine, "digits", 1, true_class=3, predicted_class=3, start=5, num=10)
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    cell_queries = [(s, p) for s, p in statements if "true_class" in s.split("FROM")[1]]
    assert len(cell_queries) == 2, statements  # the count and the page
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if not sqlite:  # a table this small would be scanned whatever its indexes
            connection.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in cell_queries:
            explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            plan = connection.exec_driver_sql(explain + statement, parameters)  # type: ignore[arg-type]
            text = " ".join(str(row[-1] if sqlite else row[0]) for row in plan)
            assert "ix_example_predictions_cell" in text, text
            assert "Seq Scan" not in text and "SCAN example_predictions" not in text, text
