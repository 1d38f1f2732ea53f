"""Failed deliveries sent again after a person fixed the cause (``koho redrive``, issue 14).

A ``failed`` row is final for the runs: no run retries it, because the provider refused it for a
reason a retry does not change (a revoked token, a rejected text, a mailbox that does not exist).
Once a person has fixed that cause, ``redrive`` turns the rows they name back to ``pending`` and
records who did it and why, next to the failure it answers; the next run sends them like any new
work, through the same claim and lease, so two redrives or a redrive during a scheduled run still
send each row once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, insert, select, update

from koho.delivery import State
from koho.ledger import Ledger, utcnow
from koho.ledger import _aware as aware  # SQLite keeps no zone: the ledger's own rule
from koho.ledger_schema import deliveries, redrives

#: Rows per statement: SQLite allows 32,766 bound parameters, PostgreSQL 65,535.
_CHUNK = 500


@dataclass(frozen=True)
class Failed:
    """One failed delivery as the operator sees it before deciding."""

    key: str
    channel: str
    article_id: str
    language: str | None
    target: str
    detail: str
    failed_at: datetime


def failed(
    ledger: Ledger,
    channels: Sequence[str] = (),
    article_id: str | None = None,
    since: datetime | None = None,
) -> list[Failed]:
    """Failed rows, oldest failure first, of ``channels`` (all when empty), one article, or
    those that failed at or after ``since``."""
    c = deliveries.c
    query = select(c.key, c.channel, c.article_id, c.language, c.target, c.detail, c.updated_at).where(
        c.state == State.FAILED.value
    )
    if channels:
        query = query.where(c.channel.in_(list(channels)))
    if article_id:
        query = query.where(c.article_id == article_id)
    if since is not None:
        # In UTC: SQLite compares the stored text, which the ledger writes in UTC.
        query = query.where(c.updated_at >= since.astimezone(UTC))
    with ledger.engine.connect() as conn:
        rows = conn.execute(query.order_by(c.updated_at, c.id)).all()
    return [
        Failed(r.key, r.channel, r.article_id, r.language, r.target, r.detail or "", aware(r.updated_at)) for r in rows
    ]


def redrive(ledger: Ledger, rows: Sequence[Failed], actor: str, reason: str) -> list[Failed]:
    """Make ``rows`` pending again and record ``actor`` and ``reason`` for each; return the rows
    this call moved. A row no longer failed (another redrive, or a run, got there first) is left
    as it is and not recorded, so a redrive never sends or counts anything twice."""
    if not actor.strip() or not reason.strip():
        raise ValueError("a redrive needs who and why")
    by_key = {r.key: r for r in rows}
    moved: list[Failed] = []
    now = utcnow()
    c = deliveries.c
    with ledger.engine.begin() as conn:
        for start in range(0, len(by_key), _CHUNK):
            chunk = list(by_key)[start : start + _CHUNK]
            # RETURNING names exactly the rows this statement changed: a concurrent redrive
            # (PostgreSQL re-checks the WHERE after waiting on the row lock) moves the others.
            done = conn.execute(
                update(deliveries)
                .where(and_(c.key.in_(chunk), c.state == State.FAILED.value))
                .values(
                    state=State.PENDING.value,
                    detail=f"redriven by {actor}: {reason}",
                    not_before=None,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                )
                .returning(c.key)
            ).scalars()
            moved += [by_key[key] for key in done]
        if moved:
            conn.execute(
                insert(redrives),
                [dict(delivery_key=r.key, actor=actor, reason=reason, failure=r.detail, at=now) for r in moved],
            )
    return moved


def history(ledger: Ledger, key: str) -> list[dict[str, object]]:
    """Every redrive of one delivery, oldest first: who, why, the failure it answered, when."""
    query = select(redrives).where(redrives.c.delivery_key == key).order_by(redrives.c.id)
    with ledger.engine.connect() as conn:
        return [dict(r._mapping) | {"at": aware(r.at)} for r in conn.execute(query)]
