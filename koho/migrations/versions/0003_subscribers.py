"""Subscribers of the info mail list and the topics each chose.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("address", sa.String(320)),
        sa.Column("address_key", sa.String(320)),
        sa.Column("language", sa.String(16), nullable=False, server_default="ja"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("source", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True)),
        sa.Column("erased_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("address_key", name="uq_subscribers_address_key"),
    )
    op.create_index("ix_subscribers_state", "subscribers", ["state", "id"])
    op.create_table(
        "subscriber_topics",
        sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("topic", sa.String(64), primary_key=True),
    )
    op.create_index("ix_subscriber_topics_topic", "subscriber_topics", ["topic", "subscriber_id"])


def downgrade() -> None:
    op.drop_table("subscriber_topics")
    op.drop_index("ix_subscribers_state", "subscribers")
    op.drop_table("subscribers")
