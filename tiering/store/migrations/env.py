"""Alembic environment: runs on the connection handed over by ``tiering.store.migrate``.

Why no alembic.ini: the store is upgraded from Python (``Store.upgrade()``, ``tiering db upgrade``)
with the engine the settings already built, so there is exactly one place that knows the URL.
"""

from __future__ import annotations

from alembic import context

from tiering.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when someone runs the alembic CLI
    raise RuntimeError("run migrations through tiering.store.migrate.upgrade(engine)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
