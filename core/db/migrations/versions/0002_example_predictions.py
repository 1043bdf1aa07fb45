"""Per-example test predictions: the rows behind each confusion-matrix cell.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "example_predictions",
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(length=128), nullable=False),
        sa.Column("example", sa.Integer(), nullable=False),
        sa.Column("true_class", sa.SmallInteger(), nullable=False),
        sa.Column("predicted_class", sa.SmallInteger(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model", "version"],
            ["model_versions.model", "model_versions.version"],
            name=op.f("fk_example_predictions_model_version_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "model", "version", "dataset", "example", name=op.f("pk_example_predictions")
        ),
    )
    op.create_index(
        "ix_example_predictions_cell",
        "example_predictions",
        ["model", "version", "dataset", "true_class", "predicted_class", "example"],
    )


def downgrade() -> None:
    op.drop_index("ix_example_predictions_cell", table_name="example_predictions")
    op.drop_table("example_predictions")
