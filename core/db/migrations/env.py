"""Alembic environment: runs on the connection ``core.db.migrate`` opened and locked."""

from __future__ import annotations

from alembic import context

from core.db.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through core.db.upgrade (python -m core.db upgrade)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    compare_type=True,
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
