"""The ledger's Alembic migrations build exactly the schema ``koho/ledger_schema.py`` declares.

koho's code reads and writes through ``ledger_schema.metadata``, but a database gets its tables
from ``koho/migrations/versions``. If the two drift apart, a fresh install and an upgraded one
silently differ from what the code (and ``koho status``) assumes. Alembic's autogenerate compares
a migrated database with the metadata; an empty list of differences is the contract. Run against
a SQLite file and a real PostgreSQL server (tests/peers.py), the two dialects koho supports.
"""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from koho.ledger import Ledger
from koho.ledger_schema import metadata


def same_default(
    context, inspected_column, metadata_column, inspected_default, metadata_default, rendered_metadata_default
):
    """Alembic's server-default comparison, but for one false alarm: SQLite reflects
    ``DEFAULT ''`` as the text ``''`` (``('')`` after a batch migration rebuilt the table), and
    Alembic's SQLite comparer strips quotes only around a non-empty value, so an empty-string
    default never equals itself. None: Alembic decides."""
    if context.dialect.name == "sqlite" and rendered_metadata_default == "" and inspected_default in ("''", "('')"):
        return False
    return None


#: Compare everything autogenerate can: column types and server defaults too (the latter is off
#: by default, and a default a migration sets but the schema does not declare is exactly the
#: drift this test is for).
COMPARE = {"compare_type": True, "compare_server_default": same_default}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path) -> str:
    """URL of an empty database of each dialect koho supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return request.getfixturevalue("fresh_postgres_db")


def differences(url: str) -> list:
    """Alembic's differences between the migrated database at ``url`` and the declared schema."""
    ledger = Ledger(url)  # opening a ledger runs every migration, as in production
    try:
        with ledger.engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn, opts=COMPARE), metadata)
    finally:
        ledger.close()


def test_migrations_build_exactly_the_declared_schema(empty_database):
    assert differences(empty_database) == []
