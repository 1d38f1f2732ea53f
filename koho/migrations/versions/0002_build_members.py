"""Which articles the latest full build of each channel contained; an index for "what is live".

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "build_members",
        sa.Column("channel", sa.String(64), primary_key=True),
        sa.Column("article_id", sa.String(128), primary_key=True),
        sa.Column("build_id", sa.String(64), nullable=False),
    )
    # published_ids() runs on every plan: answer it from the index alone.
    op.create_index("ix_deliveries_channel_state_article", "deliveries", ["channel", "state", "article_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_channel_state_article", "deliveries")
    op.drop_table("build_members")
