"""Reads and writes of the metrics database, as training and the service use them.

Every write is an upsert by its natural key inside one transaction, using the dialect's
``INSERT ... ON CONFLICT DO UPDATE``: re-running a job never duplicates a row, two
processes writing the same key never trip over the unique constraint, and a failure
anywhere in a batch leaves the previous rows as they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Insert, Row, Table, and_, select
from sqlalchemy.dialects import postgresql, sqlite

from core.db.engine import begin_write
from core.db.jsonable import to_jsonable
from core.db.records import (
    EVALUATION_KINDS,
    EvaluationItem,
    EvaluationRecord,
    ModelVersionRecord,
    check_kind,
)
from core.db.schema import DATASET_LENGTH, Evaluation, ModelVersion
from core.manifest import Manifest, is_valid_model_name

_MODEL_VERSIONS: Table = ModelVersion.__table__  # type: ignore[assignment]
_EVALUATIONS: Table = Evaluation.__table__  # type: ignore[assignment]
_R = TypeVar("_R", EvaluationRecord, ModelVersionRecord)


class ModelVersionNotFound(LookupError):
    """Evaluations were written for a model version the database does not know."""


def save_model_version(engine: Engine, manifest: Manifest) -> None:
    """Insert or replace the row for ``manifest.name`` / ``manifest.version``."""
    values = {
        "model": manifest.name,
        "version": manifest.version,
        "task": manifest.task,
        "architecture": manifest.architecture,
        "created_at": manifest.created_at.astimezone(UTC),
        "manifest": manifest.model_dump(mode="json"),
    }
    with begin_write(engine) as connection:
        statement = _insert(connection, _MODEL_VERSIONS).values(values)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["model", "version"],
                set_={
                    key: statement.excluded[key]
                    for key in values
                    if key not in ("model", "version")
                },
            )
        )


def save_evaluations(
    engine: Engine, model: str, version: int, items: Sequence[EvaluationItem | tuple[str, str, Any]]
) -> int:
    """Write all ``items`` for one model version in one transaction; return how many.

    Each item replaces the row with the same (kind, dataset). Everything is validated
    before the transaction starts (ValueError); an unknown model version raises
    ModelVersionNotFound and writes nothing.
    """
    with begin_write(engine) as connection:
        return write_evaluations(connection, model, version, items)


def save_reports(
    engine: Engine, model: str, version: int, kind: str, reports: Mapping[str, dict[str, Any]]
) -> int:
    """``save_evaluations`` of one kind, one row per dataset: ``reports`` maps each dataset
    reference to its report (the shape every per-dataset evaluation comes in)."""
    items = [EvaluationItem(kind=kind, dataset=ref, data=report) for ref, report in reports.items()]
    return save_evaluations(engine, model, version, items)


def write_evaluations(
    connection: Connection,
    model: str,
    version: int,
    items: Sequence[EvaluationItem | tuple[str, str, Any]],
) -> int:
    """save_evaluations inside a transaction the caller owns (to add more to it)."""
    rows = _validated_items(model, version, items)
    exists = connection.execute(
        select(_MODEL_VERSIONS.c.id).where(_version_key(_MODEL_VERSIONS, model, version))
    ).first()
    if exists is None:
        raise ModelVersionNotFound(
            f"model version {model}/{version} is not in the metrics database; "
            "save_model_version must come first"
        )
    now = datetime.now(UTC)
    for item in rows:  # sorted by key: concurrent writers lock rows in the same order
        values = {"model": model, "version": version, **item._asdict()}
        values.update(created_at=now, updated_at=now)
        statement = _insert(connection, _EVALUATIONS).values(values)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["model", "version", "kind", "dataset"],
                set_={"data": statement.excluded.data, "updated_at": statement.excluded.updated_at},
            )
        )
    return len(rows)


def get_evaluations(
    engine: Engine, model: str, version: int, kind: str | None = None
) -> list[EvaluationRecord]:
    """Stored evaluations of one model version, ordered by kind then dataset."""
    condition = _version_key(_EVALUATIONS, model, version)
    if kind is not None:
        condition = and_(condition, _EVALUATIONS.c.kind == check_kind(kind))
    query = select(_EVALUATIONS).where(condition)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    rank = {name: i for i, name in enumerate(EVALUATION_KINDS)}
    rows.sort(key=lambda row: (rank.get(row.kind, len(rank)), row.kind, row.dataset))
    return [_record(EvaluationRecord, row) for row in rows]


def has_evaluation(
    engine: Engine, model: str, version: int, kind: str, dataset: str | None = None
) -> bool:
    """Whether an evaluation of this kind (on this dataset, if given) is stored: lets
    training skip work that is already done."""
    condition = and_(
        _version_key(_EVALUATIONS, model, version), _EVALUATIONS.c.kind == check_kind(kind)
    )
    if dataset is not None:
        condition = and_(condition, _EVALUATIONS.c.dataset == dataset)
    with engine.connect() as connection:
        return (
            connection.execute(select(_EVALUATIONS.c.id).where(condition).limit(1)).first()
            is not None
        )


def list_model_versions(engine: Engine, model: str | None = None) -> list[ModelVersionRecord]:
    """Every stored model version (or one model's), ordered by model then version."""
    query = select(_MODEL_VERSIONS).order_by(_MODEL_VERSIONS.c.model, _MODEL_VERSIONS.c.version)
    if model is not None:
        query = query.where(_MODEL_VERSIONS.c.model == model)
    with engine.connect() as connection:
        return [_record(ModelVersionRecord, row) for row in connection.execute(query)]


def get_model_version(engine: Engine, model: str, version: int) -> ModelVersionRecord | None:
    query = select(_MODEL_VERSIONS).where(_version_key(_MODEL_VERSIONS, model, version))
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else _record(ModelVersionRecord, row)


def _insert(connection: Connection, table: Table) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_update``."""
    dialects: dict[str, Any] = {"postgresql": postgresql, "sqlite": sqlite}
    module = dialects.get(connection.dialect.name)
    if module is None:
        raise ValueError(f"the metrics database does not support {connection.dialect.name!r}")
    statement: Insert = module.insert(table)
    return statement


def _version_key(table: Table, model: str, version: int) -> Any:
    return and_(table.c.model == model, table.c.version == version)


def _validated_items(
    model: str, version: int, items: Iterable[EvaluationItem | tuple[str, str, Any]]
) -> list[EvaluationItem]:
    if not is_valid_model_name(model):
        raise ValueError(f"invalid model name {model!r}")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"version must be an integer >= 1, got {version!r}")
    seen: set[tuple[str, str]] = set()
    rows = []
    for kind, dataset, data in items:
        check_kind(kind)
        if not isinstance(dataset, str) or not 0 < len(dataset) <= DATASET_LENGTH:
            raise ValueError(
                f"dataset must be a non-empty string of at most {DATASET_LENGTH} "
                f"characters, got {dataset!r}"
            )
        if (kind, dataset) in seen:
            raise ValueError(f"evaluation ({kind!r}, {dataset!r}) appears twice in one write")
        seen.add((kind, dataset))
        if not isinstance(data, dict):
            raise ValueError(
                f"data of ({kind!r}, {dataset!r}) must be a dict, got {type(data).__name__}"
            )
        jsonable = to_jsonable(data, path=f"data of ({kind!r}, {dataset!r})")
        rows.append(EvaluationItem(kind, dataset, jsonable))
    return sorted(rows, key=lambda item: (item.kind, item.dataset))


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes (always written in UTC); PostgreSQL aware ones."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _record(record_type: type[_R], row: Row[Any]) -> _R:
    """The row as a plain record: its columns that the record has, datetimes in UTC."""
    values = {f.name: getattr(row, f.name) for f in fields(record_type)}
    for key, value in values.items():
        if isinstance(value, datetime):
            values[key] = _utc(value)
    return record_type(**values)
