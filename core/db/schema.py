"""The metrics database schema: the one definition training writes and the service reads.

Alembic migrations (``core/db/migrations``) must produce exactly this metadata; a test
compares them so they never drift.

Lookups by (model, version, kind) use the unique index on (model, version, kind, dataset):
its leading columns serve that query and the cascade from ``model_versions``, so a
separate index would only slow writes. ``example_predictions`` has one index beyond its
key, ``ix_example_predictions_cell``: one confusion-matrix cell's rows in example order,
so a page of a cell and its count read only that cell's index entries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names: the same on every backend, so later migrations can
# refer to them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MODEL_NAME_LENGTH = 64
KIND_LENGTH = 32
DATASET_LENGTH = 128
TASK_LENGTH = 64
ARCHITECTURE_LENGTH = 128

#: Plain JSON on SQLite; JSONB on PostgreSQL (binary, indexable, validated on write).
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ModelVersion(Base):
    """One trained model version, with its manifest as written to the model repository."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(MODEL_NAME_LENGTH))
    version: Mapped[int] = mapped_column(Integer)
    task: Mapped[str] = mapped_column(String(TASK_LENGTH))
    architecture: Mapped[str] = mapped_column(String(ARCHITECTURE_LENGTH))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    manifest: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


class Evaluation(Base):
    """One evaluation of a model version: a kind (test, history, ...) on one dataset."""

    __tablename__ = "evaluations"
    __table_args__ = (
        UniqueConstraint("model", "version", "kind", "dataset"),
        ForeignKeyConstraint(
            ["model", "version"],
            ["model_versions.model", "model_versions.version"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(MODEL_NAME_LENGTH))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(KIND_LENGTH))
    dataset: Mapped[str] = mapped_column(String(DATASET_LENGTH))
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ExamplePrediction(Base):
    """What a version predicted for one example of its ``test`` evaluation's dataset: the
    rows behind each confusion-matrix cell (``example`` numbers the dataset reference)."""

    __tablename__ = "example_predictions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["model", "version"],
            ["model_versions.model", "model_versions.version"],
            ondelete="CASCADE",
        ),
        Index(
            "ix_example_predictions_cell",
            "model",
            "version",
            "dataset",
            "true_class",
            "predicted_class",
            "example",
        ),
    )

    model: Mapped[str] = mapped_column(String(MODEL_NAME_LENGTH), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset: Mapped[str] = mapped_column(String(DATASET_LENGTH), primary_key=True)
    example: Mapped[int] = mapped_column(Integer, primary_key=True)
    true_class: Mapped[int] = mapped_column(SmallInteger)
    predicted_class: Mapped[int] = mapped_column(SmallInteger)
    #: The probability of the predicted class (the largest one).
    probability: Mapped[float] = mapped_column(Float)
