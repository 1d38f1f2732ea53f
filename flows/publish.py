"""Flows: publish articles, publish what is due, rebuild the archive.

Each flow reads content, then for every channel plans, records (pending) and delivers, and ends
with an artifact of what happened (a table; publish-due with nothing due: a note saying so). No
channel-specific code lives here.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from channels import registry
from koho.bulletin import BulletinIssue, issues_of
from koho.channel import ChangesWithTime, IssueChannel, StoresFiles
from koho.delivery import Delivery, Receipt, State
from koho.ledger import Ledger
from koho.pipeline import (Outcome, RunState, TransientDeliveryError, context_for, finish_build, hold_reason,
                           issue_context, plan_and_record, plan_issue_and_record, site_build)
from koho.reader import Corpus
from koho.refresh import finish_refresh, mark_current, plan_refresh
from koho.report import artifact_rows, markdown_text, nothing_due
from koho.settings import Settings

from translations.checks import open_translator
from translations.engine import MissingModel
from translations.translator import Translator, translated_issue

from flows.tasks import deliver_task, now_utc, read_content, run_id


@task(name="plan-and-record", cache_policy=NO_CACHE)
def plan_task(channel, article, corpus: Corpus, ledger: Ledger, now: datetime, dry_run: bool, state: RunState):
    """Plan one article on one channel and write its rows pending (unless dry run)."""
    ctx = context_for(channel, article, corpus, ledger, now, dry_run, state)
    return plan_and_record(channel, article, ctx, ledger, run_id(), dry_run)


@task(name="plan-issue-and-record", cache_policy=NO_CACHE)
def plan_issue_task(channel, issue: BulletinIssue, corpus: Corpus, ledger: Ledger, now: datetime, dry_run: bool,
                    state: RunState):
    """Plan one bulletin issue on one channel (the mail digest) and write its rows pending."""
    ctx = issue_context(channel, issue, corpus, now, state)
    return plan_issue_and_record(channel, issue, ctx, ledger, run_id(), dry_run)


@task(name="translate", cache_policy=NO_CACHE)
def translate_task(translator: Translator, article, language: str):
    """Translate one article into one language (all its new segments in one model batch).

    Returns (translated Article, None), or (None, what to install) when no model can.
    """
    try:
        result = translator.translate(article, language)
    except MissingModel as missing:
        return None, str(missing)
    get_run_logger().info("%s [%s]: %d segments, %d sent to the model, %d reviewed", article.id, language,
                          result.segments, result.translated, result.reviewed)
    return result.article, None


def _publish(articles, corpus: Corpus, settings: Settings, channels: list[str] | None, dry_run: bool,
             now: datetime, issues: list[BulletinIssue] = (), translate_only=(),
             refresh: bool = False) -> list[Outcome]:
    logger = get_run_logger()
    ledger = Ledger(settings.db_url())
    outcomes: list[Outcome] = []
    chans = registry.build(settings, channels)
    translator, state = _run_state(settings, chans, ledger, corpus)
    languages = list(state.languages)
    try:
        for article in translate_only:
            outcomes += _publish_translations(article, languages, chans, translator, corpus, ledger, now, state,
                                              dry_run, only_unsettled=True)
        for article in articles:
            reason = hold_reason(article, now)
            if not reason and languages:
                outcomes += _publish_translations(article, languages, chans, translator, corpus, ledger, now,
                                                  state, dry_run)
            for channel in chans:
                outcome = Outcome(channel.name, article.id)
                outcomes.append(outcome)
                if reason:
                    outcome.note = reason
                    continue
                # quote(): Prefect would otherwise walk the whole corpus (thousands of articles)
                # looking for futures in the arguments, twice per task call.
                planned, recorded = plan_task(channel, article, quote(corpus), ledger, now, dry_run, quote(state))
                _deliver_planned(channel, ledger, planned, recorded, outcome, dry_run, state)
                state.delivered(channel.name, article.id, outcome.reached())
            if reason:
                logger.info("%s: %s", article.id, reason)
        # Issue deliveries (the mail digest) after the articles: urgent news never waits for them.
        for channel in [c for c in chans if isinstance(c, IssueChannel)] if issues else []:
            for issue in issues:
                if (issue.id, issue.revision) in state.settled(channel.name):
                    continue
                outcome = Outcome(channel.name, issue.id)
                outcomes.append(outcome)
                planned, recorded = plan_issue_task(channel, quote(issue), quote(corpus), ledger, now, dry_run,
                                                    quote(state))
                _deliver_planned(channel, ledger, planned, recorded, outcome, dry_run, state)
        for issue in issues if languages else []:
            outcomes += _publish_issue_translations(issue, languages, chans, corpus, ledger, now, state, dry_run)
        # Last: an issue page's e-book link should appear once the e-book above is written.
        if refresh:
            outcomes += _refresh(chans, corpus, ledger, now, state)
    finally:
        for channel in chans:
            channel.close()
        if translator is not None:
            translator.close()
        ledger.close()
    return outcomes


def _refresh(chans, corpus: Corpus, ledger: Ledger, now: datetime, state: RunState) -> list[Outcome]:
    """Pages whose rendering changed with time alone since they were last made current (an
    urgent notice's end, an issue's appearance): just those, in every edition (``koho.refresh``)."""
    outcomes = []
    for channel in chans:
        if not isinstance(channel, ChangesWithTime) or channel.name in state.down:
            continue
        made = plan_refresh(channel, corpus, ledger, now, state, run_id())
        if made is None:
            continue  # the common run: no moment passed, nothing rendered
        planned, recorded, outcome = made
        note, outcome.note = outcome.note, ""  # which pages and why, then what delivery says
        outcomes.append(outcome)
        _deliver_planned(channel, ledger, planned, recorded, outcome, False, state)
        outcome.note = "; ".join(n for n in (note, outcome.note) if n)
        finish_refresh(ledger, outcome, now)
    return outcomes


def _run_state(settings: Settings, chans, ledger: Ledger, corpus: Corpus) -> tuple[Translator | None, RunState]:
    """The run's translator (None when no channel takes a target language) and its RunState."""
    # Only languages some channel takes are translated: nothing else would carry them.
    languages = [lang for lang in settings.target_languages() if any(lang in c.limits.languages for c in chans)]
    translator = open_translator(settings.content_dir, settings.target_languages(), ledger.engine,
                                 settings.state_dir / "cache") if languages else None
    return translator, RunState(ledger, corpus, translate=_quietly(translator) if translator else None,
                                languages=languages)


def _quietly(translator: Translator):
    """For listing pages: the translation of an earlier article, or None without a model."""
    def translate(article, language):
        try:
            return translator.translate(article, language).article
        except MissingModel:
            return None
    return translate


def _publish_translations(article, languages: list[str], chans, translator: Translator, corpus: Corpus,
                          ledger: Ledger, now: datetime, state: RunState, dry_run: bool,
                          only_unsettled: bool = False) -> list[Outcome]:
    """Translate an original into each language and publish it to the channels that take it.

    Translations are planned before the original, so the original's pages can already link
    to them. A missing model is a skipped row per channel naming the package to install.
    """
    outcomes = []
    made = {}
    # Every language first: each plan then links all the article's versions, so a page has the
    # same bytes whichever plan of the run writes it, and the next run finds nothing to do.
    for language in languages:
        if only_unsettled and (_settled_everywhere(translator.kept(article, language), language, chans, state)
                               or translator.missing(article.language, language)):
            # publish-due's common cases, with no task: nothing changed, or still no model (said
            # when the article was published; saying it per article and run would cost a task each).
            continue
        translated, missing = translate_task(quote(translator), quote(article), language)
        if translated is None:
            outcomes += [o for o in (_skip_untranslatable(c, article, language, missing, ledger, dry_run)
                                     for c in chans if language in c.limits.languages) if o is not None]
            continue
        state.add_translation(translated)
        made[language] = translated
    for language, translated in made.items():
        takers = [c for c in chans if language in c.limits.languages]
        for channel in takers:
            if only_unsettled and (translated.id, translated.revision) in state.settled(channel.name):
                continue
            outcome = Outcome(channel.name, f"{article.id} ({language})")
            outcomes.append(outcome)
            planned, recorded = plan_task(channel, translated, quote(corpus), ledger, now, dry_run, quote(state))
            _deliver_planned(channel, ledger, planned, recorded, outcome, dry_run, state)
            state.delivered(channel.name, article.id, outcome.reached(), language)
    return outcomes


def _settled_everywhere(translated, language: str, chans, state: RunState) -> bool:
    """Whether a kept translation has nothing left to do on any channel that takes its language."""
    return translated is not None and all((translated.id, translated.revision) in state.settled(c.name)
                                          for c in chans if language in c.limits.languages)


def _skip_untranslatable(channel, article, language: str, missing: str, ledger: Ledger,
                         dry_run: bool) -> Outcome | None:
    """Record that ``language`` was not published on ``channel`` and why (once per revision)."""
    row = Delivery(channel.name, f"translation/{language}", article.id, article.revision, language, b"")
    if dry_run:
        return Outcome(channel.name, f"{article.id} ({language})", note=f"would skip: {missing}")
    recorded = ledger.record([row], run_id())
    if not recorded.new:
        return None  # already said in an earlier run
    ledger.apply([Receipt.skipped(row.key, missing)])
    return Outcome(channel.name, f"{article.id} ({language})", planned=1, new=1, note=missing,
                   receipts=[Receipt.skipped(row.key, missing)])


def _publish_issue_translations(issue: BulletinIssue, languages: list[str], chans, corpus: Corpus, ledger: Ledger,
                                now: datetime, state: RunState, dry_run: bool) -> list[Outcome]:
    """Each issue-level channel that takes a language gets the issue of its translations."""
    outcomes = []
    for language in languages:
        takers = [c for c in chans if isinstance(c, IssueChannel) and language in c.limits.languages]
        if not takers:
            continue
        edition = translated_issue(issue, {a.id: state.translation(a, language) for a in issue.articles})
        if edition is None:
            continue  # some article has no translation (no model): its rows say why
        for channel in takers:
            if (edition.id, edition.revision) in state.settled(channel.name):
                continue
            outcome = Outcome(channel.name, f"{edition.id} ({language})")
            outcomes.append(outcome)
            planned, recorded = plan_issue_task(channel, quote(edition), quote(corpus), ledger, now, dry_run,
                                                quote(state))
            _deliver_planned(channel, ledger, planned, recorded, outcome, dry_run, state)
    return outcomes


def _deliver_planned(channel, ledger: Ledger, planned, recorded, outcome: Outcome, dry_run: bool,
                     state: RunState) -> None:
    outcome.planned, outcome.new = len(planned), len(recorded.new)
    if dry_run:
        outcome.note = "dry run: nothing written"
    elif not planned:
        outcome.note = "nothing to deliver"
    elif not recorded.to_deliver():
        outcome.note = "nothing to send: already delivered"
    elif channel.name in state.down:
        # The channel's store or API failed for a whole batch's retries earlier in this run:
        # trying each further article would cost the same minutes of retries for nothing.
        outcome.tally = ledger.tally([d.key for d in planned], run_id())
        outcome.note = f"not tried: {channel.name} failed temporarily earlier in this run; publish-due retries"
    else:
        outcome.receipts = _deliver_in_tasks(channel, ledger, planned, outcome)
        if outcome.stuck:
            state.down.add(channel.name)


def _deliver_in_tasks(channel, ledger: Ledger, planned, outcome: Outcome) -> list:
    """One Prefect task per batch (hundreds of recipients or files, never one per recipient),
    then the outcome as the ledger has it.

    A batch whose transient failures outlast its retries does not stop the others: its rows
    stay pending with a retry time, the run says so, and publish-due picks them up later.
    """
    size = max(1, channel.limits.batch_size)
    lease = Settings().lease_seconds
    receipts: list = []
    for start in range(0, len(planned), size):
        chunk = planned[start:start + size]
        state = deliver_task(channel, ledger, quote(chunk), lease, return_state=True)
        if state.is_completed():
            receipts += state.result()
            continue
        try:
            state.result()  # anything but a transient failure (a bug, bad settings) stops the run
        except TransientDeliveryError:
            pass
    outcome.tally = ledger.tally([d.key for d in planned], run_id())
    # The channel itself is down for now (a store or API that refuses everything), not one
    # recipient's mailbox: several deliveries tried, none reached, all for one reason.
    t = outcome.tally
    outcome.stuck = (t["retrying"] >= 2 and t["retry_reasons"] == 1
                     and not (t[State.SENT] or t[State.SKIPPED] or t[State.FAILED]))
    outcome.note = outcome.note or open_note(outcome)
    return receipts


def open_note(outcome: Outcome) -> str:
    """What a run leaves open, in words: pending retries, uncertain sends, another run's work."""
    parts = []
    if outcome.count(State.PENDING):
        parts.append(f"{outcome.count(State.PENDING)} still pending (a temporary failure, or another run "
                     "is sending them); publish-due retries them")
    if outcome.count(State.UNCERTAIN):
        parts.append(f"{outcome.count(State.UNCERTAIN)} uncertain (no answer came); checked before any resend")
    return "; ".join(parts)


def _report(outcomes: list[Outcome], title: str, idle: str = "") -> None:
    """The run's artifact ``koho-deliveries``: a table of what it did, or, for a run that found
    nothing to do, ``idle`` (markdown) under the same key, so every run has its entry in one series."""
    rows = artifact_rows(outcomes)
    if rows:
        create_table_artifact(table=rows, key="koho-deliveries", description=title)
    elif idle:
        create_markdown_artifact(markdown=idle, key="koho-deliveries", description=title)


@flow(name="publish-article", log_prints=True)
def publish_article(paths: list[str], channels: list[str] | None = None, dry_run: bool = False,
                    now: datetime | None = None) -> list[Outcome]:
    """Publish the articles under ``paths`` (files or folders) to the enabled channels.

    ``now`` (default: koho's clock) decides embargoes and which 区報 issues have appeared.
    """
    settings = Settings()
    corpus = read_content(settings)
    now = now or now_utc()
    chosen = corpus.select([Path(p) for p in paths], settings.content_dir)
    if not chosen:
        raise ValueError(f"no articles under {', '.join(paths)}")
    issues = issues_of(corpus.articles.values(), corpus.site, now, of=chosen)
    outcomes = _publish(chosen, corpus, settings, channels, dry_run, now, issues)
    _report(outcomes, f"koho publish {' '.join(paths)}")
    return outcomes


@flow(name="publish-due", log_prints=True)
def publish_due(channels: list[str] | None = None, now: datetime | None = None) -> list[Outcome]:
    """Publish every ready article whose time has come (at ``now``, default koho's clock) and that
    still has work on some channel."""
    settings = Settings()
    corpus = read_content(settings)
    now = now or now_utc()
    ledger = Ledger(settings.db_url())
    try:
        settled = ledger.settled(channels or settings.enabled_channels())
        work = [a for a in corpus.articles.values()
                if (a.is_due(now) or a.withdrawn) and (a.id, a.revision) not in settled]
    finally:
        ledger.close()
    work.sort(key=lambda a: (not a.urgent, a.publish_at, a.id))
    issues = issues_of(corpus.articles.values(), corpus.site, now)
    # A model installed or a review edited since: translations of settled originals may have work.
    chosen = set(map(id, work))
    translate_only = [a for a in corpus.articles.values() if a.is_due(now) and id(a) not in chosen]
    outcomes = _publish(work, corpus, settings, channels, False, now, issues, translate_only, refresh=True)
    get_run_logger().info("publish-due: %d article(s) had work", len(work))
    _report(outcomes, "koho publish-due", idle="\n\n".join(nothing_due(corpus.articles.values(), now, corpus.site.tz,
                                                                   literal=markdown_text)))
    return outcomes


def _reopen_lost(channel, ledger: Ledger, planned, recorded) -> int:
    """Rows the ledger calls delivered whose files the store no longer holds: pending again."""
    if not isinstance(channel, StoresFiles) or not planned:
        return 0
    done = {k for k, s in recorded.states.items() if s in (State.SENT, State.SKIPPED)}
    lost = set(channel.missing([d.target for d in planned if d.key in done]))
    if not lost:
        return 0
    return ledger.reopen([d.key for d in planned if d.target in lost and d.key in done],
                         "missing from the store: written again")


@flow(name="build-archive", log_prints=True)
def build_site(channels: list[str] | None = None, force: bool = False, now: datetime | None = None) -> list[Outcome]:
    """Rebuild every page (and feed) of the live site, with the translations publishing put there;
    only changed bytes are written. ``force``: offer every file again even if the site is
    unchanged since the last build (the store lost files)."""
    settings = Settings()
    corpus = read_content(settings)
    now = now or now_utc()
    ledger = Ledger(settings.db_url())
    outcomes = []
    chans = registry.build(settings, channels or ["archive"])
    translator = None
    try:
        translator, state = _run_state(settings, chans, ledger, corpus)
        for channel in chans:
            if not hasattr(channel, "plan_all"):
                continue  # issue channels (e-books): below
            planned, recorded, outcome = site_build(channel, corpus, ledger, now, run_id(), state, force)
            outcomes.append(outcome)
            lost = _reopen_lost(channel, ledger, planned, recorded)
            if recorded.to_deliver() or lost:
                outcome.receipts = _deliver_in_tasks(channel, ledger, planned, outcome)
                outcome.note = (f"{lost} file(s) missing from the store written again; " if lost else "") + outcome.note
            else:
                outcome.note = "nothing to write: site unchanged since the last build, every file present"
            if finish_build(ledger, outcome) and isinstance(channel, ChangesWithTime):
                mark_current(ledger, channel.name, now)  # every page was rendered as of ``now``
        # E-books are files of each issue: rebuilt like pages (written if changed or missing).
        for channel in [c for c in chans if isinstance(c, IssueChannel) and not hasattr(c, "plan_all")]:
            for issue in issues_of(corpus.articles.values(), corpus.site, now):
                outcome = Outcome(channel.name, issue.id)
                outcomes.append(outcome)
                planned, recorded = plan_issue_task(channel, quote(issue), quote(corpus), ledger, now, False,
                                                    quote(state))
                lost = _reopen_lost(channel, ledger, planned, recorded)
                outcome.planned, outcome.new = len(planned), len(recorded.new)
                if recorded.to_deliver() or lost:
                    outcome.receipts = _deliver_in_tasks(channel, ledger, planned, outcome)
                else:
                    outcome.note = "unchanged, every file present"
    finally:
        for channel in chans:
            channel.close()
        if translator is not None:
            translator.close()
        ledger.close()
    _report(outcomes, "koho build")
    return outcomes
