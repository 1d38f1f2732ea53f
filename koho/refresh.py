"""Files that change with time alone: which are due to be written again, and their plan.

The archive's home pages drop an urgent notice when its urgency ends, and issue pages link their
e-book once the issue has appeared (``ChangesWithTime.moments``). Nothing is published at those
moments, so no article's plan renders those pages; publish-due asks this module instead. It
keeps the common run cheap: one query for when the channel's clock-dependent files were last
made current, and a walk over the live originals' moments; only when a moment has passed since
then are just the pages it touches rendered (in every edition) and written (ADR 0014).

The ledger is the memory: a refresh is recorded as a plan of the site (``SITE_ID``) under the
revision ``clock-<moment of the run>``, once its files are all written; its ``planned_at`` is
the moment the next run looks back to.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol

from koho.article import Article
from koho.channel import ChangesWithTime, Channel, PlanContext
from koho.delivery import Delivery
from koho.ledger import SITE_ID, Ledger, Recorded
from koho.pipeline import Outcome, RunState, live_translations
from koho.reader import Corpus
from koho.site import Site


class Refreshing(Channel[PlanContext], ChangesWithTime, Protocol):
    """What this module is given: a channel (its name, its deliveries) whose files change with time."""


#: The revision prefix of the site's files planned because the clock moved.
CLOCK = "clock-"


def due_pages(
    channel: Refreshing, articles: Iterable[Article], site: Site, since: datetime, now: datetime
) -> list[str]:
    """The pages of ``channel`` with a moment in (``since``, ``now``]: rendered before it, shown
    after it. A moment at or before ``since`` was already rendered past."""
    return sorted({page for moment, page in channel.moments(articles, site) if since < moment <= now})


def live_originals(channel: Refreshing, corpus: Corpus, now: datetime, state: RunState) -> list[Article]:
    """The originals on the channel at ``now`` (published there, ready and due)."""
    published = state.published(channel.name)
    return [a for a in corpus.articles.values() if a.id in published and a.on_site(now)]


def plan_refresh(
    channel: Refreshing, corpus: Corpus, ledger: Ledger, now: datetime, state: RunState, run_id: str | None = None
) -> tuple[list[Delivery], Recorded, Outcome] | None:
    """Plan and record (pending) the pages whose moments passed since the channel's files of
    this kind were last made current; None when there are none (the common run: nothing written).

    A refresh an earlier run left pending (its store was down) is closed as superseded: this
    plan renders the same pages, and any later moment's, as of ``now``.
    """
    since = ledger.current_since(channel.name, CLOCK)
    if since is None:
        return None  # nothing was ever planned here: no file on the channel depends on the clock
    # Every due article first (no query): in the common run no moment passed, and the ledger's
    # list of what is on the channel is never read.
    if not due_pages(channel, (a for a in corpus.articles.values() if a.on_site(now)), corpus.site, since, now):
        return None
    articles = live_originals(channel, corpus, now, state)
    pages = due_pages(channel, articles, corpus.site, since, now)
    if not pages:
        return None
    live = {a.id: a for a in articles}
    live.update(live_translations(channel, corpus, now, state))
    ctx = state.context(now, live, state.published(channel.name))
    revision = clock_revision(now)
    planned = channel.plan_pages(pages, ctx, revision)
    recorded = ledger.record(planned, run_id)
    ledger.close_unplanned(
        channel.name,
        SITE_ID,
        [d.key for d in planned],
        f"superseded by the refresh of {revision}",
        revision_prefix=CLOCK,
    )
    outcome = Outcome(
        channel.name,
        SITE_ID,
        note=f"changed with time since {since.astimezone(corpus.site.tz):%Y-%m-%d %H:%M %Z}: {', '.join(pages)}",
    )
    return planned, recorded, outcome


def finish_refresh(ledger: Ledger, outcome: Outcome, now: datetime) -> None:
    """Once a refresh's files are all written (or unchanged), the channel is current as of
    ``now``. Left open, the next run plans the same pages again (and supersedes these rows)."""
    if not outcome.left_open():
        mark_current(ledger, outcome.channel, now, outcome.planned)


def mark_current(ledger: Ledger, channel: str, now: datetime, count: int = 0) -> None:
    """Record that ``channel``'s clock-dependent files are current as of ``now`` (a refresh, or
    a full build, which renders every page at its ``now``)."""
    ledger.mark_planned(SITE_ID, clock_revision(now), channel, count, when=now)


def clock_revision(now: datetime) -> str:
    """``clock-20261201T000000Z``: the revision of files a refresh at ``now`` renders."""
    return CLOCK + now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
