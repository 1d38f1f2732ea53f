"""The publishing steps every flow runs, channel-agnostic: decide, plan, record, deliver.

Flows wrap these in Prefect tasks; the benchmark and tests can call them directly. Nothing here
knows a particular channel: channels come in through the Channel protocol.
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, make_dataclass, replace
from dataclasses import fields as dataclass_fields
from datetime import datetime
from types import MappingProxyType
from typing import Any

from koho import clock, progress
from koho.article import Article
from koho.bulletin import BulletinIssue
from koho.channel import (
    AudienceContext,
    Channel,
    DeliveryError,
    FinishesRun,
    FollowsUp,
    FollowUpContext,
    MailsTheMedia,
    MediaContext,
    OnceAcrossLanguages,
    PlanContext,
    PlansIssues,
    Rebuildable,
    Reconciles,
    SpendsQuota,
)
from koho.delivery import Delivery, Receipt, State
from koho.errors import ConfigError
from koho.fanout import AudiencePage, streams, topics_of
from koho.ledger import SITE_ID, Ledger, Recorded
from koho.outlets import Outlet, OutletStore
from koho.reader import Corpus
from koho.subscribers import Subscriber, SubscriberStore

#: Longest pause koho takes for a provider's Retry-After before handing back to the retry policy.
MAX_RETRY_AFTER = 300.0
#: How long a run holds the rows of a batch it is sending: longer than any batch takes (200
#: mails, 20 posts with their timeouts), short enough that a crashed run's rows come back soon.
LEASE_SECONDS = 900.0


class TransientDeliveryError(Exception):
    """Some deliveries of a batch failed transiently; their rows stay pending for a retry."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def hold_reason(article: Article, now: datetime) -> str | None:
    """Why an article is not published now (draft, embargo), or None if it may go out."""
    if article.status == "draft":
        return "draft: not published"
    if article.status == "ready" and article.publish_at > now:
        return f"embargoed until {article.publish_at:%Y-%m-%d %H:%M %Z}"
    return None


def feed_times(articles: Iterable[Article], times: dict[tuple[str, str], datetime]) -> dict[str, datetime]:
    """The 'updated' time of each article: its publish time for the first revision, else when
    the current revision was first recorded. Stable across re-runs, so output bytes are too."""
    first_by_article: dict[str, datetime] = {}
    for (article_id, _rev), seen in times.items():
        if article_id not in first_by_article or seen < first_by_article[article_id]:
            first_by_article[article_id] = seen
    updated: dict[str, datetime] = {}
    for article in articles:
        current = times.get((article.id, article.revision))
        if current is None or current <= first_by_article.get(article.id, current):
            updated[article.id] = article.publish_at
        else:
            updated[article.id] = max(current.astimezone(article.publish_at.tzinfo), article.publish_at)
    return updated


class RunState:
    """Ledger facts that planning needs, read once per run and kept current as the run goes.

    Reading them per article would make publishing N articles cost N full ledger scans.
    The run driver owns it: the steps (planning, the context builders) only read it, filling
    its caches on first read; what the run did is told to it by the driver's own functions
    (``see_revision``, ``add_translation``, ``delivered``, ``down``), never by a step.
    """

    def __init__(
        self,
        ledger: Ledger,
        corpus: Corpus,
        translate: Callable[[Article, str], Article | None] | None = None,
        languages: Sequence[str] = (),
    ):
        self.ledger = ledger
        self.corpus = corpus
        self.times = ledger.revision_times()
        self.updated = feed_times(corpus.articles.values(), self.times)
        self._published: dict[str | tuple[str, str], set[str]] = {}
        self._audiences: dict[tuple[str, ...], list[Subscriber]] = {}
        self._outlets: list[Outlet] | None = None
        #: The planning context of the fan-out being streamed (ADR 0039): made on its first page,
        #: reused with each further page's audience (one at a time: a fan-out ends before the next).
        self._stream: tuple[tuple[str, ...], PlanContext] | None = None
        #: Translates an original (None when it cannot be): flows pass ``translations``' translator,
        #: so listing pages in a language can show translations published by earlier runs.
        self.translate = translate
        self._translations: dict[tuple[str, str], Article | None] = {}
        #: The languages this run translates into (none in a Japanese-only run): every plan on a
        #: channel that takes them sees their live versions too (switchers, hreflang, sitemap).
        self.languages = tuple(languages)
        #: Live translations per (channel, language), built once per run and kept current.
        self._live: dict[tuple[str, str], dict[str, Article]] = {}
        self._now: datetime | None = None
        self._settled: dict[str, set[tuple[str, str]]] = {}
        #: Channels whose deliveries kept failing transiently in this run: not tried again in it.
        self.down: set[str] = set()

    def context(
        self,
        now: datetime,
        live: dict[str, Article],
        published: Iterable[str] = (),
        previous_targets: frozenset[str] = frozenset(),
    ) -> PlanContext:
        """The base planning context of this run at ``now`` with ``live`` (``PlanContext``)."""
        return PlanContext(
            site=self.corpus.site,
            now=now,
            live=live,
            # A read-only view, not a copy: a run plans many articles against thousands of feed times.
            updated=MappingProxyType(self.updated),
            previous_targets=previous_targets,
            published=frozenset(published),
        )

    def audience(self, topics: Sequence[str]) -> list[Subscriber]:
        """Confirmed subscribers of any of ``topics`` (read once per topic set and run)."""
        key = tuple(sorted(set(topics)))
        if key not in self._audiences:
            store = SubscriberStore(self.ledger.engine)
            self._audiences[key] = [s for batch in store.confirmed_for(key) for s in batch]
        return self._audiences[key]

    def outlets(self) -> list[Outlet]:
        """The media list (read once per run)."""
        if self._outlets is None:
            self._outlets = OutletStore(self.ledger.engine).all()
        return self._outlets

    def audience_page(self, topics: Sequence[str], page: AudiencePage) -> list[Subscriber]:
        """One keyset page of the confirmed subscribers of any of ``topics`` (never kept)."""
        return SubscriberStore(self.ledger.engine).confirmed_page(topics, page.after, page.limit)

    def stream_context(self, key: tuple[str, ...], first: bool, make: Callable[[], PlanContext]) -> PlanContext:
        """The context of a streamed fan-out's page: ``make``'s on its first page (and whenever
        another fan-out was streamed since), the same one after."""
        if first or self._stream is None or self._stream[0] != key:
            self._stream = (key, make())
        return self._stream[1]

    def published(self, channel: str, language: str | None = None) -> set[str]:
        """Articles on ``channel`` (read from the ledger once, then updated by ``delivered``);
        with ``language``, those whose translation into it is there."""
        key = channel if language is None else (channel, language)
        if key not in self._published:
            self._published[key] = self.ledger.published_ids(channel, language)
        return self._published[key]

    def settled(self, channel: str) -> set[tuple[str, str]]:
        """(id, revision) pairs settled on ``channel`` when first asked in this run: a run asks
        once per translation and issue, and each ask is two queries over the whole ledger."""
        if channel not in self._settled:
            self._settled[channel] = self.ledger.settled([channel])
        return self._settled[channel]

    def add_translation(self, translated: Article) -> None:
        """Remember a translation made in this run (planning its language's lists needs it)."""
        self._translations[(translated.id, translated.language)] = translated
        for (channel, language), live in self._live.items():
            if language == translated.language and translated.id in live:
                self._refresh(live, channel, language, translated.id)

    def translation(self, article: Article, language: str) -> Article | None:
        """The translation of an original into ``language`` (made once per run), or None."""
        key = (article.id, language)
        if key not in self._translations:
            self._translations[key] = self.translate(article, language) if self.translate else None
        return self._translations[key]

    def made(self, article_id: str, language: str) -> Article | None:
        """The translation of an article made in this run (never translates)."""
        return self._translations.get((article_id, language))

    def live_translations(self, channel: str, language: str, now: datetime) -> dict[str, Article]:
        """The translations into ``language`` on ``channel`` whose originals are live, by id:
        read and translated once per run, then kept current by ``delivered`` and
        ``add_translation``, so each plan costs a dict merge, not N translations. Read-only."""
        key = (channel, language)
        if key not in self._live:
            self._now = now
            live: dict[str, Article] = {}
            for article_id in sorted(self.published(channel, language)):
                self._refresh(live, channel, language, article_id)
            self._live[key] = live
        return self._live[key]

    def _refresh(self, live: dict[str, Article], channel: str, language: str, article_id: str) -> None:
        original = self.corpus.articles.get(article_id)
        translated = None
        if (
            original is not None
            and self._now is not None
            and original.on_site(self._now)
            and article_id in self.published(channel, language)
        ):
            translated = self.translation(original, language)
        if translated is not None and not translated.withdrawn:
            live[article_id] = translated
        else:
            live.pop(article_id, None)

    def see_revision(self, article: Article) -> None:
        """Record when this revision was first seen and refresh the article's feed time."""
        if (article.id, article.revision) in self.times:
            return
        self.times[(article.id, article.revision)] = self.ledger.first_seen(article.id, article.revision)
        mine = {key: when for key, when in self.times.items() if key[0] == article.id}
        self.updated.update(feed_times([article], mine))

    def delivered(self, channel: str, article_id: str, reached: bool, language: str | None = None) -> None:
        """After delivery: an article with any file on the channel (``reached``) is now listed
        there (in ``language``, for a translation)."""
        if reached:
            self.published(channel).add(article_id)
            if language is not None:
                self.published(channel, language).add(article_id)
                if (channel, language) in self._live:
                    self._refresh(self._live[(channel, language)], channel, language, article_id)


def context_for(
    channel: Channel[Any],
    article: Article,
    corpus: Corpus,
    ledger: Ledger,
    now: datetime,
    state: RunState | None = None,
    page: AudiencePage | None = None,
) -> PlanContext:
    """The planning input for one channel and article, read from the corpus, the ledger and the
    run's state: the context the channel declared (``capability_context``). Writes nothing: the
    revision's first-seen time is recorded by the driver beforehand (``RunState.see_revision``).
    With ``page``, the audience is that page of it (a streamed fan-out, ADR 0039).
    """
    state = state or RunState(ledger, corpus)
    if article.translation is not None:
        return translation_context(channel, article, corpus, ledger, now, state, page)
    published = state.published(channel.name)
    live = {a.id: a for a in corpus.articles.values() if a.id in published and a.on_site(now)}
    if article.withdrawn:
        live.pop(article.id, None)
    else:
        live[article.id] = article
    live.update(other_languages(channel, article, now, state))
    base = state.context(now, live, published, ledger.previous_targets(channel.name, article.id, article.revision))
    return capability_context(channel, base, article, article.language, state, page)


def translation_context(
    channel: Channel[Any],
    article: Article,
    corpus: Corpus,
    ledger: Ledger,
    now: datetime,
    state: RunState,
    page: AudiencePage | None = None,
) -> PlanContext:
    """The planning input for a translated article: ``live`` holds the same-language
    translations already on the channel, plus this one, and every other language's live
    versions (the originals included), keyed ``id`` for originals and ``id@lang`` for
    translations (see ``other_languages``).

    Feed times are the originals' (a translation is updated when its original is), so a
    translation never moves an original's entry; no revision time is recorded for it.
    """
    language = article.language
    published = state.published(channel.name, language)
    live = {a.id: a for a in corpus.articles.values() if a.id in state.published(channel.name) and a.on_site(now)}
    original = corpus.articles.get(article.id)
    if original is not None and original.on_site(now):
        live[original.id] = original  # published by this run (translations are planned first)
    live.update(other_languages(channel, article, now, state))
    mine = {f"{i}@{language}": a for i, a in state.live_translations(channel.name, language, now).items()}
    mine.pop(f"{article.id}@{language}", None)
    if not article.withdrawn:
        mine[f"{article.id}@{language}"] = article
    live.update(mine)
    base = state.context(
        now, live, published, ledger.previous_targets(channel.name, article.id, article.revision, language)
    )
    return capability_context(channel, base, article, language, state, page)


def issue_context(
    channel: Channel[Any],
    issue: BulletinIssue,
    corpus: Corpus,
    now: datetime,
    state: RunState,
    page: AudiencePage | None = None,
) -> PlanContext:
    """The planning input for one bulletin issue: its articles are live; a channel that sends
    issues to people (``HasIssueAudience``) gets the confirmed subscribers of its topics (with
    ``page``, that page of them)."""
    base = state.context(now, {a.id: a for a in issue.articles})
    return capability_context(channel, base, issue, issue.language, state, page)


def capability_context(
    channel: Channel[Any],
    base: PlanContext,
    item: Article | BulletinIssue,
    language: str,
    state: RunState,
    page: AudiencePage | None = None,
) -> PlanContext:
    """``base`` with what each capability the channel declared adds for planning ``item`` (an
    article or, for ``plan_issue``, an issue), and nothing it did not declare: an audience (all
    of it, or with ``page`` that keyset page) and who got the item in another language
    (``AudienceContext``), the provider's ids of what was sent (``FollowUpContext``). The reads
    each capability needs are made only for it."""
    kinds: list[type[PlanContext]] = []
    extra: dict[str, Any] = {}
    audience: Sequence[Subscriber] | None = None  # None: the channel has no audience for ``item``

    if streams(channel, item):  # the item's topics on the channel (fanout decides, for both)
        topics = topics_of(channel, item)
        if not topics:
            audience = ()
        else:
            audience = state.audience(topics) if page is None else state.audience_page(topics, page)
    if not isinstance(item, BulletinIssue):
        if isinstance(channel, MailsTheMedia):
            kinds.append(MediaContext)
            extra["outlets"] = tuple(state.outlets()) if channel.wants_media_list(item) else ()
        if isinstance(channel, FollowsUp):
            kinds.append(FollowUpContext)
            # The provider's ids are the original's posts: no posting channel takes translations.
            wanted = item.translation is None and channel.follows_up(item)
            extra["provider_refs"] = MappingProxyType(
                state.ledger.provider_refs(channel.name, item.id) if wanted else {}
            )
    if audience is not None:
        kinds.append(AudienceContext)
        extra["audience"] = audience
        once = bool(audience) and isinstance(channel, OnceAcrossLanguages)
        extra["sent_elsewhere"] = state.ledger.sent_elsewhere(channel.name, item.id, language) if once else frozenset()
    if not kinds:
        return base
    fields = {f.name: getattr(base, f.name) for f in dataclass_fields(PlanContext)}
    return context_type(tuple(kinds))(**fields, **extra)


@functools.cache
def context_type(kinds: tuple[type[PlanContext], ...]) -> type[PlanContext]:
    """The context class with the fields of every capability context in ``kinds`` (one alone is
    itself): a channel with two capabilities sees both contexts' fields, and no others."""
    if len(kinds) == 1:
        return kinds[0]
    name = "".join(k.__name__.removesuffix("Context") for k in kinds) + "Context"
    return make_dataclass(name, [], bases=kinds, frozen=True)


def other_languages(channel: Channel[Any], article: Article, now: datetime, state: RunState) -> dict[str, Article]:
    """The live translations, keyed ``id@lang``, in every language of the run that ``channel``
    takes, other than the article's own and the original's: what the archive needs for language
    switchers, ``hreflang`` and sitemap alternates, and to refresh the other editions' pages.

    The article's own versions made in this run count although the run delivers them later
    (translations are all made before any is planned), so every plan of a run renders the same
    bytes for a page and a second run finds nothing new. Empty in a Japanese-only run.
    """
    live: dict[str, Article] = {}
    for language in state.languages:
        if language in (article.language, state.corpus.site.language) or language not in channel.limits.languages:
            continue
        live.update((f"{i}@{language}", a) for i, a in state.live_translations(channel.name, language, now).items())
        key = f"{article.id}@{language}"
        version = state.made(article.id, language)
        if article.withdrawn or (version is not None and version.withdrawn):
            live.pop(key, None)
        elif version is not None:
            live[key] = version
    return live


@dataclass
class Outcome:
    """What one channel did for one article, issue or site rebuild in a run."""

    channel: str
    #: The article's or issue's id (``SITE_ID`` for a rebuild or a refresh of site pages).
    item_id: str
    #: The translation's language; None for an original (and its issue) and for site pages.
    language: str | None = None
    planned: int = 0
    new: int = 0
    receipts: list[Receipt] = field(default_factory=list)
    note: str = ""
    #: For full builds: the build id and the articles it contained.
    build_id: str = ""
    members: list[str] = field(default_factory=list)
    #: What the ledger says after delivery (``Ledger.tally``): the run's report is read from it,
    #: never from receipts held in memory (a batch whose retries ran out returns none).
    tally: Counter[str] | None = None
    #: A batch still failed transiently after its retries (the store or API is down for now).
    stuck: bool = False

    @property
    def label(self) -> str:
        """The item as the report shows it: ``id``, or ``id (lang)`` for a translation."""
        return self.item_id if self.language is None else f"{self.item_id} ({self.language})"

    def count(self, state: State | str) -> int:
        """Deliveries of this outcome in ``state``: made final by this run for sent, unchanged
        (skipped) and failed; whoever holds them for pending and uncertain."""
        if self.tally is not None:
            return self.tally[str(state)]
        return sum(1 for r in self.receipts if r.state == state and not r.retry)

    def left_open(self) -> bool:
        """Whether any of its deliveries failed or is still pending or uncertain."""
        return any(self.count(s) for s in (State.FAILED, State.PENDING, State.UNCERTAIN))

    def reached(self) -> bool:
        """Whether any of its deliveries is on the channel now (sent or already there)."""
        if self.tally is not None:
            return bool(self.tally[State.SENT] or self.tally[State.SKIPPED] or self.tally["elsewhere"])
        return any(r.state in (State.SENT, State.SKIPPED) for r in self.receipts)


def plan_and_record(
    channel: Channel[Any],
    item: Article | BulletinIssue,
    ctx: PlanContext,
    ledger: Ledger,
    run_id: str | None = None,
    dry_run: bool = False,
) -> tuple[list[Delivery], Recorded]:
    """Plan (pure: ``plan``, or ``plan_issue`` for a whole 区報 issue) then write every delivery
    ``pending`` before anything is sent; then close the pending rows of this item and language
    that the plan no longer holds (an original's plan also those without a language: its media)."""
    if isinstance(item, BulletinIssue):
        assert isinstance(channel, PlansIssues), f"{channel.name} plans no issues"
        planned = channel.plan_issue(item, ctx)
        original = all(a.translation is None for a in item.articles)
    else:
        planned = channel.plan(item, ctx)
        original = item.translation is None
    if dry_run:
        return planned, would_record(ledger, planned)
    recorded = ledger.record(planned, run_id)
    ledger.close_unplanned(
        channel.name,
        item.id,
        [d.key for d in planned],
        f"no longer planned as of revision {item.revision}",
        item.language,
        unlabelled=original,
    )
    ledger.mark_planned(item.id, item.revision, channel.name, len(planned))
    return planned, recorded


def would_record(ledger: Ledger, planned: Sequence[Delivery]) -> Recorded:
    """What recording ``planned`` would find, writing nothing (a dry run)."""
    existing = {r["key"]: r["state"] for r in ledger.rows(keys=[d.key for d in planned])}
    return Recorded(
        frozenset(k for k in (d.key for d in planned) if k not in existing),
        {d.key: existing.get(d.key, State.PENDING.value) for d in planned},
    )


def finish_plan(
    channel: Channel[Any],
    touched: Sequence[Article],
    corpus: Corpus,
    ledger: Ledger,
    now: datetime,
    state: RunState,
    run_id: str | None = None,
    dry_run: bool = False,
) -> tuple[list[Delivery], Recorded, Outcome]:
    """Plan and record (pending) a ``FinishesRun`` channel's closing files for the run's
    ``touched`` articles, against the live site at the run's end: the originals on the channel
    and the translations in the run's languages (``live_translations``)."""
    assert isinstance(channel, FinishesRun), f"{channel.name} has nothing to finish"
    published = state.published(channel.name)
    live: dict[str, Article] = {a.id: a for a in corpus.articles.values() if a.id in published and a.on_site(now)}
    live.update(live_translations(channel, corpus, now, state))
    planned = channel.plan_finish(touched, state.context(now, live, published))
    recorded = would_record(ledger, planned) if dry_run else ledger.record(planned, run_id)
    return planned, recorded, Outcome(channel.name, SITE_ID)


def run_owner() -> str:
    """A lease owner for work outside a Prefect run: unique per process."""
    return _OWNER


_OWNER = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def deliver(
    channel: Channel[Any],
    ledger: Ledger,
    planned: Sequence[Delivery],
    owner: str | None = None,
    lease: float = LEASE_SECONDS,
) -> list[Receipt]:
    """Send the planned deliveries this run can claim, batch by batch; store receipts.

    Each batch is claimed in the ledger first (``Ledger.claim``): rows another run holds, rows
    already final and rows waiting for their retry time are not sent, so overlapping runs and
    many workers share one fan-out with nothing sent twice. Doubtful rows (uncertain, or taken
    over from a crashed run) are reconciled with the provider before anything is resent.
    Transient failures stay pending with a retry time and raise TransientDeliveryError after the
    batch is recorded; so do quota waits that end within ``MAX_RETRY_AFTER``, while farther
    waits stay pending until their reset without an error (ADR 0030).
    """
    owner = owner or run_owner()
    if isinstance(channel, SpendsQuota):
        channel.use_quota(ledger)  # the run's ledger books the provider's quota (quota_usage)
    by_key = {d.key: d for d in planned}
    keys = list(by_key)
    receipts: list[Receipt] = []
    size = max(1, channel.limits.batch_size)
    for start in range(0, len(keys), size):
        claim = ledger.claim(keys[start : start + size], owner, lease)
        if claim.keys:
            got = _deliver_claimed(
                channel, ledger, [by_key[k] for k in claim.keys], [by_key[k] for k in claim.keys if k in claim.doubtful]
            )
            receipts.extend(got)
        progress.report(f"{channel.name}: files", min(size, len(keys) - start), len(keys))
    # A quota that resets within the pause koho takes anyway (an X window of a few seconds) is
    # waited out in this run, like a transient failure; a farther reset (a YouTube day, a LINE
    # month) leaves its rows waiting for the first run after it, and this run goes on.
    now = clock.now()
    transient = [r for r in receipts if r.retry or (r.until is not None and _pause(r, now) <= MAX_RETRY_AFTER)]
    if transient:
        wait = max(_pause(r, now) for r in transient)
        if wait:
            time.sleep(min(wait, MAX_RETRY_AFTER))
        raise TransientDeliveryError(
            f"{len(transient)} {channel.name} deliveries failed transiently: {transient[0].detail}", wait or None
        )
    return receipts


def _pause(receipt: Receipt, now: datetime) -> float:
    """Seconds until a receipt may be tried again: a wait's reset, a transient one's retry time."""
    if receipt.until is not None:
        return max(0.0, (receipt.until - now).total_seconds())
    return receipt.retry_after or 0.0


def _deliver_claimed(
    channel: Channel[Any], ledger: Ledger, batch: list[Delivery], doubtful: list[Delivery]
) -> list[Receipt]:
    """Reconcile, send and record one claimed batch; every claimed row ends with a receipt."""
    got: list[Receipt] = []
    try:
        if doubtful and isinstance(channel, Reconciles):
            got += channel.reconcile(doubtful)
        settled = {r.key for r in got}
        got += channel.deliver([d for d in batch if d.key not in settled])
    except (ConfigError, DeliveryError):
        # Raised before anything went out (a refused login, an untrusted certificate): the rows
        # are as they were, free for the next run once the setting is fixed.
        ledger.release([d.key for d in batch if d.key not in {r.key for r in got}])
        ledger.apply(got)
        raise
    except BaseException:
        # A bug or an interrupt mid-batch: what went out is unknown, so say so.
        done = {r.key for r in got}
        ledger.apply(
            got + [Receipt.uncertain(d.key, "the run stopped while sending") for d in batch if d.key not in done]
        )
        raise
    answered = {r.key for r in got}
    missing = [Receipt.uncertain(d.key, f"{channel.name} gave no receipt") for d in batch if d.key not in answered]
    ledger.apply(got + missing)
    by_key = {d.key: d for d in batch}
    for receipt in (r for r in got if r.also):
        ledger.record_copies(by_key[receipt.key], receipt.also)
    return got + missing


def site_build(
    channel: Channel[Any],
    corpus: Corpus,
    ledger: Ledger,
    now: datetime,
    run_id: str | None = None,
    state: RunState | None = None,
    force: bool = False,
) -> tuple[list[Delivery], Recorded, Outcome]:
    """Plan a full rebuild of a channel's site output and record it.

    The build id is a hash of every planned file, so rebuilding an unchanged site is a no-op in
    the ledger too, while any change (an article, a template, koho itself) makes a new build.
    With ``state`` (a run that translates), the translations already published on the channel
    are rebuilt too, and the originals' pages keep linking them: a build shows what publishing
    put there, in every language, and never publishes a translation of its own accord.
    ``force`` makes it a new build even if nothing changed, so every file is offered to the
    store again (a store that lost files gets them back; identical ones are left alone).
    """
    assert isinstance(channel, Rebuildable), f"{channel.name} cannot plan a full build"
    live: dict[str, Article] = {a.id: a for a in corpus.articles.values() if a.on_site(now)}
    members = sorted(live)
    if state is not None:
        live.update(live_translations(channel, corpus, now, state))
    ctx = PlanContext(
        site=corpus.site,
        now=now,
        live=live,
        updated=feed_times(corpus.articles.values(), ledger.revision_times()),
        published=frozenset(members),
    )
    planned = channel.plan_all(ctx, "pending")
    digest = hashlib.sha256()
    for d in planned:
        digest.update(d.target.encode() + b"\0" + hashlib.sha256(d.body()).digest())
    build_id = "build-" + digest.hexdigest()[:12] + (f"-{now:%Y%m%dT%H%M%S}" if force else "")
    planned = [replace(d, revision=build_id) for d in planned]
    recorded = ledger.record(planned, run_id)
    outcome = Outcome(channel.name, SITE_ID, planned=len(planned), new=len(recorded.new))
    outcome.members = members  # originals: translations are on the channel through their own rows
    outcome.build_id = build_id
    return planned, recorded, outcome


def live_translations(channel: Channel[Any], corpus: Corpus, now: datetime, state: RunState) -> dict[str, Article]:
    """Every translation live on ``channel`` in the run's languages, keyed ``id@lang``: with
    the originals, what a page listing the whole site (or an edition of it) shows."""
    live: dict[str, Article] = {}
    for language in state.languages:
        if language != corpus.site.language and language in channel.limits.languages:
            live.update((f"{i}@{language}", a) for i, a in state.live_translations(channel.name, language, now).items())
    return live


def finish_build(ledger: Ledger, outcome: Outcome) -> bool:
    """After a build delivered without failures, its articles count as published on the channel.
    Returns whether it did (the build is complete)."""
    if not outcome.left_open():
        ledger.record_build(outcome.channel, outcome.build_id, outcome.members)
        return True
    return False
