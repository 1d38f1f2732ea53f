"""Summaries of a run's outcomes, shared by the Prefect artifact and the CLI."""

from __future__ import annotations

from typing import Sequence

from koho.delivery import State


#: The columns of a run's report, in order (the artifact and the CLI table).
COLUMNS = ("article", "channel", "planned", "new", "sent", "unchanged", "failed", "pending", "uncertain", "note")


def artifact_rows(outcomes: Sequence) -> list[dict]:
    """One row per (article, channel), counted from the ledger after delivery: planned, new,
    sent, unchanged, failed (by this run), pending and uncertain (still open), and a note."""
    rows = []
    for o in outcomes:
        rows.append({
            "article": o.article_id,
            "channel": o.channel,
            "planned": o.planned,
            "new": o.new,
            "sent": o.count(State.SENT),
            "unchanged": o.count(State.SKIPPED),
            "failed": o.count(State.FAILED),
            "pending": o.count(State.PENDING) if o.tally is not None else 0,
            "uncertain": o.count(State.UNCERTAIN),
            "note": o.note or _failures(o),
        })
    return rows


def _failures(outcome) -> str:
    failed = [r for r in outcome.receipts if r.state == State.FAILED]
    return f"{len(failed)} failed, first: {failed[0].detail}" if failed else ""
