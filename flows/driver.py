"""The run driver: every publishing run, from reading content to the report, in one place.

``run()`` is the whole pipeline (quoted at the top of docs/architecture.md). The flows
(``flows/publish.py``) call it with Prefect steps, so planning, translating and delivering are
Prefect tasks with their retries; ``koho publish --dry-run``, tests and benchmarks call it with
plain ``Steps``. This module never imports Prefect: a dry run stays fast and starts no server.

What one step does for one item and channel is in ``flows/steps.py``; the pure planning inputs,
recording and delivering are in ``koho/pipeline.py`` (ADR 0019).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.steps import (
    Steps,
    build_all,
    finish_runs,
    held,
    media_only,
    publish_issue_translations,
    publish_issues,
    publish_on,
    refresh_clock,
    translate_and_publish,
)
from koho import clock
from koho.article import Article
from koho.bulletin import BulletinIssue, issues_of
from koho.channel import Channel
from koho.delivery import Delivery
from koho.ledger import Ledger
from koho.pipeline import Outcome, RunState, hold_reason
from koho.reader import Corpus
from koho.report import markdown_text, nothing_due
from koho.settings import Settings

if TYPE_CHECKING:
    from translations.translator import Translator


def run(
    settings: Settings,
    work: Work,
    channels: list[str] | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
    steps: Steps | None = None,
) -> list[Outcome]:
    """One publishing run, start to end: read, choose, then for each article hold or translate
    and publish on every channel, then the bulletin issues, the clock's pages and the report."""
    steps = steps or Steps()
    corpus = steps.read(settings)  # read: content/ -> Corpus
    with Run.open(settings, corpus, work.channels(channels), now, dry_run, steps.owner()) as run:
        if work.build:  # build-archive: the whole site
            return steps.report(build_all(run, steps, work.force), work.title)
        articles, translate_only, issues = work.choose(run, steps)  # choose: paths, or what is due
        outcomes: list[Outcome] = []
        for article in translate_only:  # due: new translations of settled originals
            outcomes += translate_and_publish(run, steps, article, only_unsettled=True)
        for article in articles:
            reason = hold_reason(article, run.now)  # hold: a draft, an embargo
            if reason:
                outcomes += held(run, steps, article, reason)
                continue
            if article.embargoed_for_site(run.now):  # a press release: the media now, the site later
                outcomes += media_only(run, steps, article)
                continue
            outcomes += translate_and_publish(run, steps, article)  # translate, then plan+record+deliver each
            run.see_revision(article)  # record when this revision was first seen: its feed time
            outcomes += [publish_on(run, steps, channel, article) for channel in run.channels]  # the original
        outcomes += publish_issues(run, steps, issues)  # the 区報 issues' digests and e-books
        outcomes += publish_issue_translations(run, steps, issues)  # ... in each language
        outcomes += finish_runs(run, steps, outcomes)  # once per run: the archive's search index
        if work.refresh:
            outcomes += refresh_clock(run, steps)  # pages that changed with time alone
        steps.alert(run, scheduled=work.due)  # tell operators once: failures, long waits, missed runs
        return steps.report(outcomes, work.title, work.idle(run))  # the artifact (flows) or nothing


@dataclass(frozen=True)
class Work:
    """What a run was asked for: the articles under ``paths``, what is ``due``, or a ``build``."""

    paths: tuple[str, ...] = ()
    due: bool = False
    build: bool = False
    force: bool = False

    @property
    def refresh(self) -> bool:
        """Only publish-due looks at the clock's pages: it is the run that comes when time passes."""
        return self.due

    @property
    def title(self) -> str:
        """The report's title (the artifact's description)."""
        if self.build:
            return "koho build"
        return "koho publish-due" if self.due else f"koho publish {' '.join(self.paths)}"

    def channels(self, asked: list[str] | None) -> list[str] | None:
        """The channels to build (None: every enabled one); a build defaults to the archive."""
        return asked or ["archive"] if self.build else asked

    def choose(self, run: Run, steps: Steps) -> tuple[list[Article], list[Article], list[BulletinIssue]]:
        """(articles to publish, originals whose translations only may have work, issues)."""
        corpus, now = run.corpus, run.now
        if not self.due:
            chosen = corpus.select([Path(p) for p in self.paths], run.settings.content_dir)
            if not chosen:
                raise ValueError(f"no articles under {', '.join(self.paths)}")
            return chosen, [], issues_of(corpus.articles.values(), corpus.site, now, of=chosen)
        settled = run.ledger.settled([c.name for c in run.channels])
        work = [
            a for a in corpus.articles.values() if (a.is_due(now) or a.withdrawn) and (a.id, a.revision) not in settled
        ]
        work.sort(key=lambda a: (not a.urgent, a.publish_at, a.id))
        # A model installed or a review edited since: translations of settled originals may have work.
        working = set(map(id, work))
        translate_only = [a for a in corpus.articles.values() if a.on_site(now) and id(a) not in working]
        steps.log(f"publish-due: {len(work)} article(s) had work")
        return work, translate_only, issues_of(corpus.articles.values(), corpus.site, now)

    def idle(self, run: Run) -> str:
        """What a run that found nothing to do says (publish-due: when the next embargo ends)."""
        if not self.due:
            return ""
        return "\n\n".join(
            nothing_due(run.corpus.articles.values(), run.now, run.corpus.site.tz, literal=markdown_text)
        )


#: Runs in progress by key: a Prefect task gets the key and looks its run up here, so tasks take
#: ids and plain values instead of the corpus, the ledger and open channels.
_OPEN: dict[str, Run] = {}


def running(key: str) -> Run:
    """The open run with ``key`` (KeyError after it closed)."""
    return _OPEN[key]


@dataclass
class Run:
    """One run's context, opened once: content, ledger, built channels, translator and RunState.

    Steps take ids (channel name, article or issue id, language) and look the rest up here; the
    deliveries a run planned are kept by key, so a delivery step takes keys.
    """

    settings: Settings
    corpus: Corpus
    ledger: Ledger
    channels: list[Channel[Any]]
    state: RunState
    now: datetime
    dry_run: bool = False
    #: Opened when some channel takes a target language (``languages``), else None.
    translator: Translator | None = None
    #: Recorded on ledger rows and used as the lease owner: the flow run's id (None: no flow).
    owner: str | None = None
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    planned: dict[str, Delivery] = field(default_factory=dict)
    issues: dict[tuple[str, str], BulletinIssue] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        settings: Settings,
        corpus: Corpus,
        channels: list[str] | None,
        now: datetime | None,
        dry_run: bool = False,
        owner: str | None = None,
    ) -> Run:
        """Build the channels, open the ledger and, when some channel takes a target language,
        the translator (read-only in a dry run)."""
        from channels import registry  # the outer layers: by name at run time, never at import

        chans = registry.build(settings, channels)
        ledger = Ledger(settings.db_url())
        # Only languages some channel takes are translated: nothing else would carry them.
        languages = [lang for lang in settings.target_languages() if any(lang in c.limits.languages for c in chans)]
        translator = None
        if languages:
            from translations.checks import open_translator

            translator = open_translator(
                settings.content_dir,
                settings.target_languages(),
                ledger.engine,
                settings.state_dir / "cache",
                read_only=dry_run,
            )
        state = RunState(ledger, corpus, translate=_quietly(translator) if translator else None, languages=languages)
        run = cls(settings, corpus, ledger, chans, state, now or clock.now(), dry_run, translator, owner)
        _OPEN[run.key] = run
        return run

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def languages(self) -> tuple[str, ...]:
        """The target languages this run translates into (none in a Japanese-only run)."""
        return self.state.languages

    def channel(self, name: str) -> Channel[Any]:
        """The run's channel called ``name``."""
        return next(c for c in self.channels if c.name == name)

    def article(self, article_id: str, language: str) -> Article:
        """The original, or its translation into ``language`` made in this run."""
        original = self.corpus.articles[article_id]
        if language == original.language:
            return original
        made = self.state.made(article_id, language)
        if made is None:
            raise KeyError(f"{article_id} has no translation into {language} in this run")
        return made

    def see_revision(self, article: Article) -> None:
        """Record when an original's revision was first seen (its feeds' updated time) before it
        is planned: the ledger write that planning itself never makes. A dry run records nothing."""
        if not self.dry_run:
            self.state.see_revision(article)

    def remember(self, planned: Sequence[Delivery]) -> None:
        """Keep deliveries by key until they are delivered: a delivery step takes keys."""
        self.planned.update((d.key, d) for d in planned)

    def forget(self, planned: Sequence[Delivery]) -> None:
        """Drop deliveries once delivered (or not to be): a run's plans are not all held at once."""
        for delivery in planned:
            self.planned.pop(delivery.key, None)

    def close(self) -> None:
        """Close every channel, the translator and the ledger; forget the run."""
        _OPEN.pop(self.key, None)
        for channel in self.channels:
            channel.close()
        if self.translator is not None:
            self.translator.close()
        self.ledger.close()


def _quietly(translator: Translator) -> Callable[[Article, str], Article | None]:
    """For listing pages: the translation of an earlier article, or None without a model."""
    from translations.engine import MissingModel

    def translate(article: Article, language: str) -> Article | None:
        try:
            return translator.translate(article, language).article
        except MissingModel:
            return None

    return translate
