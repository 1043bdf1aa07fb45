"""Alembic migrations of the metrics database (run them with ``core.db.upgrade``)."""
