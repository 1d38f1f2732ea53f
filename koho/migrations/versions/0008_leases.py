"""Leases and honest uncertainty on deliveries (ADR 0012).

``lease_owner``/``lease_until``: the run that claimed a pending row and until when; another run
skips it, an expired lease (a crashed worker) is taken over. ``not_before``: a transient failure's
retry time. ``in_doubt``: the row was once uncertain (a send whose answer never came, or a lease
taken over from a crashed run): the only rows that may have reached a recipient twice.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(64)))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("not_before", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("in_doubt", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        for column in ("in_doubt", "not_before", "lease_until", "lease_owner"):
            batch.drop_column(column)
