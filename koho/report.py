"""Summaries of a run's outcomes, shared by the Prefect artifact and the CLI.

Two views of one list of outcomes, both counted from the ledger after the run
(``Outcome.count``): ``artifact_rows``, a row per article (and language) and channel, for the
Prefect artifact and ``--details``; and ``summarize``, a row per channel for the person who ran
the command, with each reason said once under the table.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from koho.cli_words import N_
from koho.delivery import State

if TYPE_CHECKING:
    from koho.article import Article
    from koho.pipeline import Outcome


#: The columns of a run's report, in order (the artifact and the CLI table).
COLUMNS = ("article", "channel", "planned", "new", "sent", "unchanged", "failed", "pending", "uncertain", "note")


def artifact_rows(outcomes: Sequence[Outcome]) -> list[dict[str, str | int]]:
    """One row per (article, channel), counted from the ledger after delivery: planned, new,
    sent, unchanged, failed (by this run), pending and uncertain (still open), and a note."""
    rows: list[dict[str, str | int]] = []
    for o in outcomes:
        rows.append(
            {
                "article": o.label,
                "channel": o.channel,
                "planned": o.planned,
                "new": o.new,
                "sent": o.count(State.SENT),
                "unchanged": o.count(State.SKIPPED),
                "failed": o.count(State.FAILED),
                "pending": o.count(State.PENDING) if o.tally is not None else 0,
                "uncertain": o.count(State.UNCERTAIN),
                "note": o.note or _failures(o),
            }
        )
    return rows


def _failures(outcome: Outcome) -> str:
    failed = [r for r in outcome.receipts if r.state == State.FAILED]
    return f"{len(failed)} failed, first: {failed[0].detail}" if failed else ""


#: Skip reasons that mean "what the channel shows is already right": counted as unchanged.
#: Every other skip (no translation model, a post made after the change note) is a skip
#: with its reason, never counted as unchanged.
_CURRENT = ("unchanged", "description already current", "the post was already deleted")
#: Notes the flows write on an article that was held back (``pipeline.hold_reason``).
_HELD = ("embargoed until ", "draft:")
#: A dry run's note for a translation it would skip (``flows.publish``).
_WOULD_SKIP = "would skip: "
#: Notes that say nothing the counts do not (per article; they would repeat down the table).
_ROUTINE = ("dry run: nothing written", "nothing to send: already delivered", "nothing to deliver", "would write: ")


@dataclass
class ChannelRow:
    """What one channel did in a run, summed over its articles, languages and issues."""

    channel: str
    planned: int = 0
    new: int = 0
    sent: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    pending: int = 0
    uncertain: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Summary:
    """A run in a few lines: a row per channel, and each reason once."""

    channels: list[ChannelRow]
    #: reason -> (deliveries skipped for it, the channels they were on)
    skipped: dict[str, tuple[int, list[str]]]
    #: article id -> why it was held back (embargo, draft), as the flows noted it
    held: dict[str, str]
    #: channel -> (failed deliveries, the first reason)
    failures: dict[str, tuple[int, str]]

    def total(self, name: str) -> int:
        """The sum of one count over every channel."""
        return sum(getattr(row, name) for row in self.channels)


def summarize(outcomes: Sequence[Outcome]) -> Summary:
    """Sum ``outcomes`` per channel (in the order channels first appear) and collect the reasons:
    a skip reason (a missing translation model is one per language) is given once with its
    count, a held article once however many channels it was held from."""
    rows: dict[str, ChannelRow] = {}
    skipped: dict[str, tuple[int, list[str]]] = {}
    held: dict[str, str] = {}
    failures: dict[str, tuple[int, str]] = {}
    for o in outcomes:
        row = rows.setdefault(o.channel, ChannelRow(o.channel))
        row.planned += o.planned
        row.new += o.new
        row.sent += o.count(State.SENT)
        row.failed += o.count(State.FAILED)
        row.pending += o.count(State.PENDING) if o.tally is not None else 0
        row.uncertain += o.count(State.UNCERTAIN)
        reasons = Counter(
            r.detail or ""
            for r in o.receipts
            if r.state == State.SKIPPED and not r.retry and not (r.detail or "").startswith(_CURRENT)
        )
        # What the ledger counts as skipped, less the skips with a reason, is unchanged output.
        row.unchanged += max(0, o.count(State.SKIPPED) - sum(reasons.values()))
        if o.note.startswith(_WOULD_SKIP):  # a dry run: no receipt, only the note
            reasons[o.note.removeprefix(_WOULD_SKIP)] += 1
        row.skipped += sum(reasons.values())
        for reason, n in reasons.items():
            count, channels = skipped.get(reason, (0, []))
            skipped[reason] = (count + n, channels + ([o.channel] if o.channel not in channels else []))
        if o.count(State.FAILED):
            count, first = failures.get(o.channel, (0, ""))
            first = first or next((r.detail or "" for r in o.receipts if r.state == State.FAILED), "")
            failures[o.channel] = (count + o.count(State.FAILED), first)
        note = o.note
        if note.startswith(_HELD) and not o.planned:
            held.setdefault(o.item_id, note)
        elif (
            note
            and not note.startswith(_ROUTINE + (_WOULD_SKIP,))
            and ": would send " not in note
            and note not in reasons
            and note not in row.notes
        ):
            row.notes.append(note)
    return Summary(list(rows.values()), skipped, held, failures)


#: What a run that found nothing to do says (the artifact in English, the CLI in the reader's language).
NOTHING_DUE = N_("Nothing due at {now}: every ready article is already delivered on every channel.")
NEXT_EMBARGO = N_("Next to be published: {id} ({title}) at {when}; publish-due sends it then.")
NO_EMBARGO = N_("No article is waiting for its publish time.")


def next_embargo(articles: Iterable[Article], now: datetime) -> tuple[Article, datetime] | None:
    """The ready article with the first publishing moment after ``now``, and that moment: its
    publish time, or for a press release already with the media, the end of its embargo (the
    site's turn, ADR 0035). Drafts wait for nobody."""
    waiting = [(moment, a) for a in articles if a.status == "ready" and (moment := _next_moment(a, now))]
    first = min(waiting, key=lambda w: (w[0], w[1].id), default=None)
    return None if first is None else (first[1], first[0])


def _next_moment(article: Article, now: datetime) -> datetime | None:
    return next((m for m in (article.publish_at, article.on_site_at) if m > now), None)


def markdown_text(text: str) -> str:
    """``text`` as literal Markdown inside a line (an article title must not become a link, an
    image, emphasis or HTML in the Prefect UI): line breaks become spaces, and every character
    with an inline meaning in CommonMark or GitHub's tables and strikethrough is backslash-escaped;
    ids keep their hyphens. Hand-written: markdown-it renders Markdown but offers no escaping."""
    return re.sub(r"([\\`*_\[\]<>&~|])", r"\\\1", " ".join(text.split()))


def nothing_due(
    articles: Iterable[Article],
    now: datetime,
    tz: tzinfo,
    say: Callable[[str], str] = str,
    literal: Callable[[str], str] = str,
) -> list[str]:
    """A run with nothing due in two lines: when it looked, and the next embargo (or that none
    is waiting), times in the site's zone; ``say`` translates (the CLI's ``_``), ``literal``
    makes content safe for the output (``markdown_text`` for the artifact)."""
    lines = [say(NOTHING_DUE).format(now=f"{now.astimezone(tz):%Y-%m-%d %H:%M %Z}")]
    found = next_embargo(articles, now)
    if found is None:
        return lines + [say(NO_EMBARGO)]
    article, when = found
    return lines + [
        say(NEXT_EMBARGO).format(
            id=literal(article.id),
            title=literal(article.title),
            when=f"{when.astimezone(tz):%Y-%m-%d %H:%M %Z}",
        )
    ]
