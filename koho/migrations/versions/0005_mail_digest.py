"""How each subscriber takes the info mail: every article at once, or one digest per 区報 issue.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A server default fills the existing rows, so NOT NULL holds on SQLite and PostgreSQL alike.
    op.add_column("subscribers", sa.Column("delivery", sa.String(16), nullable=False, server_default="immediate"))


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:  # SQLite rebuilds the table to drop a column
        batch.drop_column("delivery")
