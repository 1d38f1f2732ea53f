"""The steps of a run, each for one item on the run's channels: what ``flows/driver.py`` calls.

``Steps`` says how the four steps with side effects or model time run (translate, plan and
record, deliver a batch, report): here as plain calls, for dry runs, tests and benchmarks;
``flows/publish.py`` passes ``PrefectSteps``, whose steps are Prefect tasks taking the same ids.
The functions below decide what to do with their results (notes, tallies, a channel that is
down); they are the same for every run. No Prefect here.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from koho import fanout
from koho.article import Article
from koho.bulletin import BulletinIssue, issues_of
from koho.channel import (
    AudienceContext,
    ChangesWithTime,
    Channel,
    FinishesRun,
    MailsTheMedia,
    PlanContext,
    PlansIssues,
    Rebuildable,
    StoresFiles,
)
from koho.delivery import Delivery, Receipt, State
from koho.errors import ContentInvalid
from koho.fanout import AudiencePage, Page
from koho.ledger import Recorded
from koho.payloads import RecordOnly
from koho.pipeline import (
    Outcome,
    TransientDeliveryError,
    context_for,
    finish_build,
    finish_plan,
    issue_context,
    plan_and_record,
    site_build,
)
from koho.pipeline import (
    deliver as deliver_claimed,
)
from koho.reader import Corpus, load
from koho.refresh import finish_refresh, mark_current, plan_refresh
from koho.settings import Settings

if TYPE_CHECKING:
    from flows.driver import Run
    from koho.alerts import Problem
    from translations.translator import Result, Translator

log = logging.getLogger("koho.run")

#: What the translate step gives back: (the translation, None), or (None, what to install) when
#: no model can make it. Plain values, so a Prefect task can return it.
Translated: TypeAlias = tuple[Article, None] | tuple[None, str]


class Steps:
    """How the driver runs each step: plain calls in this process (no Prefect).

    ``corpus``: content already read and checked (the CLI's pre-flight), so it is not read twice.
    """

    def __init__(self, corpus: Corpus | None = None):
        self.corpus = corpus

    def read(self, settings: Settings) -> Corpus:
        """Read and validate all content; any error stops the run before anything is published."""
        corpus = self.corpus if self.corpus is not None else load(settings)
        if corpus.errors:
            raise ContentInvalid(corpus.errors)
        return corpus

    def owner(self) -> str | None:
        """The id recorded on the run's ledger rows (None: ``pipeline.run_owner()`` leases them)."""
        return None

    def log(self, message: str) -> None:
        """Say something about the run (a held article)."""
        log.info(message)

    def translate(self, run: Run, article_id: str, language: str) -> Translated:
        """(the translation, None), or (None, what to install) when no model can make it."""
        from translations.engine import MissingModel

        try:
            return translate(run, article_id, language).article, None
        except MissingModel as missing:
            return None, str(missing)

    def plan(self, run: Run, channel: str, article_id: str, language: str) -> tuple[list[Delivery], Recorded]:
        """Plan one article (or its translation) on one channel and record it pending."""
        return plan(run, channel, article_id, language)

    def plan_issue(self, run: Run, channel: str, issue_id: str, language: str) -> tuple[list[Delivery], Recorded]:
        """Plan one bulletin issue (or its edition in ``language``) on one channel and record it."""
        return plan_issue(run, channel, issue_id, language)

    def plan_page(self, run: Run, channel: str, item_id: str, language: str, after: int, issue: bool) -> Page:
        """Plan one page of a fan-out (the article's, or with ``issue`` the issue's, audience
        after subscriber id ``after``) on one channel and record it pending (ADR 0039)."""
        return plan_page(run, channel, item_id, language, after, issue)

    def deliver(self, run: Run, channel: str, keys: list[str]) -> list[Receipt]:
        """Deliver one batch of planned rows (TransientDeliveryError: some stay pending)."""
        return deliver(run, channel, keys)

    def report(self, outcomes: list[Outcome], title: str, idle: str = "") -> list[Outcome]:
        """The run's report: here the caller prints it (``koho publish --dry-run``)."""
        return outcomes

    def alert(self, run: Run, scheduled: bool) -> list[Problem]:
        """Tell the operators once of failures, long-pending rows and missed scheduled runs."""
        from flows.alerts import alert_operators

        return alert_operators(run, scheduled)


# The steps themselves: ids in, the run's context looked up. PrefectSteps' tasks call these too.


def translate(run: Run, article_id: str, language: str) -> Result:
    """Translate an original into ``language`` (``translations.Translator.translate``'s Result;
    MissingModel when no installed package can)."""
    return _translator(run).translate(run.corpus.articles[article_id], language)


def _translator(run: Run) -> Translator:
    # Run.open opens a translator whenever the run has languages, and only then are there
    # translation steps: a run without one reaching here is a bug.
    if run.translator is None:
        raise RuntimeError("this run translates into no language: it has no translator")
    return run.translator


def plan(run: Run, channel: str, article_id: str, language: str) -> tuple[list[Delivery], Recorded]:
    """Plan one article on one channel; write its rows pending (unless a dry run)."""
    chan, article = run.channel(channel), run.article(article_id, language)
    ctx = context_for(chan, article, run.corpus, run.ledger, run.now, run.state)
    return plan_and_record(chan, article, ctx, run.ledger, run.owner, run.dry_run)


def plan_issue(run: Run, channel: str, issue_id: str, language: str) -> tuple[list[Delivery], Recorded]:
    """Plan one bulletin issue on one channel (the mail digest, the e-book) and write it pending."""
    chan, issue = run.channel(channel), run.issues[(issue_id, language)]
    ctx = issue_context(chan, issue, run.corpus, run.now, run.state)
    return plan_and_record(chan, issue, ctx, run.ledger, run.owner, run.dry_run)


def plan_page(run: Run, channel: str, item_id: str, language: str, after: int, issue: bool) -> Page:
    """Plan one page of a fan-out on one channel and write its rows pending: the context is made
    on the first page (``after`` 0) and kept for the others, which read only their subscribers."""
    chan = run.channel(channel)
    item: Article | BulletinIssue = run.issues[(item_id, language)] if issue else run.article(item_id, language)
    page = AudiencePage(after, run.settings.audience_page)

    def first() -> PlanContext:
        if isinstance(item, BulletinIssue):
            return issue_context(chan, item, run.corpus, run.now, run.state, page)
        return context_for(chan, item, run.corpus, run.ledger, run.now, run.state, page)

    ctx = run.state.stream_context((channel, item_id, language, str(issue)), after == 0, first)
    if after and isinstance(ctx, AudienceContext):
        ctx = dataclasses.replace(ctx, audience=run.state.audience_page(fanout.topics_of(chan, item), page))
    return fanout.plan_page(chan, item, ctx, run.ledger, page, run.owner)


def deliver(run: Run, channel: str, keys: Sequence[str]) -> list[Receipt]:
    """Deliver what this run can claim of the planned rows ``keys`` (``pipeline.deliver``)."""
    return deliver_claimed(
        run.channel(channel),
        run.ledger,
        [run.planned[k] for k in keys],
        owner=run.owner,
        lease=run.settings.lease_seconds,
    )


# What the driver does with the steps, per item.


def held(run: Run, steps: Steps, article: Article, reason: str) -> list[Outcome]:
    """A draft or an embargoed article: nothing planned, the reason on each channel's row."""
    steps.log(f"{article.id}: {reason}")
    return [Outcome(channel.name, article.id, note=reason) for channel in run.channels]


def media_only(run: Run, steps: Steps, article: Article) -> list[Outcome]:
    """A press release past its publish time whose embargo has not ended: the channels that mail
    the media send it now; every other channel waits for the embargo, noted on its row, and
    publish-due comes back for them (the article is not settled while they have no rows)."""
    assert article.press is not None and article.press.embargo_until is not None
    reason = f"embargoed for the site until {article.press.embargo_until:%Y-%m-%d %H:%M %Z}"
    outcomes = []
    for channel in run.channels:
        if isinstance(channel, MailsTheMedia):
            outcomes.append(publish_on(run, steps, channel, article))
        else:
            outcomes.append(Outcome(channel.name, article.id, note=reason))
    return outcomes


def publish_on(run: Run, steps: Steps, channel: Channel[Any], article: Article) -> Outcome:
    """Plan, record and deliver one article (an original, or a translation made in this run) on
    one channel; then the run knows whether it is on the channel (listing pages show it)."""
    translation = article.translation is not None
    outcome = Outcome(channel.name, article.id, article.language if translation else None)
    if fanout.streams(channel, article) and not run.dry_run:
        fan_out(run, steps, channel, article, outcome)
    else:
        planned, recorded = steps.plan(run, channel.name, article.id, article.language)
        deliver_planned(run, steps, channel, planned, recorded, outcome)
    run.state.delivered(channel.name, article.id, outcome.reached(), article.language if translation else None)
    return outcome


def translate_and_publish(run: Run, steps: Steps, article: Article, only_unsettled: bool = False) -> list[Outcome]:
    """Translate an original into each of the run's languages and publish each translation on
    the channels that take its language (``only_unsettled``: publish-due, where most have no work).

    Translations are planned before the original, so the original's pages can already link
    to them. A missing model is a skipped row per channel naming the package to install.
    """
    outcomes: list[Outcome] = []
    made: dict[str, Article] = {}
    # Every language first: each plan then links all the article's versions, so a page has the
    # same bytes whichever plan of the run writes it, and the next run finds nothing to do.
    for language in run.languages:
        if only_unsettled and (
            _settled_everywhere(run, _translator(run).kept(article, language), language)
            or _translator(run).missing(article.language, language)
        ):
            # publish-due's common cases, with no task: nothing changed, or still no model (said
            # when the article was published; saying it per article and run would cost a task each).
            continue
        found = steps.translate(run, article.id, language)
        if found[0] is None:
            missing = found[1]
            outcomes += [
                o
                for o in (_skip_untranslatable(run, c, article, language, missing) for c in _takers(run, language))
                if o is not None
            ]
            continue
        translated = found[0]
        run.state.add_translation(translated)
        made[language] = translated
    for language, translated in made.items():
        for channel in _takers(run, language):
            if only_unsettled and (translated.id, translated.revision) in run.state.settled(channel.name):
                continue
            outcomes.append(publish_on(run, steps, channel, translated))
    return outcomes


def publish_issues(run: Run, steps: Steps, issues: Sequence[BulletinIssue]) -> list[Outcome]:
    """Each issue channel's deliveries of each bulletin issue not yet settled there (the mail
    digest, LINE's broadcast, the e-book): after the articles, so urgent news never waits."""
    outcomes = []
    for channel in [c for c in run.channels if isinstance(c, PlansIssues)] if issues else []:
        for issue in issues:
            if (issue.id, issue.revision) not in run.state.settled(channel.name):
                outcomes.append(_publish_issue(run, steps, channel, issue))
    return outcomes


def publish_issue_translations(run: Run, steps: Steps, issues: Sequence[BulletinIssue]) -> list[Outcome]:
    """Each issue channel that takes a language gets the issue of its translations."""
    from translations.translator import translated_issue

    outcomes = []
    for issue in issues if run.languages else []:
        for language in run.languages:
            takers = [c for c in _takers(run, language) if isinstance(c, PlansIssues)]
            if not takers:
                continue
            made = {a.id: run.state.translation(a, language) for a in issue.articles}
            edition = translated_issue(issue, {i: t for i, t in made.items() if t is not None})
            if edition is None:
                continue  # some article has no translation (no model): its rows say why
            for channel in takers:
                if (edition.id, edition.revision) not in run.state.settled(channel.name):
                    outcomes.append(_publish_issue(run, steps, channel, edition))
    return outcomes


def _publish_issue(run: Run, steps: Steps, channel: Channel[Any], issue: BulletinIssue) -> Outcome:
    original = all(a.translation is None for a in issue.articles)
    outcome = Outcome(channel.name, issue.id, None if original else issue.language)
    run.issues[(issue.id, issue.language)] = issue
    if fanout.streams(channel, issue) and not run.dry_run:
        fan_out(run, steps, channel, issue, outcome)
        return outcome
    planned, recorded = steps.plan_issue(run, channel.name, issue.id, issue.language)
    deliver_planned(
        run, steps, channel, planned, recorded, outcome, dry_note=f"{issue.label}: would send {len(recorded.new)}"
    )
    return outcome


def fan_out(run: Run, steps: Steps, channel: Channel[Any], item: Article | BulletinIssue, outcome: Outcome) -> None:
    """Plan, record and deliver an item to the channel's audience page by page (ADR 0039):
    memory follows the page, not the list. After the last page the rows no page planned are
    closed and the plan is marked (``fanout.finish``); a run that stops first (a bug, a kill, the
    channel down for a whole page) leaves the item unplanned, so the next run goes through it
    again and sends what is still owed. The outcome's tally is the pages' summed; its receipts
    only those that say something (failed, skipped): a receipt per mail would grow with the list.
    """
    issue = isinstance(item, BulletinIssue)
    keep, tally, after, done = fanout.PlannedKeys(), Counter[str](), 0, False
    tried = untried = False
    while not done:
        page = steps.plan_page(run, channel.name, item.id, item.language, after, issue)
        keep.add(d.key for d in page.planned)
        outcome.planned += len(page.planned)
        outcome.new += len(page.recorded.new)
        if page.recorded.to_deliver() and channel.name not in run.state.down:
            tried = True
            part = Outcome(outcome.channel, outcome.item_id, outcome.language)
            got = deliver_batches(run, steps, channel, page.planned, part)
            outcome.receipts += [r for r in got if r.state != State.SENT]
            if part.stuck:  # the channel refused a whole page: the rest waits for publish-due
                run.state.down.add(channel.name)
                outcome.stuck = True
            page_tally = part.tally or Counter()
        else:
            untried = untried or bool(page.recorded.to_deliver())
            page_tally = run.ledger.tally([d.key for d in page.planned], run.owner) if page.planned else Counter()
        run.forget(page.planned)
        reasons = max(tally["retry_reasons"], page_tally["retry_reasons"])
        tally.update(page_tally)
        tally["retry_reasons"] = reasons
        done = page.next is None or outcome.stuck
        after = page.next or 0
    if page.next is None:
        fanout.finish(channel, item, keep, len(keep), run.ledger)
    outcome.tally = tally
    if not outcome.planned:
        outcome.note = "nothing to deliver"
    elif untried and not tried:
        outcome.note = f"not tried: {channel.name} failed temporarily earlier in this run; publish-due retries"
    elif not tried:
        outcome.note = "nothing to send: already delivered"
    else:
        outcome.note = open_note(outcome)


def refresh_clock(run: Run, steps: Steps) -> list[Outcome]:
    """Pages whose rendering changed with time alone since they were last made current (an
    urgent notice's end, an issue's appearance): just those, in every edition (``koho.refresh``).
    Last in a run: an issue page's e-book link should appear once the e-book is written."""
    outcomes = []
    for channel in run.channels:
        if not isinstance(channel, ChangesWithTime) or channel.name in run.state.down:
            continue
        made = plan_refresh(channel, run.corpus, run.ledger, run.now, run.state, run.owner)
        if made is None:
            continue  # the common run: no moment passed, nothing rendered
        planned, recorded, outcome = made
        note, outcome.note = outcome.note, ""  # which pages and why, then what delivery says
        outcomes.append(outcome)
        deliver_planned(run, steps, channel, planned, recorded, outcome)
        outcome.note = "; ".join(n for n in (note, outcome.note) if n)
        finish_refresh(run.ledger, outcome, run.now)
    return outcomes


def finish_runs(run: Run, steps: Steps, outcomes: Sequence[Outcome]) -> list[Outcome]:
    """Once per run, after its articles and issues: the closing files of each channel that makes
    some (``FinishesRun``: the archive's search index), for the articles the run planned there;
    nothing when it planned none. Per plan they would cost Pagefind's start each time."""
    done = []
    for channel in run.channels:
        if not isinstance(channel, FinishesRun) or channel.name in run.state.down:
            continue
        touched = unique_articles(run, [o for o in outcomes if o.channel == channel.name and o.planned])
        if not touched:
            continue
        planned, recorded, outcome = finish_plan(
            channel, touched, run.corpus, run.ledger, run.now, run.state, run.owner, run.dry_run
        )
        done.append(outcome)
        deliver_planned(run, steps, channel, planned, recorded, outcome)
    return done


def unique_articles(run: Run, outcomes: Iterable[Outcome]) -> list[Article]:
    """The articles (originals, or translations made in this run) of ``outcomes``, once each."""
    found: dict[tuple[str, str], Article] = {}
    for outcome in outcomes:
        original = run.corpus.articles.get(outcome.item_id)  # None: the site's own files, an issue
        if original is None:
            continue
        article = original if outcome.language is None else run.state.made(original.id, outcome.language)
        if article is not None:  # None: a language with no translation (its skipped row)
            found.setdefault((article.id, article.language), article)
    return list(found.values())


def build_all(run: Run, steps: Steps, force: bool = False) -> list[Outcome]:
    """Rebuild every page (and feed) of the live site, with the translations publishing put
    there, then every issue's files (e-books); only changed or missing files are written.
    ``force``: offer every file again even if the site is unchanged since the last build."""
    outcomes = []
    for channel in run.channels:
        if not isinstance(channel, Rebuildable):
            continue  # issue channels (e-books): below
        planned, recorded, outcome = site_build(channel, run.corpus, run.ledger, run.now, run.owner, run.state, force)
        outcomes.append(outcome)
        lost = _reopen_lost(run, channel, planned, recorded)
        if recorded.to_deliver() or lost:
            outcome.receipts = deliver_batches(run, steps, channel, planned, outcome)
            outcome.note = (f"{lost} file(s) missing from the store written again; " if lost else "") + outcome.note
        else:
            outcome.note = "nothing to write: site unchanged since the last build, every file present"
        run.forget(planned)
        if finish_build(run.ledger, outcome) and isinstance(channel, ChangesWithTime):
            mark_current(run.ledger, channel.name, run.now)  # every page was rendered as of ``now``
    # E-books are files of each issue: rebuilt like pages (written if changed or missing). Only
    # channels that store files: a build never sends a digest or a broadcast.
    for channel in [c for c in run.channels if isinstance(c, StoresFiles) and isinstance(c, PlansIssues)]:
        for issue in issues_of(run.corpus.articles.values(), run.corpus.site, run.now):
            outcome = Outcome(channel.name, issue.id)
            outcomes.append(outcome)
            run.issues[(issue.id, issue.language)] = issue
            planned, recorded = steps.plan_issue(run, channel.name, issue.id, issue.language)
            lost = _reopen_lost(run, channel, planned, recorded)
            outcome.planned, outcome.new = len(planned), len(recorded.new)
            if recorded.to_deliver() or lost:
                outcome.receipts = deliver_batches(run, steps, channel, planned, outcome)
            else:
                outcome.note = "unchanged, every file present"
            run.forget(planned)
    return outcomes


def deliver_planned(
    run: Run,
    steps: Steps,
    channel: Channel[Any],
    planned: list[Delivery],
    recorded: Recorded,
    outcome: Outcome,
    dry_note: str | None = None,
) -> None:
    """Deliver what a plan left to send, unless there is nothing to, the run is dry, or the
    channel already failed for a whole batch's retries in this run; note which it was."""
    outcome.planned, outcome.new = len(planned), len(recorded.new)
    if run.dry_run:
        outcome.note = (
            dry_note
            if dry_note is not None
            else "would write: " + ", ".join(d.target for d in planned if d.key in recorded.new)[:300]
        )
    elif not planned:
        outcome.note = "nothing to deliver"
    elif not recorded.to_deliver():
        outcome.note = "nothing to send: already delivered"
    elif channel.name in run.state.down:
        # The channel's store or API failed for a whole batch's retries earlier in this run:
        # trying each further article would cost the same minutes of retries for nothing.
        outcome.tally = run.ledger.tally([d.key for d in planned], run.owner)
        outcome.note = f"not tried: {channel.name} failed temporarily earlier in this run; publish-due retries"
    else:
        outcome.receipts = deliver_batches(run, steps, channel, planned, outcome)
        if outcome.stuck:
            run.state.down.add(channel.name)
    run.forget(planned)


def deliver_batches(
    run: Run, steps: Steps, channel: Channel[Any], planned: list[Delivery], outcome: Outcome
) -> list[Receipt]:
    """One delivery step per batch (hundreds of recipients or files, never one per recipient),
    then the outcome as the ledger has it.

    A batch whose transient failures outlast its retries does not stop the others: its rows
    stay pending with a retry time, the run says so, and publish-due picks them up later.
    Anything else (a bug, bad settings) stops the run.
    """
    size = max(1, channel.limits.batch_size)
    receipts: list[Receipt] = []
    run.remember(planned)  # the delivery step takes keys and finds the deliveries here
    for start in range(0, len(planned), size):
        try:
            receipts += steps.deliver(run, channel.name, [d.key for d in planned[start : start + size]])
        except TransientDeliveryError:
            pass
    outcome.tally = run.ledger.tally([d.key for d in planned], run.owner)
    # The channel itself is down for now (a store or API that refuses everything), not one
    # recipient's mailbox: several deliveries tried, none reached, all for one reason.
    t = outcome.tally
    outcome.stuck = (
        t["retrying"] >= 2 and t["retry_reasons"] == 1 and not (t[State.SENT] or t[State.SKIPPED] or t[State.FAILED])
    )
    outcome.note = outcome.note or open_note(outcome)
    return receipts


def open_note(outcome: Outcome) -> str:
    """What a run leaves open, in words: pending retries, uncertain sends, another run's work."""
    parts = []
    waiting = outcome.count("waiting")
    if waiting:
        parts.append(
            f"{waiting} waiting for the provider's quota to reset; publish-due sends them then (koho status says when)"
        )
    if outcome.count(State.PENDING) > waiting:
        parts.append(
            f"{outcome.count(State.PENDING) - waiting} still pending (a temporary failure, or another run "
            "is sending them); publish-due retries them"
        )
    if outcome.count(State.UNCERTAIN):
        parts.append(f"{outcome.count(State.UNCERTAIN)} uncertain (no answer came); checked before any resend")
    return "; ".join(parts)


def _takers(run: Run, language: str) -> list[Channel[Any]]:
    return [c for c in run.channels if language in c.limits.languages]


def _settled_everywhere(run: Run, translated: Article | None, language: str) -> bool:
    """Whether a kept translation has nothing left to do on any channel that takes its language."""
    return translated is not None and all(
        (translated.id, translated.revision) in run.state.settled(c.name) for c in _takers(run, language)
    )


def _skip_untranslatable(
    run: Run, channel: Channel[Any], article: Article, language: str, missing: str
) -> Outcome | None:
    """Record that ``language`` was not published on ``channel`` and why (once per revision)."""
    if run.dry_run:
        return Outcome(channel.name, article.id, language, note=f"would skip: {missing}")
    row = Delivery(channel.name, f"translation/{language}", article.id, article.revision, language, RecordOnly(missing))
    recorded = run.ledger.record([row], run.owner)
    if not recorded.new:
        return None  # already said in an earlier run
    run.ledger.apply([Receipt.skipped(row.key, missing)])
    return Outcome(
        channel.name, article.id, language, planned=1, new=1, note=missing, receipts=[Receipt.skipped(row.key, missing)]
    )


def _reopen_lost(run: Run, channel: Channel[Any], planned: Iterable[Delivery], recorded: Recorded) -> int:
    """Rows the ledger calls delivered whose files the store no longer holds: pending again."""
    planned = list(planned)
    if not isinstance(channel, StoresFiles) or not planned:
        return 0
    done = {k for k, s in recorded.states.items() if s in (State.SENT, State.SKIPPED)}
    lost = set(channel.missing([d.target for d in planned if d.key in done]))
    if not lost:
        return 0
    return run.ledger.reopen(
        [d.key for d in planned if d.target in lost and d.key in done], "missing from the store: written again"
    )
