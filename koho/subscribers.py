"""The info-mail subscriber store: addresses, chosen topics, language and consent state.

Lives in the ledger's database (same URL, same Alembic migrations). Mail deliveries refer to
subscribers by id, never by address, so erasing an address leaves the ledger intact.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, and_, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from koho import i18n
from koho.ledger import _aware, _chunks, utcnow
from koho.ledger_schema import subscriber_topics, subscribers

STATES = ("pending", "confirmed", "unsubscribed", "suppressed")
#: How a subscriber takes the mail: each article at once, or one digest per 区報 issue.
DELIVERIES = ("immediate", "digest")
#: Languages a subscriber may read the mail in: the original's and every machine-translated one
#: (a CSV import accepts all of them; the sign-up form offers those the deployment translates into).
LANGUAGES = i18n.LANGUAGES


#: Anything shaped like an e-mail address (or its local part in angle brackets) in a provider's text.
_ADDRESS_LIKE = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")


def redact_addresses(text: str, *known: str) -> str:
    """``text`` without any e-mail address: providers quote the recipient in refusals
    ("550 <taro@example.jp>: unknown user"), and such a text would outlive the address's erasure
    in deliveries.detail, artifacts and logs. ``known`` addresses are removed in any case
    even where they do not look like an address (a bare local part)."""
    for address in known:
        if address:
            text = re.sub(re.escape(address), "<address>", text, flags=re.IGNORECASE)
            local = address.rsplit("@", 1)[0]
            if len(local) >= 3:
                text = re.sub(rf"(?<![\w.+-]){re.escape(local)}(?![\w.+-])", "<address>", text, flags=re.IGNORECASE)
    return _ADDRESS_LIKE.sub("<address>", text)


class AddressError(ValueError):
    """An address that is not a syntactically valid e-mail address."""


def new_link_nonce() -> str:
    """A fresh link generation: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def normalise_address(raw: str) -> tuple[str, str]:
    """(address as it will be mailed, key for uniqueness); raises AddressError with the reason."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AddressError(str(exc)) from None
    return checked.normalized, checked.normalized.lower()


@dataclass(frozen=True)
class Subscriber:
    """One subscriber as the mail channel and the web service see it."""

    id: int
    address: str | None
    language: str
    state: str
    topics: tuple[str, ...]
    source: str
    created_at: datetime
    confirmed_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    #: "immediate": every article; "digest": one mail per 区報 issue (urgent news still at once).
    delivery: str = "immediate"
    #: The subscription's link generation, signed into every link (``koho.tokens``).
    link_nonce: str = ""


@dataclass(frozen=True)
class NewSubscriber:
    """A validated row to add or update (from a CSV import or the sign-up form)."""

    address: str
    address_key: str
    topics: tuple[str, ...]
    language: str = "ja"
    line: int = 0
    delivery: str = "immediate"


class SubscriberStore:
    """Subscriber rows and their topics in the ledger's database."""

    def __init__(self, engine: Engine):
        self.engine = engine

    # -- reading -----------------------------------------------------------------------------

    def get(self, subscriber_id: int) -> Subscriber | None:
        """One subscriber by id."""
        found = self._load(select(subscribers).where(subscribers.c.id == subscriber_id))
        return found[0] if found else None

    def find(self, address: str) -> Subscriber | None:
        """One subscriber by address (any case), or None."""
        try:
            _, key = normalise_address(address)
        except AddressError:
            return None
        found = self._load(select(subscribers).where(subscribers.c.address_key == key))
        return found[0] if found else None

    def existing(self, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
        """address key -> (id, state) for the keys already stored."""
        out: dict[str, tuple[int, str]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(keys), 500):
                rows = conn.execute(
                    select(subscribers.c.address_key, subscribers.c.id, subscribers.c.state).where(
                        subscribers.c.address_key.in_(chunk)
                    )
                )
                out.update({k: (i, s) for k, i, s in rows})
        return out

    def confirmed_for(self, topics: Iterable[str], batch: int = 500) -> Iterator[list[Subscriber]]:
        """Confirmed subscribers of any of ``topics``, in id order, ``batch`` at a time.

        Keyset pagination: memory stays flat for any list size and the order is stable, which
        the mail fan-out relies on to resume where a crashed run stopped.
        """
        last = 0
        while True:
            page = self.confirmed_page(topics, last, batch)
            if not page:
                return
            yield page
            last = page[-1].id

    def confirmed_page(self, topics: Iterable[str], after: int, limit: int) -> list[Subscriber]:
        """Up to ``limit`` confirmed subscribers of any of ``topics`` whose id is above ``after``,
        in id order: one keyset page (a fan-out streams its audience page by page, ADR 0039)."""
        wanted = sorted(set(topics))
        # A correlated EXISTS probes the (subscriber_id, topic) key of each candidate row; the
        # IN (SELECT DISTINCT ...) it replaces was rebuilt for every page (SQLite): 10x slower
        # for 40,000 subscribers.
        has_topic = exists().where(
            and_(subscriber_topics.c.subscriber_id == subscribers.c.id, subscriber_topics.c.topic.in_(wanted))
        )
        return self._load(
            select(subscribers)
            .where(and_(subscribers.c.state == "confirmed", subscribers.c.id > after, has_topic))
            .order_by(subscribers.c.id)
            .limit(limit)
        )

    def all(self) -> Iterator[Subscriber]:
        """Every subscriber whose address is still kept, in id order."""
        last = 0
        while True:
            page = self._load(
                select(subscribers)
                .where(and_(subscribers.c.id > last, subscribers.c.address.is_not(None)))
                .order_by(subscribers.c.id)
                .limit(1000)
            )
            if not page:
                return
            yield from page
            last = page[-1].id

    def counts(self) -> tuple[Counter[str], Counter[str], Counter[str]]:
        """(subscribers per state, confirmed subscribers per topic, confirmed per language)."""
        confirmed = subscribers.c.state == "confirmed"
        with self.engine.connect() as conn:
            states: Counter[str] = Counter(
                dict(conn.execute(select(subscribers.c.state, func.count()).group_by(subscribers.c.state)).all())
            )
            topics: Counter[str] = Counter(
                dict(
                    conn.execute(
                        select(subscriber_topics.c.topic, func.count())
                        .join(subscribers, subscribers.c.id == subscriber_topics.c.subscriber_id)
                        .where(confirmed)
                        .group_by(subscriber_topics.c.topic)
                    ).all()
                )
            )
            languages: Counter[str] = Counter(
                dict(
                    conn.execute(
                        select(subscribers.c.language, func.count()).where(confirmed).group_by(subscribers.c.language)
                    ).all()
                )
            )
        return states, topics, languages

    def _load(self, query: Select[Any]) -> list[Subscriber]:
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            ids = [r["id"] for r in rows]
            topics: dict[int, list[str]] = {}
            for chunk in _chunks(ids, 500):
                for sid, topic in conn.execute(
                    select(subscriber_topics.c.subscriber_id, subscriber_topics.c.topic)
                    .where(subscriber_topics.c.subscriber_id.in_(chunk))
                    .order_by(subscriber_topics.c.topic)
                ):
                    topics.setdefault(sid, []).append(topic)
        return [
            Subscriber(
                id=r["id"],
                address=r["address"],
                language=r["language"],
                state=r["state"],
                topics=tuple(topics.get(r["id"], ())),
                source=r["source"],
                created_at=_aware(r["created_at"]),
                confirmed_at=_aware(r["confirmed_at"]),
                unsubscribed_at=_aware(r["unsubscribed_at"]),
                delivery=r["delivery"],
                link_nonce=r["link_nonce"] or "",
            )
            for r in rows
        ]

    # -- writing -----------------------------------------------------------------------------

    def upsert(self, rows: Sequence[NewSubscriber], state: str, source: str) -> tuple[int, int]:
        """Add new addresses and replace topics/language of existing ones, in one transaction.

        Returns (added, updated). Callers must have refused rows for unsubscribed or suppressed
        addresses: consent withdrawn is never overridden by an import.
        """
        if state not in ("pending", "confirmed"):
            raise ValueError(f"new subscribers start pending or confirmed, not {state!r}")
        now = utcnow()
        known = self.existing([r.address_key for r in rows])
        with self.engine.begin() as conn:
            fresh = [r for r in rows if r.address_key not in known]
            for chunk in _chunks(fresh, 1000):
                conn.execute(
                    insert(subscribers),
                    [
                        dict(
                            address=r.address,
                            address_key=r.address_key,
                            language=r.language,
                            state=state,
                            source=source,
                            created_at=now,
                            updated_at=now,
                            delivery=r.delivery,
                            link_nonce=new_link_nonce(),
                            confirmed_at=now if state == "confirmed" else None,
                        )
                        for r in chunk
                    ],
                )
            added = len(fresh)
            ids = self._ids(conn, [r.address_key for r in fresh])
            ids.update({k: v[0] for k, v in known.items()})
            again = [r for r in rows if r.address_key in known]
            updated = len(again)
            if again:  # one executemany and a few IN deletes, not two statements per address
                conn.execute(
                    update(subscribers)
                    .where(subscribers.c.id == bindparam("sid"))
                    .values(language=bindparam("lang"), delivery=bindparam("mode"), updated_at=now),
                    [dict(sid=ids[r.address_key], lang=r.language, mode=r.delivery) for r in again],
                )
                for id_chunk in _chunks([ids[r.address_key] for r in again], 500):
                    conn.execute(delete(subscriber_topics).where(subscriber_topics.c.subscriber_id.in_(id_chunk)))
            topic_rows = [dict(subscriber_id=ids[r.address_key], topic=t) for r in rows for t in r.topics]
            for topic_chunk in _chunks(topic_rows, 2000):
                conn.execute(insert(subscriber_topics), topic_chunk)
        return added, updated

    @staticmethod
    def _ids(conn: Connection, keys: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for chunk in _chunks(keys, 500):
            out.update(
                dict(
                    conn.execute(
                        select(subscribers.c.address_key, subscribers.c.id).where(subscribers.c.address_key.in_(chunk))
                    ).all()
                )
            )
        return out

    def set_state(self, subscriber_id: int, state: str, only_from: Sequence[str] | None = None) -> bool:
        """Move a subscriber to another state, stamping confirmation or unsubscription.

        With ``only_from`` the move happens only from those states, checked in the same UPDATE,
        so a confirm link can never revive an unsubscribed address and an unsubscribe can never
        turn a suppressed one (kept forever) into an erasable one. Returns whether a row moved.
        Ending a subscription starts a new link generation: its links stop working.
        """
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        now = utcnow()
        values = dict(state=state, updated_at=now)
        if state == "confirmed":
            values["confirmed_at"] = now
        if state in ("unsubscribed", "suppressed"):
            values["unsubscribed_at"] = now
            values["link_nonce"] = new_link_nonce()
        query = update(subscribers).where(subscribers.c.id == subscriber_id)
        if only_from is not None:
            query = query.where(subscribers.c.state.in_(list(only_from)))
        with self.engine.begin() as conn:
            return bool(conn.execute(query.values(**values)).rowcount)

    def subscribe(self, row: NewSubscriber, source: str) -> tuple[Subscriber, str]:
        """A sign-up from the web form; returns (subscriber, state before: ``new`` if none).

        New and unsubscribed addresses become ``pending`` with the form's topics, language and
        delivery (consent recorded anew: source and times reset, a new link generation); a pending
        one takes the newest form and keeps its generation (anyone can type the address: that must
        not kill the confirmation link already in the owner's mailbox).
        Confirmed and suppressed addresses are left exactly as they are: anyone can type an
        address into the form, so it must not change a live subscription or lift a suppression.
        """
        for attempt in (1, 2):
            try:
                return self._subscribe(row, source)
            except IntegrityError:  # the same address sent twice at once: the other insert won
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _subscribe(self, row: NewSubscriber, source: str) -> tuple[Subscriber, str]:
        now = utcnow()
        with self.engine.begin() as conn:
            found = conn.execute(
                select(subscribers.c.id, subscribers.c.state).where(subscribers.c.address_key == row.address_key)
            ).first()
            if found is None:
                sid = conn.execute(
                    insert(subscribers)
                    .values(
                        address=row.address,
                        address_key=row.address_key,
                        language=row.language,
                        state="pending",
                        delivery=row.delivery,
                        source=source,
                        created_at=now,
                        updated_at=now,
                        link_nonce=new_link_nonce(),
                    )
                    .returning(subscribers.c.id)
                ).scalar_one()
                before = "new"
            else:
                sid, before = found
                if before in ("pending", "unsubscribed"):
                    again = dict(link_nonce=new_link_nonce()) if before == "unsubscribed" else {}
                    conn.execute(
                        update(subscribers)
                        .where(subscribers.c.id == sid)
                        .values(
                            address=row.address,
                            language=row.language,
                            delivery=row.delivery,
                            state="pending",
                            source=source,
                            updated_at=now,
                            confirmed_at=None,
                            unsubscribed_at=None,
                            **again,
                        )
                    )
            if before in ("new", "pending", "unsubscribed"):
                self._replace_topics(conn, sid, row.topics)
        subscriber = self.get(sid)
        if subscriber is None:  # erased between the transaction above and this read
            raise LookupError(f"subscriber {sid} was erased while signing up")
        return subscriber, before

    def set_preferences(self, subscriber_id: int, topics: Sequence[str], language: str, delivery: str) -> None:
        """Replace a subscriber's topics, mail language and delivery (from the preferences page)."""
        if delivery not in DELIVERIES:
            raise ValueError(f"unknown delivery {delivery!r}")
        with self.engine.begin() as conn:
            conn.execute(
                update(subscribers)
                .where(subscribers.c.id == subscriber_id)
                .values(language=language, delivery=delivery, updated_at=utcnow())
            )
            self._replace_topics(conn, subscriber_id, topics)

    @staticmethod
    def _replace_topics(conn: Connection, subscriber_id: int, topics: Sequence[str]) -> None:
        conn.execute(delete(subscriber_topics).where(subscriber_topics.c.subscriber_id == subscriber_id))
        if topics:
            conn.execute(
                insert(subscriber_topics), [dict(subscriber_id=subscriber_id, topic=t) for t in sorted(set(topics))]
            )

    def erase_expired(self, retention: timedelta, now: datetime | None = None) -> list[int]:
        """Erase addresses unsubscribed longer than ``retention`` ago; return the erased ids
        (files named by subscriber id, such as outbox mails, are the caller's to remove).

        Sign-ups left unconfirmed that long are erased too (and count as unsubscribed): their
        confirmation link expired long before, and an address nobody consented for is not kept.
        """
        cutoff = (now or utcnow()) - retention
        erased = dict(address=None, address_key=None, erased_at=utcnow(), link_nonce=None)
        lapsed_rows = and_(subscribers.c.state == "pending", subscribers.c.updated_at < cutoff)
        ended_rows = and_(
            subscribers.c.state == "unsubscribed",
            subscribers.c.address.is_not(None),
            subscribers.c.unsubscribed_at < cutoff,
        )
        with self.engine.begin() as conn:
            # The ids first, in the same transaction: the rows are then updated by id.
            lapsed = [i for (i,) in conn.execute(select(subscribers.c.id).where(lapsed_rows))]
            ended = [i for (i,) in conn.execute(select(subscribers.c.id).where(ended_rows))]
            for chunk in _chunks(lapsed, 500):
                conn.execute(
                    update(subscribers)
                    .where(and_(lapsed_rows, subscribers.c.id.in_(chunk)))
                    .values(state="unsubscribed", unsubscribed_at=subscribers.c.updated_at, **erased)
                )
            for chunk in _chunks(ended, 500):
                conn.execute(update(subscribers).where(and_(ended_rows, subscribers.c.id.in_(chunk))).values(**erased))
        count = len(lapsed) + len(ended)
        if count and self.engine.dialect.name == "sqlite":
            # secure_delete zeroes freed space in the database file, but the write-ahead log still
            # holds the pages as they were before (address included) until a checkpoint resets it:
            # copy them back and truncate the log now, not at some later close.
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return sorted(lapsed + ended)
