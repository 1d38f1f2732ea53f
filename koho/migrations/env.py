"""Alembic environment: run against the connection koho hands over (no alembic.ini needed)."""

from alembic import context

from koho.ledger_schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - koho always passes its connection
    raise RuntimeError("koho migrations run through koho.ledger.Ledger, which passes a connection")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
