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
    # batch mode: SQLite cannot add a CHECK-constrained column in place.
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("delivery", sa.String(16), nullable=False, server_default="immediate"))


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("delivery")
