"""Summaries of a run's outcomes, shared by the Prefect artifact and the CLI."""

from __future__ import annotations

from typing import Sequence

from koho.delivery import State


def artifact_rows(outcomes: Sequence) -> list[dict]:
    """One row per (article, channel): planned, new, sent, unchanged, failed, retrying, note."""
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
            "retrying": sum(1 for r in o.receipts if r.retry),
            "note": o.note or _failures(o),
        })
    return rows


def _failures(outcome) -> str:
    failed = [r for r in outcome.receipts if r.state == State.FAILED]
    return f"{len(failed)} failed, first: {failed[0].detail}" if failed else ""
