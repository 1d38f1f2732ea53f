"""The channel contract, checked for every channel in ``channels.registry.REGISTRY``.

Each channel is built by its registry factory with the embedded defaults (file stores and
outboxes under a temporary workspace, the SQLite ledger), so a channel added to the registry is
tested here without a line of its own. What the pipeline relies on, in five tests per channel:

* its capabilities are exactly the protocols of ``koho/channel.py`` it declares (a method the
  pipeline would call without a declaration, or a declaration whose method is the protocol's
  stub, fails), what they return has the types the pipeline expects, and capabilities that only
  make sense together come together;
* a run through the driver gives it only the context it declared (a mail-only field never
  reaches X);
* planning is pure and well-formed: deliveries of its own name, unique keys, languages it takes,
  media read only from content/media, the same plan twice, and nothing written while planning;
* it plans something for the sample content (an article, or an issue for a channel that ``PlansIssues``),
  delivers it to its outbox or store through the pipeline's own steps, and a second run of the
  same revisions plans the same deliveries, sends nothing and changes neither the ledger nor
  the files;
* ``close()`` releases what delivering opened, and may be called twice.

Real peers only: the files land in the workspace, the ledger is a SQLite file, subscribers of the
mail channel are rows in it.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import select

import koho.channel
from channels import registry
from channels.registry import REGISTRY
from flows import driver
from flows import steps as run_steps
from koho.article import Article
from koho.bulletin import BulletinIssue, issues_of
from koho.channel import (
    AudienceContext,
    Channel,
    FollowsUp,
    FollowUpContext,
    HasAudience,
    HasIssueAudience,
    Limits,
    MailsTheMedia,
    MediaContext,
    OnceAcrossLanguages,
    PlanContext,
    PlansIssues,
    Reconciles,
    StoresFiles,
)
from koho.delivery import Delivery, State
from koho.i18n import LANGUAGES
from koho.ledger import SITE_ID, Ledger
from koho.ledger_schema import deliveries, metadata
from koho.outlets import NewOutlet, OutletStore
from koho.payloads import ApiRequest, MailRequest, Packed, PressRequest, RecordOnly
from koho.pipeline import RunState, context_for, deliver, issue_context, plan_and_record
from koho.reader import Corpus, read_corpus
from koho.settings import Settings
from koho.site import load_site
from koho.subscribers import NewSubscriber, SubscriberStore
from tests.clock import PINNED_NOW

NAMES = list(REGISTRY)

#: Long before every sample article's publish time: the mail channel mails only readers who were
#: confirmed when an article was published (or an issue appeared).
SUBSCRIBED_AT = datetime(2026, 9, 1, 9, 0, tzinfo=PINNED_NOW.tzinfo)


# -- capabilities: what a channel declares ---------------------------------------------------------


#: Every capability protocol of koho/channel.py (all its protocols but ``Channel`` itself): a new
#: one is held to the rules below without a line here.
CAPABILITIES = [
    v
    for v in vars(koho.channel).values()
    if isinstance(v, type) and getattr(v, "_is_protocol", False) and v not in (Channel, Protocol)
]


def members(protocol: type) -> set[str]:
    """The names a protocol (and the protocols it extends) asks for."""
    names: set[str] = set()
    for klass in protocol.__mro__:
        if getattr(klass, "_is_protocol", False) and klass is not Protocol:
            names |= {n for n in (*vars(klass), *vars(klass).get("__annotations__", {})) if not n.startswith("_")}
    return names


def provides(channel: Channel, name: str) -> bool:
    """Whether the channel itself provides ``name``: a method of a protocol counts only where a
    channel class defines it (a declared protocol's stub would return None); a marker (a
    protocol's non-callable attribute) is provided by declaring its protocol."""
    for klass in type(channel).__mro__:
        if name in vars(klass):
            return not getattr(klass, "_is_protocol", False) or not callable(vars(klass)[name])
    return False


def declared(channel: Channel) -> set[str]:
    """The capabilities the channel's class names among its bases (directly or through a base)."""
    return {p.__name__ for p in CAPABILITIES if p in type(channel).__mro__}


def capable(channel: Channel) -> set[str]:
    """The capabilities whose every member the channel provides: what ``isinstance`` would find."""
    return {p.__name__ for p in CAPABILITIES if all(provides(channel, m) for m in members(p))}


def _topics_or_none(value: Any, corpus: Corpus) -> str | None:
    """Why ``value`` is not what ``RunState.audience`` takes (None: it is)."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        return f"not a list of topic names: {value!r}"
    unknown = [t for t in value if t not in corpus.site.topics]
    return f"topics not in site.yaml: {unknown}" if unknown else None


def expected_context(channel: Channel, issue: bool) -> set[str]:
    """The context fields the pipeline may give ``channel`` to plan an article (or an issue): the
    base context's, and those of each capability context it declared, no others."""
    names = {f.name for f in fields(PlanContext)}
    if isinstance(channel, HasIssueAudience if issue else HasAudience):
        names |= {f.name for f in fields(AudienceContext)}
    if not issue and isinstance(channel, FollowsUp):
        names |= {f.name for f in fields(FollowUpContext)}
    if not issue and isinstance(channel, MailsTheMedia):
        names |= {f.name for f in fields(MediaContext)}
    return names


# -- the workspace: content, a ledger with readers, and the files channels write ----------------


@pytest.fixture
def world(workspace, clock):
    """Settings and corpus of a fresh workspace whose ledger has two confirmed readers of every
    topic: one mailed each article, one the issue digest (the mail channel needs an audience)."""
    settings = Settings()
    corpus = read_corpus(settings.content_dir, load_site(settings.content_dir))
    assert not corpus.errors
    clock.set(SUBSCRIBED_AT)
    ledger = Ledger(settings.db_url())
    try:
        topics = tuple(corpus.site.topics)
        SubscriberStore(ledger.engine).upsert(
            [
                NewSubscriber("reader@example.jp", "reader@example.jp", topics),
                NewSubscriber("digest@example.jp", "digest@example.jp", topics, delivery="digest"),
            ],
            "confirmed",
            "contract test",
        )
        # The press mail's audience: one outlet of the media list.
        OutletStore(ledger.engine).replace_all(
            [NewOutlet("練馬記者クラブ", "club", "press@example.jp", "press@example.jp")], replace=False
        )
    finally:
        ledger.close()
    clock.set(PINNED_NOW)
    return settings, corpus, workspace


def build(name: str, settings: Settings, base: Path) -> Channel:
    """The channel as every flow builds it: by its registry factory."""
    return registry.build(settings, [name], base)[0]


def due(corpus: Corpus) -> list[Article]:
    """The sample articles a run would publish at the pinned moment, in a fixed order."""
    return sorted((a for a in corpus.articles.values() if a.is_due(PINNED_NOW)), key=lambda a: (a.publish_at, a.id))


def outputs(base: Path) -> dict[str, tuple[str, int]]:
    """Every file the channels wrote (anything outside content/ and the state folder), with its
    bytes' hash and modification time: a rewrite with the same bytes counts as a change too."""
    found = {}
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if path.is_file() and rel.parts[0] not in ("content", ".koho"):
            found[rel.as_posix()] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    return found


def ledger_rows(ledger: Ledger) -> dict[str, list[tuple]]:
    """Every row of every ledger table, every column, in a fixed order."""
    with ledger.engine.connect() as conn:
        return {
            table.name: sorted(tuple(map(repr, row)) for row in conn.execute(select(table)))
            for table in metadata.sorted_tables
        }


def states(ledger: Ledger) -> dict[str, str]:
    """Delivery key -> state."""
    with ledger.engine.connect() as conn:
        return dict(conn.execute(select(deliveries.c.key, deliveries.c.state)).all())


def open_files() -> Counter:
    """What this process's file descriptors point at (paths, ``socket:[inode]``…), counted:
    descriptor numbers alone are reused, so a leak could hide behind one closed meanwhile."""
    found: Counter = Counter()
    for fd in os.listdir("/proc/self/fd"):
        try:
            found[os.readlink(f"/proc/self/fd/{fd}")] += 1
        except OSError:  # the descriptor listdir itself used, closed by now
            pass
    return found


# -- 1. declarations ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_channel_declares_its_name_limits_and_capabilities_consistently(name, world):
    settings, corpus, base = world
    channel = build(name, settings, base)
    try:
        assert isinstance(channel, Channel)
        # The registry key is the name in settings (KOHO_CHANNELS) and in every ledger key.
        assert type(channel).name == channel.name == name
        limits = type(channel).limits
        assert isinstance(limits, Limits) and limits.batch_size >= 1
        assert corpus.site.language in limits.languages, "every channel takes the original's language"
        assert set(limits.languages) <= set(LANGUAGES), "languages koho has no words for"
        assert isinstance(channel.describe(), str) and channel.describe()

        # What it can do is what it says it does, and the reverse.
        assert capable(channel) == declared(channel), (
            f"provides without declaring: {sorted(capable(channel) - declared(channel))}; "
            f"declares without providing: {sorted(declared(channel) - capable(channel))}"
        )
        for protocol in CAPABILITIES:
            assert isinstance(channel, protocol) == (protocol.__name__ in declared(channel)), protocol.__name__
        problems: list[str | None] = []
        # sent_elsewhere is only read for an audience: the marker alone would promise "nobody
        # twice across languages" and keep none of it.
        if isinstance(channel, OnceAcrossLanguages) and not isinstance(channel, (HasAudience, HasIssueAudience)):
            problems.append("OnceAcrossLanguages without an audience: the pipeline never fills sent_elsewhere")
        # What the capability methods return is what the pipeline takes: topic names or None, bools.
        if isinstance(channel, HasAudience):
            problems += [_topics_or_none(channel.audience_for(a), corpus) for a in corpus.articles.values()]
        if isinstance(channel, HasIssueAudience):
            problems += [
                _topics_or_none(channel.audience_for_issue(i), corpus)
                for i in issues_of(corpus.articles.values(), corpus.site, PINNED_NOW)
            ]
        if isinstance(channel, FollowsUp):
            problems += [
                f"follows_up({a.id}) is not a bool"
                for a in corpus.articles.values()
                if not isinstance(channel.follows_up(a), bool)
            ]
        assert [p for p in problems if p] == []
    finally:
        channel.close()


class Watching(run_steps.Steps):
    """Plain steps that keep every context the run's channels are handed to plan with: what
    reaches ``plan`` and ``plan_issue`` in a real run, not what a builder returns in isolation."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[bool, PlanContext]] = []

    def plan(self, run, channel, article_id, language):
        self._watch(run.channel(channel), "plan", issue=False)
        return super().plan(run, channel, article_id, language)

    def plan_issue(self, run, channel, issue_id, language):
        self._watch(run.channel(channel), "plan_issue", issue=True)
        return super().plan_issue(run, channel, issue_id, language)

    def _watch(self, channel: Channel, method: str, issue: bool) -> None:
        planning = getattr(type(channel), method)

        def spy(item, ctx):
            self.seen.append((issue, ctx))
            return planning(channel, item, ctx)

        setattr(channel, method, spy)  # this run's instance only


@pytest.mark.parametrize("name", NAMES)
def test_a_run_gives_the_channel_only_the_context_it_declared(name, world):
    settings, corpus, base = world
    watching = Watching()
    driver.run(settings, driver.Work(due=True), [name], dry_run=True, steps=watching)

    assert watching.seen, f"the run planned nothing on {name}"
    channel = build(name, settings, base)
    try:
        for issue, ctx in watching.seen:
            given = {f.name for f in fields(ctx)}
            # A field the channel did not declare (a mail audience reaching X) fails here, and so
            # does a declared capability whose context never came.
            assert given == expected_context(channel, issue), (
                f"{type(ctx).__name__} for {'an issue' if issue else 'an article'}"
            )
            assert isinstance(ctx, AudienceContext) == ("audience" in given)
            assert isinstance(ctx, FollowUpContext) == ("provider_refs" in given)
        if isinstance(channel, HasAudience):
            # The world has readers of every topic: the run loaded them for the channel.
            assert any(ctx.audience for issue, ctx in watching.seen if not issue)
    finally:
        channel.close()


# -- 2. planning --------------------------------------------------------------------------------


def plan_problems(channel: Channel, planned: list, item_id: str, content_dir: Path) -> list[str]:
    """Why a plan is not one the ledger and the pipeline can take (empty: it is)."""
    problems = []
    if not isinstance(planned, list) or not all(isinstance(d, Delivery) for d in planned):
        return [f"{item_id}: plan is not a list of Delivery"]
    keys = [d.key for d in planned]
    if len(set(keys)) != len(keys):
        # One plan with a key twice would break the ledger's insert (unique index).
        problems.append(f"{item_id}: a key planned twice")
    media = (content_dir / "media").resolve()
    for d in planned:
        if d.channel != channel.name:
            problems.append(f"{d.key}: channel {d.channel!r}")
        if d.article_id not in (item_id, SITE_ID):
            # Rows are closed and settled per item (close_unplanned, mark_planned).
            problems.append(f"{d.key}: recorded under {d.article_id!r}, not {item_id!r} or the site's id")
        if not d.target or not d.revision:
            problems.append(f"{d.key}: empty target or revision")
        if d.language is not None and d.language not in channel.limits.languages:
            problems.append(f"{d.key}: language {d.language!r} the channel does not take")
        if isinstance(d.payload, Path) and not d.payload.resolve().is_relative_to(media):
            problems.append(f"{d.key}: copies {d.payload}, outside content/media")
        elif not isinstance(d.payload, (bytes, Packed, Path, ApiRequest, MailRequest, PressRequest, RecordOnly)):
            problems.append(f"{d.key}: payload is {type(d.payload).__name__}, not one of koho.payloads'")
    return problems


def fingerprint(planned: list[Delivery]) -> list[tuple[str, object]]:
    """Each delivery's key and the hash of what it would send (a mail, rendered at delivery, and a
    record-only row by their payloads' values)."""
    return [
        (
            d.key,
            d.payload
            if isinstance(d.payload, (MailRequest, PressRequest, RecordOnly))
            else hashlib.sha256(d.body()).hexdigest(),
        )
        for d in planned
    ]


@pytest.mark.parametrize("name", NAMES)
def test_planning_is_pure_well_formed_and_finds_work_in_the_sample_content(name, world):
    settings, corpus, base = world
    channel = build(name, settings, base)
    ledger = Ledger(settings.db_url())
    before = outputs(base)
    try:
        state = RunState(ledger, corpus)
        problems, planned_any = [], 0
        for article in due(corpus):
            ctx = context_for(channel, article, corpus, ledger, PINNED_NOW, state=state)
            planned = channel.plan(article, ctx)
            problems += plan_problems(channel, planned, article.id, settings.content_dir)
            if fingerprint(channel.plan(article, ctx)) != fingerprint(planned):
                problems.append(f"{article.id}: planning twice gave different deliveries")
            planned_any += len(planned)
            # Withdrawing what was never published here must not publish it (nor anything else).
            gone = replace(article, status="withdrawn")
            ctx = context_for(channel, gone, corpus, ledger, PINNED_NOW, state=state)
            if channel.plan(gone, ctx):
                problems.append(f"{article.id}: withdrawn before it was published here, yet planned")
        if isinstance(channel, PlansIssues):
            for issue in issues_of(corpus.articles.values(), corpus.site, PINNED_NOW):
                ctx = issue_context(channel, issue, corpus, PINNED_NOW, state)
                planned = channel.plan_issue(issue, ctx)
                problems += plan_problems(channel, planned, issue.id, settings.content_dir)
                if fingerprint(channel.plan_issue(issue, ctx)) != fingerprint(planned):
                    problems.append(f"{issue.id}: planning twice gave different deliveries")
                planned_any += len(planned)
        assert problems == []
        assert planned_any, f"{name} planned nothing for any sample article or issue: nothing here sees it work"
        assert outputs(base) == before, "planning wrote files"
    finally:
        channel.close()
        ledger.close()


# -- 3. delivery, idempotency and close ---------------------------------------------------------


@dataclass
class Work:
    """What the delivery test publishes on a channel: the first sample article and the first
    issue it plans anything for (either may be None, not both)."""

    article: Article | None
    issue: BulletinIssue | None


def find_work(channel: Channel, corpus: Corpus, ledger: Ledger) -> Work:
    """Look (with dry contexts, writing nothing) for an article and an issue the channel plans for."""
    state = RunState(ledger, corpus)
    article = next(
        (a for a in due(corpus) if channel.plan(a, context_for(channel, a, corpus, ledger, PINNED_NOW, state))),
        None,
    )
    issue = None
    if isinstance(channel, PlansIssues):
        issue = next(
            (
                i
                for i in issues_of(corpus.articles.values(), corpus.site, PINNED_NOW)
                if channel.plan_issue(i, issue_context(channel, i, corpus, PINNED_NOW, state))
            ),
            None,
        )
    return Work(article, issue)


def publish(channel: Channel, work: Work, corpus: Corpus, ledger: Ledger) -> tuple[list, list, list]:
    """One run as the flows make it: plan and record (pending first), then deliver what could be
    claimed. Returns (planned, new keys, receipts)."""
    state = RunState(ledger, corpus)
    planned, new, receipts = [], [], []
    if work.article is not None:
        ctx = context_for(channel, work.article, corpus, ledger, PINNED_NOW, state=state)
        plan, recorded = plan_and_record(channel, work.article, ctx, ledger, "contract-run")
        planned += plan
        new += sorted(recorded.new)
        receipts += deliver(channel, ledger, plan)
    if work.issue is not None:
        ctx = issue_context(channel, work.issue, corpus, PINNED_NOW, state)
        plan, recorded = plan_and_record(channel, work.issue, ctx, ledger, "contract-run")
        planned += plan
        new += sorted(recorded.new)
        receipts += deliver(channel, ledger, plan)
    return planned, new, receipts


@pytest.mark.parametrize("name", NAMES)
def test_delivers_to_its_outbox_or_store_and_a_second_run_sends_nothing(name, world):
    settings, corpus, base = world
    ledger = Ledger(settings.db_url())
    channel = build(name, settings, base)
    files = open_files()
    work = find_work(channel, corpus, ledger)
    # Every channel but a per-issue one (e-books) has something to say about some article.
    assert work.issue if isinstance(channel, PlansIssues) else work.article, (
        f"{name} plans nothing for the sample content: the test cannot see it deliver"
    )

    planned, new, receipts = publish(channel, work, corpus, ledger)
    keys = [d.key for d in planned]
    assert sorted(new) == sorted(keys)
    # One receipt per delivery, and on a fresh outbox or store every one is sent.
    assert sorted(r.key for r in receipts) == sorted(keys)
    assert {r.key: str(r.state) for r in receipts} == dict.fromkeys(keys, State.SENT.value)
    assert states(ledger) == dict.fromkeys(keys, State.SENT.value)
    written = outputs(base)
    assert written, f"{name} reported sent but wrote nothing under the workspace"
    if isinstance(channel, StoresFiles):
        assert channel.missing([d.target for d in planned]) == []
    if isinstance(channel, Reconciles):
        # Nothing in doubt: whatever reconcile answers must be about the deliveries it was given.
        assert {r.key for r in channel.reconcile(planned)} <= set(keys)

    # A resend, as of rows left uncertain by a crash (channels without Reconciles resend them):
    # straight to the channel, batch by batch, one receipt per delivery in order, and onto the
    # same files, never beside them: the outbox holds one request per delivery, as the API would.
    size = channel.limits.batch_size
    for start in range(0, len(planned), size):
        batch = planned[start : start + size]
        assert [r.key for r in channel.deliver(batch)] == [d.key for d in batch]
    assert sorted(outputs(base)) == sorted(written)
    written = outputs(base)

    # close() releases what delivering opened (the ledger, closed too, was open before) and is
    # safe to call twice, as the flows' finally blocks may.
    ledger.close()
    channel.close()
    channel.close()
    assert open_files() - files == Counter(), f"{name} left files or sockets open after close()"

    # A second run of the same revisions (a re-run, publish-due after a publish): a new
    # channel, ledger and run state, exactly as the next flow run would build them.
    ledger = Ledger(settings.db_url())
    channel = build(name, settings, base)
    rows = ledger_rows(ledger)
    try:
        again, new_again, receipts_again = publish(channel, work, corpus, ledger)
        assert fingerprint(again) == fingerprint(planned)
        assert new_again == [] and receipts_again == []
        assert ledger_rows(ledger) == rows
        assert outputs(base) == written
    finally:
        channel.close()
        ledger.close()
