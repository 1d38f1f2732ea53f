"""Trust boundary (issue 12, ADR 0013): link generations, SNS replay memory, sign-up limits.

``subscribers.link_nonce``: the subscription's link generation, signed into every link; existing
rows get a random one (links in mails sent before this migration carry none and are refused).
``sns_messages``: MessageIds of SNS messages acted on within the last hour (replays are ignored).
``rate_limits``: sign-up counters per mailbox and per client (HMAC keys, no addresses).

Revision ID: 0009
Revises: 0008
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("link_nonce", sa.String(64)))
    conn = op.get_bind()
    table = sa.table("subscribers", sa.column("id", sa.Integer), sa.column("link_nonce", sa.String))
    ids = [row[0] for row in conn.execute(sa.select(table.c.id))]
    for start in range(0, len(ids), 1000):
        conn.execute(
            table.update().where(table.c.id == sa.bindparam("sid")).values(link_nonce=sa.bindparam("nonce")),
            [dict(sid=i, nonce=secrets.token_urlsafe(16)) for i in ids[start : start + 1000]],
        )
    op.create_table(
        "sns_messages",
        sa.Column("message_id", sa.String(128), primary_key=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sns_messages_sent_at", "sns_messages", ["sent_at"])
    op.create_table(
        "rate_limits",
        sa.Column("scope", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
    op.drop_table("sns_messages")
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("link_nonce")
