"""The delivery ledger: every planned delivery is a row, written ``pending`` before sending.

SQLAlchemy Core over any database URL (SQLite file by default, PostgreSQL in production);
Alembic migrates the schema on open. A unique index on the idempotency key is what makes a
re-run of the same revision a no-op.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

from alembic import command
from alembic.config import Config
from sqlalchemy import Table, and_, bindparam, case, create_engine, event, func, literal, or_, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from koho import clock
from koho.delivery import OPEN_STATES, Delivery, Receipt, State
from koho.errors import ConfigError
from koho.ledger_schema import build_members, deliveries, plans, quota_usage, revisions
from koho.settings import mask_url

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.pool import ConnectionPoolEntry

T = TypeVar("T")

_CHUNK = 500
#: Article id under which full-build deliveries of shared files are recorded.
SITE_ID = "_site"
MIGRATIONS = Path(__file__).parent / "migrations"
#: Alembic's command API installs module-global proxies (``alembic.context``, ``alembic.op``) for
#: the length of a command and deletes them after: two threads of one process opening a ledger at
#: once (two runs, or tasks, in one interpreter) deleted each other's (KeyError 'config'). Across
#: processes the database itself serialises the upgrade; within one, this lock does.
_MIGRATING = threading.Lock()


def utcnow() -> datetime:
    """Aware UTC now from the run's clock (``KOHO_NOW`` when pinned); the ledger stores UTC."""
    return clock.now()


@overload
def _aware(value: datetime) -> datetime: ...
@overload
def _aware(value: datetime | None) -> datetime | None: ...
def _aware(value: datetime | None) -> datetime | None:
    # SQLite keeps no zone; everything koho writes is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True)
class Recorded:
    """Outcome of recording a plan: which keys are new and the state of every key."""

    new: frozenset[str]
    states: dict[str, str]

    def to_deliver(self) -> list[str]:
        """Keys still owed: new and pending rows, and uncertain ones awaiting reconciliation."""
        return [k for k, s in self.states.items() if s in OPEN_STATES]


@dataclass(frozen=True)
class Claim:
    """The rows one ``Ledger.claim`` leased to a run: ``keys`` to send, of which ``doubtful``
    must be reconciled first (they were uncertain, or a crashed run's lease was taken over)."""

    keys: tuple[str, ...]
    doubtful: frozenset[str]


@dataclass(frozen=True)
class Wait:
    """Deliveries of one article on one channel (and language) waiting for a quota to reset."""

    article_id: str
    channel: str
    language: str | None
    count: int
    #: When the first of them goes out (the reset).
    until: datetime
    #: Why, as the channel said it.
    detail: str


class Ledger:
    """Per-channel delivery log shared by flows, the CLI and ``koho status``."""

    def __init__(self, url: str):
        try:
            parsed = make_url(url)
            parsed.port  # noqa: B018  a non-numeric port raises here: a setting error, not a traceback
        except ValueError:
            raise ConfigError("KOHO_DATABASE_URL has a port that is not a number") from None
        except ArgumentError:
            raise ConfigError(
                "KOHO_DATABASE_URL is not a database URL (e.g. postgresql://user@host/koho or sqlite:///.koho/koho.db)"
            ) from None
        if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
            _private_sqlite_file(Path(parsed.database))
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.url = parsed
        try:
            self.engine: Engine = create_engine(parsed, pool_pre_ping=True)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise ConfigError(f"cannot use the ledger database {self.describe()}: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            self.migrate()
        except OperationalError as exc:  # unreachable server, wrong password, unwritable file
            self.engine.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise ConfigError(f"cannot open the ledger database {self.describe()}: {reason}") from None

    def describe(self) -> str:
        """The URL with any password masked (also ``?password=`` and one holding ``@``)."""
        return mask_url(self.url.render_as_string(hide_password=False))

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with _MIGRATING, self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    # -- writing -----------------------------------------------------------------------------

    def record(self, planned: Sequence[Delivery], run_id: str | None = None) -> Recorded:
        """Insert every planned delivery as ``pending`` unless its key exists; report all states."""
        now = utcnow()
        states: dict[str, str] = {}
        new: set[str] = set()
        with self.engine.begin() as conn:
            for chunk in _chunks(list(planned), _CHUNK):
                keys = [d.key for d in chunk]
                existing = dict(
                    conn.execute(select(deliveries.c.key, deliveries.c.state).where(deliveries.c.key.in_(keys))).all()
                )
                rows = [_new_row(d, State.PENDING, now, run_id=run_id) for d in chunk if d.key not in existing]
                if rows:
                    # RETURNING tells which rows this run really inserted: a concurrent run may
                    # have inserted some of the same keys a moment earlier.
                    inserted = (
                        conn.execute(self._insert_ignore(deliveries, ["key"]).returning(deliveries.c.key), rows)
                        .scalars()
                        .all()
                    )
                    new.update(inserted)
                    lost = {r["key"] for r in rows} - set(inserted)
                    if lost:
                        existing.update(
                            conn.execute(
                                select(deliveries.c.key, deliveries.c.state).where(deliveries.c.key.in_(lost))
                            ).all()
                        )
                for key in keys:
                    states[key] = existing.get(key, State.PENDING.value)
        return Recorded(frozenset(new), states)

    def _insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """An INSERT with this database's ON CONFLICT clauses (the two dialects spell them alike)."""
        name = self.engine.dialect.name
        if name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table)
        raise NotImplementedError(f"koho's ledger supports SQLite and PostgreSQL, not {name}")

    def _insert_ignore(self, table: Table, index_elements: list[str]) -> postgresql.Insert | sqlite.Insert:
        # Two runs racing on the same article must not fail on the unique index: the loser's
        # insert simply does nothing, exactly like a re-run.
        return self._insert(table).on_conflict_do_nothing(index_elements=index_elements)

    def mark_planned(
        self, article_id: str, revision: str, channel: str, count: int, when: datetime | None = None
    ) -> None:
        """Remember that this revision was planned on ``channel`` (``count`` deliveries, maybe 0),
        at ``when`` (default: now)."""
        stamp = (when or utcnow()).astimezone(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                self._insert_ignore(plans, ["article_id", "revision", "channel"]).values(
                    article_id=article_id, revision=revision, channel=channel, deliveries=count, planned_at=stamp
                )
            )

    def close_unplanned(
        self,
        channel: str,
        article_id: str,
        keep: Container[str],
        reason: str,
        language: str | None = None,
        unlabelled: bool = True,
        revision_prefix: str = "",
    ) -> int:
        """Mark pending rows of an article on ``channel`` that the newest plan no longer holds as
        skipped (a recipient who unsubscribed meanwhile, a page of a superseded revision).

        With ``language``, only that language's rows (and, if ``unlabelled``, rows without a
        language: the original's media) are the plan's to close: a plan of the Japanese original
        must never close a translation's pending mail, nor the other way round. With
        ``revision_prefix``, only rows whose revision starts with it (the site's files of one kind).
        ``keep`` answers ``in``: a list or set of keys, or a fan-out's ``koho.fanout.PlannedKeys``.
        """
        keep_set = set(keep) if isinstance(keep, (list, tuple)) else keep
        where = and_(
            deliveries.c.channel == channel,
            deliveries.c.article_id == article_id,
            deliveries.c.state == State.PENDING.value,
        )
        if revision_prefix:
            where = and_(where, deliveries.c.revision.startswith(revision_prefix, autoescape=True))
        if language is not None:
            mine = deliveries.c.language == language
            where = and_(where, or_(mine, deliveries.c.language.is_(None)) if unlabelled else mine)
        with self.engine.begin() as conn:
            stale = [k for k in conn.execute(select(deliveries.c.key).where(where)).scalars() if k not in keep_set]
            for chunk in _chunks(stale, _CHUNK):
                conn.execute(
                    update(deliveries)
                    .where(deliveries.c.key.in_(chunk))
                    .values(state=State.SKIPPED.value, detail=reason, updated_at=utcnow())
                )
        return len(stale)

    def claim(self, keys: Sequence[str], owner: str, lease: float) -> Claim:
        """Lease the open rows among ``keys`` to ``owner`` for ``lease`` seconds, in the statement
        that reads them, and count an attempt on each (ADR 0012).

        A row is open when pending or uncertain, not leased by a live run, and past its retry
        time. Another run's live lease is skipped, so two runs (or many workers) never send the
        same row; an expired lease is a run that crashed mid-send: its rows come back marked
        uncertain, to be reconciled before anything is resent. PostgreSQL skips rows another
        claim has locked (``FOR UPDATE SKIP LOCKED``); SQLite has one writer at a time, so the
        same UPDATE is atomic there by itself.
        """
        now = utcnow()
        until = now + timedelta(seconds=lease)
        claimed: list[str] = []
        doubtful: set[str] = set()
        c = deliveries.c
        leased_before = c.lease_owner.is_not(None)
        for chunk in _chunks(list(keys), _CHUNK):
            open_row = and_(
                c.key.in_(chunk),
                c.state.in_([s.value for s in OPEN_STATES]),
                or_(c.lease_until.is_(None), c.lease_until < now),
                or_(c.not_before.is_(None), c.not_before <= now),
            )
            if self.engine.dialect.name == "postgresql":
                open_row = c.id.in_(select(c.id).where(open_row).with_for_update(skip_locked=True).scalar_subquery())
            # SET expressions read the row as it was: a lease still on a row here means its
            # owner died before storing the outcome.
            stmt = (
                update(deliveries)
                .where(open_row)
                .values(
                    lease_owner=owner,
                    lease_until=until,
                    attempts=c.attempts + 1,
                    updated_at=now,
                    run_id=owner,
                    state=case((leased_before, literal(State.UNCERTAIN.value)), else_=c.state),
                    in_doubt=case(
                        (or_(leased_before, c.state == State.UNCERTAIN.value), literal(True)), else_=c.in_doubt
                    ),
                )
                .returning(c.key, c.state)
            )
            with self.engine.begin() as conn:
                for key, state in conn.execute(stmt):
                    claimed.append(key)
                    if state == State.UNCERTAIN.value:
                        doubtful.add(key)
        order = {k: i for i, k in enumerate(keys)}
        return Claim(tuple(sorted(claimed, key=order.__getitem__)), frozenset(doubtful))

    def reopen(self, keys: Sequence[str], reason: str) -> int:
        """Make delivered rows pending again (a store lost their files): the next delivery
        writes them. Returns how many rows were reopened."""
        done = [State.SENT.value, State.SKIPPED.value]
        count = 0
        with self.engine.begin() as conn:
            for chunk in _chunks(list(keys), _CHUNK):
                count += conn.execute(
                    update(deliveries)
                    .where(and_(deliveries.c.key.in_(chunk), deliveries.c.state.in_(done)))
                    .values(state=State.PENDING.value, detail=reason, not_before=None, updated_at=utcnow())
                ).rowcount
        return count

    def record_copies(self, delivery: Delivery, refs: Sequence[str]) -> None:
        """Record further provider ids of ``delivery`` (copies reconciliation found) as sent rows
        ``<target>+<id>``, in doubt: a withdrawal plans a deletion for each."""
        now = utcnow()
        rows = [
            _new_row(
                replace(delivery, target=f"{delivery.target}+{ref}"),
                State.SENT,
                now,
                provider_ref=ref,
                detail="a copy of the post, found by reconciliation",
                in_doubt=True,
                sent_at=now,
            )
            for ref in refs
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(self._insert_ignore(deliveries, ["key"]), rows)

    def release(self, keys: Sequence[str]) -> None:
        """Give claimed rows back untouched (nothing was sent: a configuration error stopped
        the batch), so the next run can send them at once."""
        with self.engine.begin() as conn:
            for chunk in _chunks(list(keys), _CHUNK):
                conn.execute(
                    update(deliveries).where(deliveries.c.key.in_(chunk)).values(lease_owner=None, lease_until=None)
                )

    def begin_attempt(self, keys: Iterable[str]) -> None:
        """Count an attempt without a lease (kept for callers outside the claim step)."""
        now = utcnow()
        with self.engine.begin() as conn:
            for chunk in _chunks(list(keys), _CHUNK):
                conn.execute(
                    update(deliveries)
                    .where(deliveries.c.key.in_(chunk))
                    .values(attempts=deliveries.c.attempts + 1, updated_at=now)
                )

    def apply(self, receipts: Sequence[Receipt]) -> None:
        """Store receipts and release their leases: final states, provider references, reasons;
        a transient failure's retry time, a quota wait's end; an uncertain outcome marks the row
        in doubt."""
        if not receipts:
            return
        now = utcnow()
        stmt = (
            update(deliveries)
            .where(deliveries.c.key == bindparam("k"))
            .values(
                state=bindparam("s"),
                provider_ref=bindparam("ref"),
                detail=bindparam("why"),
                updated_at=bindparam("now"),
                sent_at=bindparam("sent"),
                lease_owner=None,
                lease_until=None,
                not_before=bindparam("nb"),
                waiting=bindparam("waits"),
                in_doubt=or_(deliveries.c.in_doubt, bindparam("doubt")),
            )
        )
        params = [
            dict(
                k=r.key,
                s=r.state.value,
                ref=r.provider_ref,
                why=r.detail,
                now=now,
                sent=now if r.state == State.SENT else None,
                nb=_not_before(r, now),
                waits=r.until is not None,
                doubt=r.state == State.UNCERTAIN,
            )
            for r in receipts
        ]
        with self.engine.begin() as conn:
            conn.execute(stmt, params)

    def first_seen(self, article_id: str, revision: str, when: datetime | None = None) -> datetime:
        """When this revision was first recorded (recording it now if it is new)."""
        stamp = (when or utcnow()).astimezone(UTC)  # stored as UTC: SQLite keeps no zone
        where = and_(revisions.c.article_id == article_id, revisions.c.revision == revision)
        with self.engine.begin() as conn:
            found: datetime | None = conn.execute(select(revisions.c.first_seen_at).where(where)).scalar()
            if found is None:
                conn.execute(
                    self._insert_ignore(revisions, ["article_id", "revision"]).values(
                        article_id=article_id, revision=revision, first_seen_at=stamp
                    )
                )
                found = conn.execute(select(revisions.c.first_seen_at).where(where)).scalar_one()
            return _aware(found)

    def record_build(self, channel: str, build_id: str, article_ids: Iterable[str]) -> None:
        """Remember which articles a completed full build put on ``channel`` (replacing the last)."""
        rows = [dict(channel=channel, article_id=a, build_id=build_id) for a in sorted(set(article_ids))]
        with self.engine.begin() as conn:
            conn.execute(build_members.delete().where(build_members.c.channel == channel))
            if rows:
                conn.execute(build_members.insert(), rows)

    def spend_quota(self, provider: str, period: str, units: int) -> int:
        """Add ``units`` to what ``provider``'s quota ``period`` has used; return the new total.

        One atomic statement (insert, or add on conflict), so parallel workers never lose units.
        """
        values = dict(provider=provider, period=period, units=units, updated_at=utcnow())
        stmt = self._insert(quota_usage).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["provider", "period"],
            set_=dict(units=quota_usage.c.units + stmt.excluded.units, updated_at=stmt.excluded.updated_at),
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)
        return self.quota_spent(provider, period)

    # -- reading -----------------------------------------------------------------------------

    def quota_spent(self, provider: str, period: str) -> int:
        """Units ``provider``'s quota ``period`` has used so far (0 if none recorded)."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(quota_usage.c.units).where(
                    and_(quota_usage.c.provider == provider, quota_usage.c.period == period)
                )
            ).scalar()
        return int(found or 0)

    def provider_refs(self, channel: str, article_id: str) -> dict[str, str]:
        """Target -> the provider's id of the newest sent delivery of an article on a channel
        (the post a reply answers or a withdrawal deletes)."""
        query = (
            select(deliveries.c.target, deliveries.c.provider_ref)
            .where(
                and_(
                    deliveries.c.channel == channel,
                    deliveries.c.article_id == article_id,
                    deliveries.c.state == State.SENT.value,
                    deliveries.c.provider_ref.is_not(None),
                )
            )
            .order_by(deliveries.c.updated_at, deliveries.c.id)
        )
        with self.engine.connect() as conn:
            return {target: ref for target, ref in conn.execute(query)}

    def current_since(self, channel: str, revision_prefix: str) -> datetime | None:
        """When ``channel``'s site files of a kind were last made current: the newest plan of the
        site recorded under a revision starting with ``revision_prefix``; failing that, the
        channel's first plan (no file on it is older); None if nothing was ever planned on it."""
        mine = and_(
            plans.c.channel == channel,
            plans.c.article_id == SITE_ID,
            plans.c.revision.startswith(revision_prefix, autoescape=True),
        )
        with self.engine.connect() as conn:
            found = conn.execute(select(func.max(plans.c.planned_at)).where(mine)).scalar()
            if found is None:
                found = conn.execute(select(func.min(plans.c.planned_at)).where(plans.c.channel == channel)).scalar()
        return _aware(found)

    def revision_times(self) -> dict[tuple[str, str], datetime]:
        """(article id, revision) -> first recorded time, for every revision known."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(revisions.c.article_id, revisions.c.revision, revisions.c.first_seen_at)).all()
        return {(a, r): _aware(t) for a, r, t in rows}

    def published_ids(self, channel: str, language: str | None = None) -> set[str]:
        """Articles on ``channel``: a delivery of theirs reached it, or the last full build had them.

        With ``language``: articles whose translation into it reached the channel (full builds
        list originals only).
        """
        where = and_(deliveries.c.channel == channel, deliveries.c.state.in_([State.SENT.value, State.SKIPPED.value]))
        if language is not None:
            where = and_(where, deliveries.c.language == language)
        with self.engine.connect() as conn:
            delivered = set(conn.execute(select(deliveries.c.article_id).distinct().where(where)).scalars())
            built = (
                set()
                if language is not None
                else set(
                    conn.execute(select(build_members.c.article_id).where(build_members.c.channel == channel)).scalars()
                )
            )
        return (delivered | built) - {SITE_ID}

    def previous_targets(
        self, channel: str, article_id: str, revision: str, language: str | None = None
    ) -> frozenset[str]:
        """Targets this channel wrote for other revisions of the article (of its translation into
        ``language``, when given)."""
        where = and_(
            deliveries.c.channel == channel, deliveries.c.article_id == article_id, deliveries.c.revision != revision
        )
        if language is not None:
            where = and_(where, deliveries.c.language == language)
        with self.engine.connect() as conn:
            return frozenset(conn.execute(select(deliveries.c.target).distinct().where(where)).scalars())

    def settled(self, channels: Sequence[str]) -> set[tuple[str, str]]:
        """(article id, revision) pairs planned on every one of ``channels`` with nothing pending.

        Any pending row of the article counts, whatever its revision: mail rows carry the fixed
        revision ``once``, and a translation's rows its own. Two grouped queries for the whole
        ledger: publish-due asks this of every article.
        """
        wanted = set(channels)
        planned: dict[tuple[str, str], set[str]] = {}
        with self.engine.connect() as conn:
            for article_id, revision, channel in conn.execute(
                select(plans.c.article_id, plans.c.revision, plans.c.channel).where(plans.c.channel.in_(wanted))
            ):
                planned.setdefault((article_id, revision), set()).add(channel)
            pending = set(
                conn.execute(
                    select(deliveries.c.article_id)
                    .distinct()
                    .where(
                        and_(deliveries.c.channel.in_(wanted), deliveries.c.state.in_([s.value for s in OPEN_STATES]))
                    )
                ).scalars()
            )
        return {key for key, chans in planned.items() if chans >= wanted and key[0] not in pending}

    def sent_elsewhere(self, channel: str, article_id: str, language: str) -> frozenset[str]:
        """Targets that already received the article on ``channel`` in a language other than
        ``language``: a subscriber who switched language must not get the same news twice."""
        query = (
            select(deliveries.c.target)
            .distinct()
            .where(
                and_(
                    deliveries.c.channel == channel,
                    deliveries.c.article_id == article_id,
                    deliveries.c.state == State.SENT.value,
                    deliveries.c.language != language,
                )
            )
        )
        with self.engine.connect() as conn:
            return frozenset(conn.execute(query).scalars())

    def rows(
        self, article_id: str | None = None, channel: str | None = None, keys: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """Ledger rows, newest first, optionally for one article or channel or some keys."""
        query = select(deliveries).order_by(deliveries.c.updated_at.desc(), deliveries.c.id.desc())
        if article_id:
            query = query.where(deliveries.c.article_id == article_id)
        if channel:
            query = query.where(deliveries.c.channel == channel)
        with self.engine.connect() as conn:
            if keys is not None:
                found: list[dict[str, Any]] = []
                for chunk in _chunks(list(keys), _CHUNK):
                    found += [dict(r._mapping) for r in conn.execute(query.where(deliveries.c.key.in_(chunk)))]
                result = found
            else:
                result = [dict(r._mapping) for r in conn.execute(query)]
        for row in result:
            for col in ("created_at", "updated_at", "sent_at", "not_before"):
                row[col] = _aware(row[col])
        return result

    def tally(self, keys: Sequence[str], run_id: str | None) -> Counter[str]:
        """What became of ``keys``, for a run's report: ``sent``, ``skipped`` and ``failed``
        made final by ``run_id``; ``elsewhere``: final by another run (already delivered, or
        sent by an overlapping run); ``pending`` and ``uncertain`` whoever holds them; and
        ``in_doubt``: rows that may have reached someone twice; ``retrying``: pending rows this
        run tried (a temporary failure, not another run's work), with ``retry_reasons`` distinct
        reasons; ``waiting``: pending rows waiting for a quota to reset (also in ``pending``)."""
        found: Counter[str] = Counter()
        reasons: set[str | None] = set()
        c = deliveries.c
        with self.engine.connect() as conn:
            for chunk in _chunks(list(keys), _CHUNK):
                query = (
                    select(c.state, c.run_id, c.in_doubt, c.detail, c.waiting, func.count())
                    .where(c.key.in_(chunk))
                    .group_by(c.state, c.run_id, c.in_doubt, c.detail, c.waiting)
                )
                for state, owner, doubt, detail, waits, n in conn.execute(query):
                    if state == State.PENDING.value and waits:
                        found["waiting"] += n  # a quota refused them until it resets: no failure
                    elif state == State.PENDING.value and run_id and owner == run_id:
                        found["retrying"] += n  # this run tried them and they failed for now
                        reasons.add(detail)
                    if state in (State.PENDING.value, State.UNCERTAIN.value) or (run_id and owner == run_id):
                        found[state] += n
                    else:
                        found["elsewhere"] += n
                    if doubt:
                        found["in_doubt"] += n
        found["retry_reasons"] = len(reasons)
        return found

    def counts(self) -> dict[tuple[str, str], Counter[str]]:
        """(article id, channel) -> Counter of states: the overview of ``koho status``."""
        query = select(deliveries.c.article_id, deliveries.c.channel, deliveries.c.state, func.count()).group_by(
            deliveries.c.article_id, deliveries.c.channel, deliveries.c.state
        )
        out: dict[tuple[str, str], Counter[str]] = {}
        with self.engine.connect() as conn:
            for article_id, channel, state, n in conn.execute(query):
                out.setdefault((article_id, channel), Counter())[state] = n
        return out

    def waits(self) -> list[Wait]:
        """Pending rows waiting for a provider's quota to reset, one ``Wait`` per article,
        channel and language, soonest first: what ``koho status`` says will go out, and when."""
        c = deliveries.c
        query = (
            select(c.article_id, c.channel, c.language, func.count(), func.min(c.not_before), func.min(c.detail))
            .where(and_(c.state == State.PENDING.value, c.waiting.is_(True), c.not_before.is_not(None)))
            .group_by(c.article_id, c.channel, c.language)
        )
        with self.engine.connect() as conn:
            found = [Wait(a, ch, lang, n, _aware(t), why or "") for a, ch, lang, n, t, why in conn.execute(query)]
        return sorted(found, key=lambda w: (w.until, w.article_id, w.channel))

    def doubt_by_channel(self) -> dict[str, int]:
        """Channel -> rows in doubt (once uncertain): the only ones that may have gone out twice."""
        query = (
            select(deliveries.c.channel, func.count())
            .where(deliveries.c.in_doubt.is_(True))
            .group_by(deliveries.c.channel)
        )
        with self.engine.connect() as conn:
            return dict(conn.execute(query).all())

    def few_refs(self, most: int) -> dict[tuple[str, str], list[str]]:
        """(article id, channel) -> provider ids of its sent deliveries, for pairs with at most
        ``most`` of them (a post, its reply; a broadcast; a video), oldest first."""
        sent = and_(deliveries.c.state == State.SENT.value, deliveries.c.provider_ref.is_not(None))
        # Grouped first, so a mail list's thousands of message ids are counted, never read.
        few = (
            select(deliveries.c.article_id, deliveries.c.channel)
            .where(sent)
            .group_by(deliveries.c.article_id, deliveries.c.channel)
            .having(func.count() <= most)
            .subquery()
        )
        query = (
            select(deliveries.c.article_id, deliveries.c.channel, deliveries.c.provider_ref)
            .join(few, and_(few.c.article_id == deliveries.c.article_id, few.c.channel == deliveries.c.channel))
            .where(sent)
            .order_by(deliveries.c.sent_at, deliveries.c.id)
        )
        found: dict[tuple[str, str], list[str]] = {}
        with self.engine.connect() as conn:
            for article_id, channel, ref in conn.execute(query):
                found.setdefault((article_id, channel), []).append(ref)
        return found

    def last_activity(self) -> dict[tuple[str, str], datetime]:
        """(article id, channel) -> time of its latest ledger update."""
        query = select(deliveries.c.article_id, deliveries.c.channel, func.max(deliveries.c.updated_at)).group_by(
            deliveries.c.article_id, deliveries.c.channel
        )
        with self.engine.connect() as conn:
            return {(a, c): _aware(t) for a, c, t in conn.execute(query)}


#: When an uncertain row is looked at again: long enough for the provider to show what it
#: accepted (a post in the timeline), short enough for the next scheduled run.
RECONCILE_AFTER = 60.0
#: Longest back-off of a transient failure without the provider's own retry time.
MAX_BACKOFF = 3600.0


#: The columns a row copies from its Delivery.
_IDENTITY = ("key", "channel", "target", "article_id", "revision", "language")


def _new_row(d: Delivery, state: State, now: datetime, **values: Any) -> dict[str, Any]:
    """A ``deliveries`` row for ``d`` as first written in ``state`` (no attempt yet), with the
    further column ``values``."""
    row = {column: getattr(d, column) for column in _IDENTITY}
    return row | dict(state=state.value, attempts=0, created_at=now, updated_at=now, **values)


def _not_before(receipt: Receipt, now: datetime) -> datetime | None:
    """A quota wait until its reset, however far (a day, a month); a transient failure the
    provider's time or a short back-off; an uncertain one a minute; anything final never again."""
    if receipt.until is not None:
        return receipt.until.astimezone(UTC)
    if receipt.retry:
        return now + timedelta(seconds=min(receipt.retry_after or 2.0, MAX_BACKOFF))
    if receipt.state == State.UNCERTAIN:
        return now + timedelta(seconds=RECONCILE_AFTER)
    return None


def _private_sqlite_file(path: Path) -> None:
    """Create the database's folder 0700 and the file 0600 before SQLite does (it would use the
    umask, often 0644): the ledger holds every subscriber's address. SQLite gives its -wal and
    -shm files the database file's mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.exists():
        # Never open and close an existing database file here: closing any descriptor of it
        # drops every POSIX lock this process's SQLite connections hold on it.
        return
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # another process created it first
        pass


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets `koho status` read while a flow writes; the busy timeout rides out short locks.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # An erased address must not survive in freed pages of the file (or its WAL).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
