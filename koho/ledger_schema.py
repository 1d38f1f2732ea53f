"""Ledger tables (SQLAlchemy Core). Alembic migrations in koho/migrations create and evolve them."""

from __future__ import annotations

from typing import Any

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
from sqlalchemy.types import TypeEngine

metadata = MetaData()

_Type = TypeEngine[Any] | type[TypeEngine[Any]]
#: The column types the tables share: an article id, a hash or run id, a channel or short name,
#: a language code or state.
_ID = String(128)
_HASH = String(64)
_NAME = String(64)
_CODE = String(16)


def _keys(**types: _Type) -> list[Column[Any]]:
    """The primary key's columns, ``name=type`` in key order."""
    return [Column(name, type_, primary_key=True) for name, type_ in types.items()]


def _required(name: str, type_: _Type, **options: Any) -> Column[Any]:
    """A NOT NULL column."""
    return Column(name, type_, nullable=False, **options)


def _time(name: str, required: bool = True) -> Column[Any]:
    """A moment, stored with its time zone (koho writes UTC); NOT NULL unless ``required`` is False."""
    return Column(name, DateTime(timezone=True), nullable=not required)


#: One row per delivery, written ``pending`` before anything is sent.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _required("key", String(700)),
    _required("channel", _NAME),
    _required("target", String(512)),
    _required("article_id", _ID),
    _required("revision", _HASH),
    Column("language", _CODE),
    _required("state", _CODE),
    #: The database's default, as migration 0001 made it: rows written by hand or by any other
    #: tool start at 0 attempts too.
    _required("attempts", Integer, server_default="0"),
    Column("provider_ref", String(512)),
    Column("detail", Text),
    Column("run_id", _HASH),
    _time("created_at"),
    _time("updated_at"),
    _time("sent_at", required=False),
    #: The run holding the row while it sends, and until when (ADR 0012): others skip it.
    Column("lease_owner", _HASH),
    _time("lease_until", required=False),
    #: A transient failure's retry time: no run sends the row before it.
    _time("not_before", required=False),
    #: Once uncertain (no answer came, or a crashed run's lease was taken over): the only rows
    #: that may have reached their recipient twice.
    _required("in_doubt", Boolean, server_default=false()),
    #: Pending until ``not_before`` because a provider's quota resets then (a YouTube day, a LINE
    #: month, an X rate window): not a failure, and not late while that time is ahead (ADR 0030).
    _required("waiting", Boolean, server_default=false()),
    UniqueConstraint("key", name="uq_deliveries_key"),
    Index("ix_deliveries_article", "article_id", "channel"),
    Index("ix_deliveries_state", "state"),
    Index("ix_deliveries_channel_state_article", "channel", "state", "article_id"),
)

#: When each article revision was first recorded: the stable "updated" time of feeds.
revisions = Table("article_revisions", metadata, *_keys(article_id=_ID, revision=_HASH), _time("first_seen_at"))

#: Articles contained in the latest completed full build of a channel: after ``koho build`` they
#: are on the site even though no per-article delivery row names them.
build_members = Table("build_members", metadata, *_keys(channel=_NAME, article_id=_ID), _required("build_id", _HASH))

#: Info-mail subscribers. ``address`` is erased (NULL) once an unsubscribed address has been
#: kept as long as the retention setting allows; the row stays so the ledger's ids still resolve.
subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("address", String(320)),
    Column("address_key", String(320)),
    _required("language", _CODE, server_default="ja"),
    _required("state", _CODE),
    _required("source", String(200), server_default=""),
    _time("created_at"),
    _time("updated_at"),
    _time("confirmed_at", required=False),
    _time("unsubscribed_at", required=False),
    _time("erased_at", required=False),
    #: "immediate" (each article) or "digest" (one mail per 区報 issue; urgent news still at once).
    _required("delivery", _CODE, server_default="immediate"),
    #: The subscription's link generation (ADR 0013): part of every signed link, made anew when
    #: the subscription ends or starts again, so links from an earlier one stop working.
    Column("link_nonce", _HASH),
    UniqueConstraint("address_key", name="uq_subscribers_address_key"),
    Index("ix_subscribers_state", "state", "id"),
)

#: SNS messages already acted on (ADR 0013), so a captured notification replayed later changes
#: nothing. Kept only while their ``Timestamp`` is within the hour older messages are refused in.
sns_messages = Table(
    "sns_messages",
    metadata,
    *_keys(message_id=_ID),
    _time("sent_at"),
    Index("ix_sns_messages_sent_at", "sent_at"),
)

#: Sign-up counters per mailbox and per client (``channels/mail/web/limits.py``, ADR 0013): an
#: HMAC of the mailbox or client address, never the address, and the current window's count.
rate_limits = Table(
    "rate_limits", metadata, *_keys(scope=_CODE, key=_HASH), _time("window_start"), _required("count", Integer)
)

subscriber_topics = Table(
    "subscriber_topics",
    metadata,
    Column("subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True),
    *_keys(topic=_NAME),
    Index("ix_subscriber_topics_topic", "topic", "subscriber_id"),
)

#: Every (article revision, channel) that was planned and recorded, with how many deliveries:
#: an empty plan (no subscribers of the topic, nothing to take down) is settled too.
plans = Table(
    "plans",
    metadata,
    *_keys(article_id=_ID, revision=_HASH, channel=_NAME),
    _required("deliveries", Integer),
    _time("planned_at"),
)

#: API quota units spent per provider and quota period (YouTube: units per Pacific-time day), so
#: a run refuses work the provider would refuse, and operators can see what was spent.
quota_usage = Table(
    "quota_usage", metadata, *_keys(provider=_NAME, period=String(32)), _required("units", Integer), _time("updated_at")
)

#: Machine translations of segments (``translations/memory.py``), keyed by a hash of the text the
#: model read, the language pair and the model (package names and versions): a new model version
#: translates afresh, an unchanged sentence is never translated twice.
translation_memory = Table(
    "translation_memory",
    metadata,
    *_keys(source_hash=_HASH, source_language=_CODE, target_language=_CODE, model=String(200)),
    _required("source_text", Text),
    _required("output", Text),
    _time("created_at"),
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

#: The media list (報道発表の送付先): press clubs (記者クラブ) and outlets with a contact, mailed each
#: press release (ADR 0035). Personal data like subscribers': deliveries name an outlet by id
#: (``outlet-<id>``), never by address, and an outlet left out of a ``--replace`` import is deleted.
media_outlets = Table(
    "media_outlets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _required("name", String(200)),
    #: "club" (記者クラブ) or "outlet" (a newspaper, broadcaster, agency).
    _required("kind", _CODE, server_default="outlet"),
    _required("contact", String(200), server_default=""),
    _required("address", String(320)),
    _required("address_key", String(320)),
    _required("phone", String(64), server_default=""),
    _time("created_at"),
    _time("updated_at"),
    UniqueConstraint("address_key", name="uq_media_outlets_address_key"),
)
