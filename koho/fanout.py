"""A fan-out to an audience, streamed in keyset pages of subscribers (ADR 0039).

Holding a whole list's plan in memory cost about 3 KB per recipient (415 MB for 100,000). A
channel with an audience is planned a page of subscribers at a time instead: the page is read
from the database after the last subscriber id of the previous one (keyset), planned, recorded
``pending``, and sent in the channel's batches (each claimed with a lease, ``pipeline.deliver``)
before the next page is read. Memory follows the page, not the list.

Exactly once holds as before: every row is written pending before it is sent and sent only by
the run whose claim leased it. A run that stops between pages has recorded only the pages it
reached and has not marked the item planned, so the next run plans it again from the first
page: rows already sent stay sent, the rest are claimed and sent. Only after the last page are
the item's pending rows that no page planned closed (a subscriber who left meanwhile) and the
plan marked (``finish``): what the whole plan holds is known only then, as ``PlannedKeys``.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from koho.article import Article
from koho.bulletin import BulletinIssue
from koho.channel import Channel, HasAudience, HasIssueAudience, PlansIssues
from koho.delivery import Delivery
from koho.ledger import Ledger, Recorded


@dataclass(frozen=True)
class AudiencePage:
    """Which subscribers one page of a fan-out plans: up to ``limit`` after id ``after``."""

    after: int
    limit: int


@dataclass(frozen=True)
class Page:
    """One planned and recorded page: its deliveries, what recording found, and the subscriber
    id the next page starts after (None: this was the last page)."""

    planned: list[Delivery]
    recorded: Recorded
    next: int | None


def streams(channel: Channel[Any], item: Article | BulletinIssue) -> bool:
    """Whether ``item`` goes to ``channel``'s audience, and so is planned page by page."""
    if isinstance(item, BulletinIssue):
        return isinstance(channel, HasIssueAudience)
    return isinstance(channel, HasAudience)


def topics_of(channel: Channel[Any], item: Article | BulletinIssue) -> list[str]:
    """The topics whose confirmed subscribers are the item's audience on ``channel``."""
    if isinstance(item, BulletinIssue):
        assert isinstance(channel, HasIssueAudience), f"{channel.name} has no issue audience"
        return channel.audience_for_issue(item) or []
    assert isinstance(channel, HasAudience), f"{channel.name} has no audience"
    return channel.audience_for(item) or []


def next_after(audience: Sequence[Any], page: AudiencePage) -> int | None:
    """Where the page after ``audience`` starts; None when this page was the last (not full)."""
    return audience[-1].id if len(audience) >= page.limit else None


def plan_page(
    channel: Channel[Any],
    item: Article | BulletinIssue,
    ctx: Any,
    ledger: Ledger,
    page: AudiencePage,
    run_id: str | None = None,
) -> Page:
    """Plan one page (``ctx.audience`` holds its subscribers) and write its rows pending."""
    if isinstance(item, BulletinIssue):
        assert isinstance(channel, PlansIssues), f"{channel.name} plans no issues"
        planned = channel.plan_issue(item, ctx)
    else:
        planned = channel.plan(item, ctx)
    return Page(planned, ledger.record(planned, run_id), next_after(ctx.audience, page))


def finish(channel: Channel[Any], item: Article | BulletinIssue, keep: PlannedKeys, count: int, ledger: Ledger) -> None:
    """After the last page: close the item's pending rows that no page planned, and mark the
    revision planned (``Ledger.mark_planned``), as ``pipeline.plan_and_record`` does for a plan
    made whole."""
    original = (
        all(a.translation is None for a in item.articles)
        if isinstance(item, BulletinIssue)
        else item.translation is None
    )
    ledger.close_unplanned(
        channel.name,
        item.id,
        keep,
        f"no longer planned as of revision {item.revision}",
        item.language,
        unlabelled=original,
    )
    ledger.mark_planned(item.id, item.revision, channel.name, count)


class PlannedKeys:
    """The keys every page of a fan-out planned, as 8 bytes each (a set of the key strings
    would hold about 100 bytes per recipient, 50 MB at 500,000), answering ``in``.

    A 64-bit BLAKE2 digest per key: two keys sharing one is a chance of about n²/2⁶⁵ (7e-9 for
    a million recipients), and its only effect would be a stale pending row left open, never a
    mail sent.
    """

    def __init__(self) -> None:
        self._digests = array("Q")
        self._sorted = True

    @staticmethod
    def _digest(key: str) -> int:
        return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")

    def add(self, keys: Iterable[str]) -> None:
        """Remember these keys as planned."""
        self._digests.extend(self._digest(k) for k in keys)
        self._sorted = False

    def __len__(self) -> int:
        return len(self._digests)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        if not self._sorted:
            self._digests = array("Q", sorted(self._digests))
            self._sorted = True
        digest = self._digest(key)
        i = bisect_left(self._digests, digest)
        return i < len(self._digests) and self._digests[i] == digest
