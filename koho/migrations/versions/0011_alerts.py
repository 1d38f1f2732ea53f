"""Operator alerts (issue 14): what the operators were told, and when scheduled runs started.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("subject", sa.String(700), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "run_starts",
        sa.Column("work", sa.String(32), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("run_starts")
    op.drop_table("alerts")
