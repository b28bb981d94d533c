"""Alembic environment: runs on the engine the service built from its settings."""

from __future__ import annotations

from alembic import context

from ielts_service.tables import metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
