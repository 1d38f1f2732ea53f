"""Run koho's publishing steps for one article on one channel, as a flow would, without Prefect."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from koho.clock import now as koho_now
from koho.ledger import Ledger
from koho.pipeline import RunState, TransientDeliveryError, context_for, deliver, plan_and_record
from koho.reader import Corpus, load
from koho.settings import Settings


def corpus() -> Corpus:
    """The workspace's content, which must be valid."""
    found = load(Settings())
    assert not found.errors, found.errors
    return found


def publish(channel, article_id: str, ledger: Ledger, now: datetime | None = None):
    """Plan, record and deliver one article; return (receipts, transient error or None)."""
    content = corpus()
    article = content.articles[article_id]
    state = RunState(ledger, content)
    state.see_revision(article)  # as the driver does before planning an original
    ctx = context_for(channel, article, content, ledger, now or koho_now(), state=state)
    planned, _ = plan_and_record(channel, article, ctx, ledger)
    try:
        return deliver(channel, ledger, planned), None
    except TransientDeliveryError as exc:
        return [], exc


def rows(ledger: Ledger, channel: str) -> dict[str, dict]:
    """Ledger rows of a channel by target."""
    return {r["target"]: r for r in ledger.rows(channel=channel)}


def edit_front_matter(workspace: Path, article_id: str, **changes: str) -> None:
    """Set (or add) front-matter keys of a sample article, as PR staff would edit the file."""
    path = next((workspace / "content" / "articles").rglob(f"{article_id}.md"), None)
    if path is None:  # articles whose id differs from the file name
        path = next(
            p
            for p in (workspace / "content" / "articles").rglob("*.md")
            if f"id: {article_id}\n" in p.read_text(encoding="utf-8")
        )
    text = path.read_text(encoding="utf-8")
    head, sep, body = text[4:].partition("\n---\n")
    for key, value in changes.items():
        line = f"{key}: {value}"
        if re.search(rf"^{key}:.*$", head, flags=re.M):
            head = re.sub(rf"^{key}:.*$", line, head, flags=re.M)
        else:
            head += "\n" + line
    path.write_text("---\n" + head + sep + body, encoding="utf-8")
