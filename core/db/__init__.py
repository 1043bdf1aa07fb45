"""The metrics database: schema, migrations, and the reads and writes training and the
service share. SQLite (WAL) embedded by default, PostgreSQL under docker compose.

Typical use::

    engine = make_engine(settings.database_url)
    upgrade(engine)                      # idempotent; safe from several processes
    save_model_version(engine, manifest)
    save_evaluations(engine, "digits", 1, [EvaluationItem("test", "mnist-test", data)])
    get_evaluations(engine, "digits", 1, kind="test")
    save_predictions(engine, "digits", 1, "mnist-test", true, predicted, probability)
    get_cell(engine, "digits", 1, true_class=3, predicted_class=5, start=0, num=48)
"""

from core.db.engine import begin_write, make_engine, normalise_url
from core.db.jsonable import to_jsonable
from core.db.migrate import current, head_revision, upgrade
from core.db.predictions import (
    get_cell,
    has_predictions,
    prediction_datasets,
    save_predictions,
    write_predictions,
)
from core.db.records import (
    EVALUATION_KINDS,
    KIND_AGREEMENT,
    KIND_CROSS_DATASET,
    KIND_HISTORY,
    KIND_MAP,
    KIND_OOD,
    KIND_ROBUSTNESS,
    KIND_SWEEP,
    KIND_TEST,
    KIND_TRAIN,
    KIND_VALIDATION,
    EvaluationItem,
    EvaluationRecord,
    ModelVersionRecord,
    PredictionCell,
    UnknownEvaluationKind,
    check_kind,
)
from core.db.store import (
    ModelVersionNotFound,
    get_evaluations,
    get_model_version,
    has_evaluation,
    list_model_versions,
    save_evaluations,
    save_model_version,
    write_evaluations,
)

__all__ = [
    "EVALUATION_KINDS",
    "KIND_AGREEMENT",
    "KIND_CROSS_DATASET",
    "KIND_HISTORY",
    "KIND_MAP",
    "KIND_OOD",
    "KIND_ROBUSTNESS",
    "KIND_SWEEP",
    "KIND_TEST",
    "KIND_TRAIN",
    "KIND_VALIDATION",
    "EvaluationItem",
    "EvaluationRecord",
    "ModelVersionNotFound",
    "ModelVersionRecord",
    "PredictionCell",
    "UnknownEvaluationKind",
    "begin_write",
    "check_kind",
    "current",
    "get_cell",
    "get_evaluations",
    "get_model_version",
    "has_evaluation",
    "has_predictions",
    "head_revision",
    "list_model_versions",
    "make_engine",
    "normalise_url",
    "prediction_datasets",
    "save_evaluations",
    "save_model_version",
    "save_predictions",
    "to_jsonable",
    "upgrade",
    "write_evaluations",
    "write_predictions",
]
