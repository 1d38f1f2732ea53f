"""Ledger tables (SQLAlchemy Core). Alembic migrations in koho/migrations create and evolve them."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

#: One row per delivery, written ``pending`` before anything is sent.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(700), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("target", String(512), nullable=False),
    Column("article_id", String(128), nullable=False),
    Column("revision", String(64), nullable=False),
    Column("language", String(16)),
    Column("state", String(16), nullable=False),
    #: The database's default, as migration 0001 made it: rows written by hand or by any other
    #: tool start at 0 attempts too.
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("provider_ref", String(512)),
    Column("detail", Text),
    Column("run_id", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    #: The run holding the row while it sends, and until when (ADR 0012): others skip it.
    Column("lease_owner", String(64)),
    Column("lease_until", DateTime(timezone=True)),
    #: A transient failure's retry time: no run sends the row before it.
    Column("not_before", DateTime(timezone=True)),
    #: Once uncertain (no answer came, or a crashed run's lease was taken over): the only rows
    #: that may have reached their recipient twice.
    Column("in_doubt", Boolean, nullable=False, server_default=false()),
    UniqueConstraint("key", name="uq_deliveries_key"),
    Index("ix_deliveries_article", "article_id", "channel"),
    Index("ix_deliveries_state", "state"),
    Index("ix_deliveries_channel_state_article", "channel", "state", "article_id"),
)

#: When each article revision was first recorded: the stable "updated" time of feeds.
revisions = Table(
    "article_revisions",
    metadata,
    Column("article_id", String(128), primary_key=True),
    Column("revision", String(64), primary_key=True),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
)

#: Articles contained in the latest completed full build of a channel: after ``koho build`` they
#: are on the site even though no per-article delivery row names them.
build_members = Table(
    "build_members",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("article_id", String(128), primary_key=True),
    Column("build_id", String(64), nullable=False),
)

#: Info-mail subscribers. ``address`` is erased (NULL) once an unsubscribed address has been
#: kept as long as the retention setting allows; the row stays so the ledger's ids still resolve.
subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("address", String(320)),
    Column("address_key", String(320)),
    Column("language", String(16), nullable=False, server_default="ja"),
    Column("state", String(16), nullable=False),
    Column("source", String(200), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("unsubscribed_at", DateTime(timezone=True)),
    Column("erased_at", DateTime(timezone=True)),
    #: "immediate" (each article) or "digest" (one mail per 区報 issue; urgent news still at once).
    Column("delivery", String(16), nullable=False, server_default="immediate"),
    #: The subscription's link generation (ADR 0013): part of every signed link, made anew when
    #: the subscription ends or starts again, so links from an earlier one stop working.
    Column("link_nonce", String(64)),
    UniqueConstraint("address_key", name="uq_subscribers_address_key"),
    Index("ix_subscribers_state", "state", "id"),
)

#: SNS messages already acted on (ADR 0013), so a captured notification replayed later changes
#: nothing. Kept only while their ``Timestamp`` is within the hour older messages are refused in.
sns_messages = Table(
    "sns_messages",
    metadata,
    Column("message_id", String(128), primary_key=True),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Index("ix_sns_messages_sent_at", "sent_at"),
)

#: Sign-up counters per mailbox and per client (``channels/mail/web/limits.py``, ADR 0013): an
#: HMAC of the mailbox or client address, never the address, and the current window's count.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("scope", String(16), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("count", Integer, nullable=False),
)

subscriber_topics = Table(
    "subscriber_topics",
    metadata,
    Column("subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True),
    Column("topic", String(64), primary_key=True),
    Index("ix_subscriber_topics_topic", "topic", "subscriber_id"),
)

#: Every (article revision, channel) that was planned and recorded, with how many deliveries:
#: an empty plan (no subscribers of the topic, nothing to take down) is settled too.
plans = Table(
    "plans",
    metadata,
    Column("article_id", String(128), primary_key=True),
    Column("revision", String(64), primary_key=True),
    Column("channel", String(64), primary_key=True),
    Column("deliveries", Integer, nullable=False),
    Column("planned_at", DateTime(timezone=True), nullable=False),
)

#: API quota units spent per provider and quota period (YouTube: units per Pacific-time day), so
#: a run refuses work the provider would refuse, and operators can see what was spent.
quota_usage = Table(
    "quota_usage",
    metadata,
    Column("provider", String(64), primary_key=True),
    Column("period", String(32), primary_key=True),
    Column("units", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: Machine translations of segments (``translations/memory.py``), keyed by a hash of the text the
#: model read, the language pair and the model (package names and versions): a new model version
#: translates afresh, an unchanged sentence is never translated twice.
translation_memory = Table(
    "translation_memory",
    metadata,
    Column("source_hash", String(64), primary_key=True),
    Column("source_language", String(16), primary_key=True),
    Column("target_language", String(16), primary_key=True),
    Column("model", String(200), primary_key=True),
    Column("source_text", Text, nullable=False),
    Column("output", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

#: Failed deliveries a person sent again (``koho redrive``): who, why and when, per row, so the
#: ledger keeps the failure's reason and the decision to retry after the row itself moves on.
redrives = Table(
    "redrives",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_key", String(700), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    #: The row's ``detail`` when it was failed: the cause the person says they fixed.
    Column("failure", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_redrives_delivery_key", "delivery_key"),
)

#: What the operators were told (``koho/alerts.py``): each failed or long-pending delivery and each
#: gap between scheduled runs once, keyed by the delivery key or ``missed:<start>``.
alerts = Table(
    "alerts",
    metadata,
    Column("subject", String(700), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("alerted_at", DateTime(timezone=True), nullable=False),
)

#: When each kind of scheduled run last started: a gap longer than the schedule allows means the
#: worker was down, and the next run says so.
run_starts = Table(
    "run_starts",
    metadata,
    Column("work", String(32), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
)
