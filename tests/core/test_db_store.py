"""core.db.store: round trips, idempotent upserts, atomicity and concurrent writers,
with the same assertions on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC

import numpy as np
import pytest
from sqlalchemy import Engine, delete, func, select

from core.db import (
    EVALUATION_KINDS,
    KIND_HISTORY,
    KIND_OOD,
    KIND_TEST,
    EvaluationItem,
    ModelVersionNotFound,
    UnknownEvaluationKind,
    begin_write,
    check_kind,
    store,
)
from core.db.schema import Evaluation, ModelVersion
from core.manifest import Manifest
from tests.core.helpers import REPO_ROOT, make_manifest, run_python_at_once


def evaluation_data(accuracy: float = 0.9787) -> dict[str, object]:
    """A `test` evaluation as training computes it: NumPy values included."""
    confusion = np.eye(10, dtype=np.int64) * 980
    return {
        "accuracy": np.float32(accuracy),
        "loss": 0.0712345678901234,
        "num_examples": np.int64(10_000),
        "per_class_accuracy": np.linspace(0.95, 0.99, 10),
        "confusion_matrix": confusion,
        "confidence_histogram": {
            "bin_edges": np.linspace(0, 1, 21),
            "correct": list(range(20)),
            "incorrect": [0] * 20,
        },
    }


def count(engine: Engine, table: type[Evaluation] | type[ModelVersion]) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def test_round_trip(engine: Engine) -> None:
    history = {
        "epoch": [1, 2],
        "loss": [0.5, 0.25],
        "accuracy": [0.8, 0.9],
        "val_loss": [0.6, 0.3],
        "val_accuracy": [0.75, 0.875],
    }
    written = store.save_evaluations(
        engine,
        "digits",
        1,
        [
            EvaluationItem(KIND_TEST, "mnist-test", evaluation_data()),
            (KIND_HISTORY, "mnist-train", history),
        ],
    )
    assert written == 2
    records = store.get_evaluations(engine, "digits", 1)
    assert [(r.kind, r.dataset) for r in records] == [
        ("test", "mnist-test"),
        ("history", "mnist-train"),
    ]
    test, stored_history = records
    assert stored_history.data == history
    assert test.data["accuracy"] == float(np.float32(0.9787))
    assert test.data["loss"] == 0.0712345678901234
    assert test.data["confusion_matrix"] == np.eye(10, dtype=int).__mul__(980).tolist()
    assert test.data["confidence_histogram"]["bin_edges"] == np.linspace(0, 1, 21).tolist()
    assert test.data["per_class_accuracy"] == np.linspace(0.95, 0.99, 10).tolist()
    assert (test.model, test.version) == ("digits", 1)
    assert test.created_at.tzinfo == UTC
    assert test.updated_at == test.created_at
    assert [r.kind for r in store.get_evaluations(engine, "digits", 1, kind="history")] == [
        "history"
    ]


def test_model_version_round_trip_and_upsert(engine: Engine) -> None:
    (record,) = store.list_model_versions(engine)
    manifest = make_manifest()
    assert Manifest.model_validate(record.manifest) == manifest
    assert (record.model, record.version, record.task, record.architecture) == (
        "digits",
        1,
        "digits",
        "mlp-128",
    )
    assert record.created_at == manifest.created_at
    store.save_model_version(engine, make_manifest(description="retold"))
    store.save_model_version(engine, make_manifest(version=2))
    store.save_model_version(engine, make_manifest(name="fashion"))
    assert count(engine, ModelVersion) == 3
    assert [(r.model, r.version) for r in store.list_model_versions(engine)] == [
        ("digits", 1),
        ("digits", 2),
        ("fashion", 1),
    ]
    assert [r.version for r in store.list_model_versions(engine, "digits")] == [1, 2]
    stored = store.get_model_version(engine, "digits", 1)
    assert stored is not None
    assert stored.manifest["description"] == "retold"
    assert store.get_model_version(engine, "digits", 9) is None


def test_re_saving_replaces_without_duplicates(engine: Engine) -> None:
    store.save_evaluations(engine, "digits", 1, [(KIND_TEST, "mnist-test", evaluation_data(0.5))])
    (first,) = store.get_evaluations(engine, "digits", 1)
    store.save_evaluations(engine, "digits", 1, [(KIND_TEST, "mnist-test", evaluation_data(0.75))])
    store.save_evaluations(engine, "digits", 1, [(KIND_TEST, "mnist-test", evaluation_data(0.75))])
    assert count(engine, Evaluation) == 1
    (second,) = store.get_evaluations(engine, "digits", 1)
    assert second.data["accuracy"] == 0.75
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at


def test_save_reports_writes_one_row_per_dataset_of_one_kind(engine: Engine) -> None:
    reports = {"mnist-test": evaluation_data(0.5), "fashion-mnist-test": evaluation_data(0.25)}
    assert store.save_reports(engine, "digits", 1, KIND_OOD, reports) == 2
    rows = {r.dataset: r for r in store.get_evaluations(engine, "digits", 1)}
    assert set(rows) == set(reports) and {r.kind for r in rows.values()} == {KIND_OOD}
    assert rows["fashion-mnist-test"].data["accuracy"] == 0.25


def test_a_failure_inside_the_transaction_keeps_the_old_rows(engine: Engine) -> None:
    old = [
        (KIND_TEST, "mnist-test", {"accuracy": 0.5}),
        (KIND_TEST, "fashion-mnist-test", {"accuracy": 0.1}),
    ]
    store.save_evaluations(engine, "digits", 1, old)
    before = store.get_evaluations(engine, "digits", 1)
    with pytest.raises(RuntimeError, match="crash"), begin_write(engine) as connection:
        store.write_evaluations(
            connection, "digits", 1, [(KIND_TEST, "mnist-test", {"accuracy": 0.99})]
        )
        raise RuntimeError("crash after the first row was written")
    assert store.get_evaluations(engine, "digits", 1) == before


def test_a_bad_item_writes_nothing(engine: Engine) -> None:
    store.save_evaluations(engine, "digits", 1, [(KIND_TEST, "mnist-test", {"accuracy": 0.5})])
    before = store.get_evaluations(engine, "digits", 1)
    batch = [
        (KIND_TEST, "mnist-test", {"accuracy": 0.99}),
        (KIND_HISTORY, "mnist-train", {"loss": [0.3, object()]}),
    ]
    with pytest.raises(
        ValueError, match=r"\('history', 'mnist-train'\)\['loss'\]\[1\] has type object"
    ):
        store.save_evaluations(engine, "digits", 1, batch)
    assert store.get_evaluations(engine, "digits", 1) == before


_CRASHING_WRITER = """
import os, sys
from core.db import begin_write, make_engine, write_evaluations
engine = make_engine(sys.argv[1])
with begin_write(engine) as connection:
    write_evaluations(connection, "digits", 1, [("test", "mnist-test", {"accuracy": 0.99})])
    os._exit(3)  # the process dies mid-transaction: no rollback, no commit
"""


def test_a_process_dying_mid_write_leaves_the_old_row(engine: Engine, database_url: str) -> None:
    store.save_evaluations(engine, "digits", 1, [(KIND_TEST, "mnist-test", {"accuracy": 0.5})])
    crashed = subprocess.run(
        [sys.executable, "-c", _CRASHING_WRITER, database_url],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert crashed.returncode == 3, crashed.stderr
    (record,) = store.get_evaluations(engine, "digits", 1)
    assert record.data == {"accuracy": 0.5}
    store.save_evaluations(engine, "digits", 1, [(KIND_TEST, "mnist-test", {"accuracy": 0.6})])
    assert store.get_evaluations(engine, "digits", 1)[0].data == {"accuracy": 0.6}


def test_kinds_are_validated(engine: Engine) -> None:
    with pytest.raises(
        UnknownEvaluationKind, match="unknown evaluation kind 'accuracy'; expected one of: test"
    ):
        store.save_evaluations(engine, "digits", 1, [("accuracy", "mnist-test", {"accuracy": 1.0})])
    with pytest.raises(UnknownEvaluationKind, match="unknown evaluation kind 'tests'"):
        store.get_evaluations(engine, "digits", 1, kind="tests")
    with pytest.raises(UnknownEvaluationKind, match="unknown evaluation kind 'bogus'"):
        store.has_evaluation(engine, "digits", 1, "bogus")
    assert check_kind("sweep") == "sweep"
    assert issubclass(UnknownEvaluationKind, ValueError)
    assert count(engine, Evaluation) == 0
    assert EVALUATION_KINDS == (
        "test", "train", "validation", "history", "cross-dataset", "sweep", "agreement", "ood",
        "map", "robustness",
    )  # fmt: skip


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.float32("-inf")])
def test_nan_and_infinity_are_rejected(engine: Engine, bad: float) -> None:
    data = {"accuracy": 0.9, "per_class_accuracy": [0.9, bad]}
    with pytest.raises(ValueError, match=r"\['per_class_accuracy'\]\[1\] is .*NaN and infinity"):
        store.save_evaluations(engine, "digits", 1, [(KIND_TEST, "mnist-test", data)])
    assert count(engine, Evaluation) == 0


def test_has_evaluation(engine: Engine) -> None:
    assert not store.has_evaluation(engine, "digits", 1, KIND_TEST)
    store.save_evaluations(engine, "digits", 1, [(KIND_TEST, "mnist-test", {"accuracy": 0.9})])
    assert store.has_evaluation(engine, "digits", 1, KIND_TEST)
    assert store.has_evaluation(engine, "digits", 1, KIND_TEST, "mnist-test")
    assert not store.has_evaluation(engine, "digits", 1, KIND_TEST, "fashion-mnist-test")
    assert not store.has_evaluation(engine, "digits", 1, KIND_HISTORY)
    assert not store.has_evaluation(engine, "digits", 2, KIND_TEST)


def test_unknown_model_version_is_refused(engine: Engine) -> None:
    with pytest.raises(ModelVersionNotFound, match="digits/7 is not in the metrics database"):
        store.save_evaluations(engine, "digits", 7, [(KIND_TEST, "mnist-test", {"accuracy": 0.9})])
    assert store.get_evaluations(engine, "digits", 7) == []


@pytest.mark.parametrize(
    ("model", "version", "items", "message"),
    [
        ("Digits!", 1, [], "invalid model name"),
        ("digits", 0, [], "version must be an integer >= 1"),
        ("digits", True, [], "version must be an integer >= 1"),
        ("digits", 1, [(KIND_TEST, "", {})], "dataset must be a non-empty string"),
        ("digits", 1, [(KIND_TEST, "x" * 129, {})], "at most 128"),
        ("digits", 1, [(KIND_TEST, "mnist-test", [0.9])], "must be a dict"),
        ("digits", 1, [(KIND_TEST, "a", {}), (KIND_TEST, "a", {})], "appears twice"),
    ],
)
def test_bad_arguments_are_value_errors(
    engine: Engine, model: str, version: int, items: list[tuple[str, str, object]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        store.save_evaluations(engine, model, version, items)


def test_deleting_a_model_version_cascades(engine: Engine) -> None:
    store.save_evaluations(engine, "digits", 1, [(KIND_TEST, "mnist-test", {"accuracy": 0.9})])
    with begin_write(engine) as connection:
        connection.execute(delete(ModelVersion).where(ModelVersion.model == "digits"))
    assert count(engine, Evaluation) == 0


def test_concurrent_threads_writing_one_key_leave_one_row(engine: Engine) -> None:
    writers, rounds = 6, 5
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(rounds):
                store.save_model_version(engine, make_manifest())
                items = [
                    (KIND_TEST, "mnist-test", {"writer": worker, "round": i}),
                    (KIND_HISTORY, "mnist-train", {"writer": worker, "round": i}),
                ]
                store.save_evaluations(engine, "digits", 1, items[:: 1 if worker % 2 else -1])
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(engine, Evaluation) == 2
    assert count(engine, ModelVersion) == 1
    for record in store.get_evaluations(engine, "digits", 1):
        assert record.data["round"] == rounds - 1  # each writer's last round; no blend


_WRITER = """
import sys
from core.db import make_engine, save_evaluations
engine = make_engine(sys.argv[1])
for i in range(int(sys.argv[2])):
    save_evaluations(engine, "digits", 1, [("test", "mnist-test", {"pid": sys.argv[3], "i": i})])
"""


def test_concurrent_processes_writing_one_key_leave_one_row(
    engine: Engine, database_url: str
) -> None:
    rounds = 20
    run_python_at_once(*(["-c", _WRITER, database_url, str(rounds), str(n)] for n in range(2)))
    assert count(engine, Evaluation) == 1
    (record,) = store.get_evaluations(engine, "digits", 1)
    assert record.data["i"] == rounds - 1
