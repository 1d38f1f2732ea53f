"""Telling the operators, once, what needs a person (issue 14).

Three things need one: deliveries that ``failed`` (final for the runs until ``koho redrive``),
deliveries still open long after they were planned (a provider down for an hour, a quota, a run
that keeps crashing), and scheduled runs that did not happen (the worker was down: nothing was
published while it was). At the end of every real run, what is new of these is written to the
``alerts`` table and told to the operators in the same transaction: a run whose telling fails
(the mail server is down) rolls back and the next run tells it; two runs at once tell each thing
once (the second one's insert finds the first one's rows).

A mail failure to 40,000 subscribers is one line, not 40,000: problems are grouped by article,
channel and language, with a count and the first reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import groupby

from sqlalchemy import and_, not_, select

from koho.cli_words import N_, catalog
from koho.delivery import OPEN_STATES, State
from koho.ledger import Ledger
from koho.ledger import _aware as aware  # SQLite keeps no zone: the ledger's own rule
from koho.ledger_schema import alerts, deliveries, run_starts

FAILED, PENDING, MISSED = "failed", "pending", "missed"


@dataclass(frozen=True)
class Problem:
    """One thing to tell: a delivery (``subject`` is its key) or a gap between scheduled runs."""

    subject: str
    kind: str
    since: datetime
    channel: str = ""
    article_id: str = ""
    language: str | None = None
    detail: str = ""
    #: A gap's end: the run that noticed it.
    until: datetime | None = None


def note_start(ledger: Ledger, work: str, now: datetime, allowed: timedelta) -> Problem | None:
    """Record that a scheduled run of ``work`` starts ``now``; the gap since the previous start
    when it is longer than ``allowed`` (runs that should have happened and did not)."""
    now = now.astimezone(UTC)
    with ledger.engine.begin() as conn:
        previous = conn.execute(select(run_starts.c.started_at).where(run_starts.c.work == work)).scalar()
        upsert = ledger._insert(run_starts).values(work=work, started_at=now)
        conn.execute(upsert.on_conflict_do_update(index_elements=["work"], set_={"started_at": now}))
    if previous is None or now - aware(previous) <= allowed:
        return None
    start = aware(previous)
    return Problem(f"missed:{work}:{start.isoformat()}", MISSED, start, until=now, detail=work)


def problems(ledger: Ledger, now: datetime, pending_after: timedelta) -> list[Problem]:
    """Failed deliveries, and open ones planned more than ``pending_after`` ago, that the
    operators have not been told of yet. A row waiting for a quota to reset is neither while its
    reset is ahead (ADR 0030): it goes out then, and ``koho status`` says when; once the reset
    has passed and it is still open, it is late like any other."""
    c = deliveries.c
    told = select(alerts.c.subject)
    old = (now - pending_after).astimezone(UTC)
    waits = and_(c.waiting.is_(True), c.not_before > now.astimezone(UTC))
    query = (
        select(c.key, c.state, c.channel, c.article_id, c.language, c.detail, c.created_at, c.updated_at, c.not_before)
        .where(c.key.not_in(told))
        .where(
            (c.state == State.FAILED.value)
            | and_(c.state.in_([s.value for s in OPEN_STATES]), c.created_at <= old, not_(waits))
        )
        .order_by(c.article_id, c.channel, c.language, c.id)
    )
    with ledger.engine.connect() as conn:
        rows = conn.execute(query).all()
    found = []
    for r in rows:
        if r.state == State.FAILED.value:
            found.append(
                Problem(r.key, FAILED, aware(r.updated_at), r.channel, r.article_id, r.language, r.detail or "")
            )
        else:
            waiting = f" (not before {aware(r.not_before).isoformat()})" if r.not_before else ""
            detail = f"{r.state}{waiting}: {r.detail}" if r.detail else f"{r.state}{waiting}"
            found.append(Problem(r.key, PENDING, aware(r.created_at), r.channel, r.article_id, r.language, detail))
    return found


def tell_once(
    ledger: Ledger, found: Sequence[Problem], now: datetime, tell: Callable[[list[Problem]], None]
) -> list[Problem]:
    """Tell ``tell`` the problems no run has told yet and record them, in one transaction: if
    ``tell`` raises, nothing is recorded and the next run tells them. Returns what was told."""
    if not found:
        return []
    by_subject = {p.subject: p for p in found}
    now = now.astimezone(UTC)
    with ledger.engine.begin() as conn:
        ours: list[Problem] = []
        subjects = list(by_subject)
        for start in range(0, len(subjects), 500):
            chunk = subjects[start : start + 500]
            rows = [dict(subject=s, kind=by_subject[s].kind, alerted_at=now) for s in chunk]
            # RETURNING: exactly the rows this run inserted; a run racing us waits on the unique
            # index until we commit, then inserts (and tells) nothing.
            inserted = conn.execute(
                ledger._insert(alerts)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["subject"])
                .returning(alerts.c.subject)
            ).scalars()
            ours += [by_subject[s] for s in inserted]
        if ours:
            tell(ours)  # inside the transaction: a failure rolls the record back
    return ours


@dataclass(frozen=True)
class Group:
    """Problems of one kind on one article, channel and language: one line of the message."""

    kind: str
    article_id: str
    channel: str
    language: str | None
    count: int
    since: datetime
    detail: str
    until: datetime | None = None


def grouped(told: Sequence[Problem]) -> list[Group]:
    """One group per kind, article, channel and language, in that order; the earliest time and
    the first reason stand for the group."""

    def key(p: Problem) -> tuple[str, str, str, str]:
        return (p.kind, p.article_id, p.channel, p.language or "")

    groups = []
    for _, items in groupby(sorted(told, key=key), key=key):
        members = sorted(items, key=lambda p: p.since)
        first = members[0]
        groups.append(
            Group(
                first.kind,
                first.article_id,
                first.channel,
                first.language,
                len(members),
                first.since,
                first.detail,
                first.until,
            )
        )
    return groups


def message(told: Sequence[Problem], tz: tzinfo, language: str, pending_after: timedelta) -> tuple[str, str]:
    """(subject, plain text) of the operators' mail, in ``language`` (``ja`` or ``en``)."""
    t = catalog(language).gettext
    groups = grouped(told)
    counts = {kind: sum(g.count for g in groups if g.kind == kind) for kind in (FAILED, PENDING, MISSED)}
    parts = []
    if counts[FAILED]:
        parts.append(t(N_("{n} failed")).format(n=counts[FAILED]))
    if counts[PENDING]:
        parts.append(t(N_("{n} pending too long")).format(n=counts[PENDING]))
    if counts[MISSED]:
        parts.append(t(N_("scheduled runs missed")))
    subject = t(N_("koho: {what}")).format(what=", ".join(parts))

    def when(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    lines: list[str] = []
    sections = (
        (FAILED, N_("Failed: no run sends these again until a person fixes the cause and redrives them.")),
        (PENDING, N_("Still not delivered {minutes:.0f} minutes after they were planned:")),
    )
    for kind, heading in sections:
        mine = [g for g in groups if g.kind == kind]
        if not mine:
            continue
        lines += [t(heading).format(minutes=pending_after.total_seconds() / 60), ""]
        for g in mine:
            edition = f" ({g.language})" if g.language and g.language != "ja" else ""
            lines.append(
                t(N_("- {article}{edition} on {channel}: {n} deliveries since {since}")).format(
                    article=g.article_id, edition=edition, channel=g.channel, n=g.count, since=when(g.since)
                )
            )
            if g.detail:
                lines.append(t(N_("  reason: {detail}")).format(detail=g.detail))
            if kind == FAILED:
                lines.append(
                    t(
                        N_('  after fixing it: koho redrive --article {article} --channel {channel} --yes --reason "…"')
                    ).format(article=g.article_id, channel=g.channel)
                )
        lines.append("")
    for g in (g for g in groups if g.kind == MISSED):
        lines.append(
            t(N_("No scheduled {work} run between {start} and {end}: the worker may have been down.")).format(
                work=g.detail, start=when(g.since), end=when(g.until or g.since)
            )
        )
    return subject, "\n".join(lines).rstrip() + "\n"
