"""The ``koho`` command: check, preview, publish, publish-due, build, status, serve.

The CLI is the composition root (ADR 0002): it lives in ``koho`` as the layout mandates, but
runs the outer layers (``flows``, ``channels``) by loading them by name when a command needs
them, so importing ``koho`` never imports them and the dependency direction stays one-way.
"""

from __future__ import annotations

import importlib
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from koho import clock, prefect_env, progress, runner
from koho.cli_app import consoles, typer_app
from koho.cli_words import N_, _
from koho.errors import ConfigError, ContentError, ContentInvalid
from koho.settings import Settings, mask_url

if TYPE_CHECKING:
    from koho.ledger import Ledger
    from koho.pipeline import Outcome
    from koho.reader import Corpus
    from koho.report import Summary

T = TypeVar("T")

app = typer_app("koho: publish the ward's news to the archive, feeds and every other channel.")
out, err = consoles()

from koho.cli_media import app as media_app  # noqa: E402
from koho.cli_preview import preview as preview_command  # noqa: E402
from koho.cli_readings import app as readings_app  # noqa: E402
from koho.cli_redrive import redrive as redrive_command  # noqa: E402
from koho.cli_server import app as server_app  # noqa: E402
from koho.cli_subscribers import app as subscribers_app  # noqa: E402  (after app, by design)
from koho.cli_translations import app as translations_app  # noqa: E402

app.add_typer(subscribers_app, name="subscribers")
app.add_typer(media_app, name="media")
app.add_typer(translations_app, name="translations")
app.add_typer(readings_app, name="readings")
app.add_typer(server_app, name="server")
app.command("redrive")(redrive_command)
app.command("preview")(preview_command)

PathsArg = typer.Argument(None, help="Article files or folders (default: all of content/articles).")
ChannelOpt = typer.Option(None, "--channel", "-c", help="Only this channel (repeatable).")
DetailsOpt = typer.Option(False, "--details", help="A row per article, language and channel instead of per channel.")


def _outer(module: str) -> ModuleType:
    # Loaded by name: see the module docstring and docs/adr/0002-cli-composition-root.md.
    return importlib.import_module(module)


def _load(settings: Settings) -> Corpus:
    from koho.reader import load

    return load(settings)


def _echo_errors(errors: Sequence[ContentError]) -> None:
    # Plain lines, never wrapped: editors and CI parse path:line: field: message.
    cwd = Path.cwd()
    for error in errors:
        path = Path(error.path)
        shown = path.relative_to(cwd) if path.is_absolute() and path.is_relative_to(cwd) else path
        message = error.phrase.say(_) if error.phrase is not None else error.message
        # Field names are keys of the file, written as they are; only the words for parts of it
        # ("front matter", "body") are translated.
        where = _(error.field) if error.field in _PARTS else error.field
        typer.echo(f"{shown}:{error.line}: {where}: {message}", err=True)


#: The ContentError "fields" that are parts of a file rather than its keys.
_PARTS = (N_("front matter"), N_("file"), N_("body"), N_("folder"))


def _print_errors(errors: Sequence[ContentError]) -> None:
    _echo_errors(errors)
    err.print(_("{n} error(s); nothing was published.").format(n=len(errors)), style="bold red")


@app.command()
def check(paths: list[Path] | None = PathsArg) -> None:
    """Validate articles and site settings; list every error as path:line: field: message."""
    settings = Settings()
    try:
        corpus = _load(settings)
    except ContentInvalid as exc:
        _print_errors(exc.errors)
        raise typer.Exit(1) from None
    errors = corpus.errors
    if paths:
        wanted = [p.resolve() for p in paths]
        errors = [
            e for e in errors if any(Path(e.path).resolve() == w or w in Path(e.path).resolve().parents for w in wanted)
        ]
        errors += _unmatched_paths(paths, corpus, settings, errors)
    translation_errors, warnings = _translation_checks(settings, corpus)
    errors = errors + translation_errors
    if warnings:
        _echo_errors(warnings)
        err.print(_("{n} warning(s).").format(n=len(warnings)), style="yellow")
    if errors:
        _echo_errors(errors)
        err.print(_("{n} error(s).").format(n=len(errors)), style="bold red")
        raise typer.Exit(1)
    out.print(_("OK: {n} article(s) valid.").format(n=len(corpus.articles)))


def _unmatched_paths(
    paths: list[Path], corpus: Corpus, settings: Settings, errors: list[ContentError]
) -> list[ContentError]:
    """An error for each path that names no article: a typo must not read as "OK"."""
    from koho.errors import ContentError

    out = []
    for path in paths:
        if not path.exists() and not path.is_symlink():
            out.append(ContentError(str(path), 1, "file", "no such file or folder"))
        elif not corpus.select([path], settings.content_dir) and not any(
            Path(e.path).resolve() == path.resolve() or path.resolve() in Path(e.path).resolve().parents for e in errors
        ):
            out.append(
                ContentError(
                    str(path),
                    1,
                    "file",
                    f"no article here (articles are .md files under {settings.content_dir / 'articles'})",
                )
            )
    return out


def _translation_checks(settings: Settings, corpus: Corpus) -> tuple[list[ContentError], list[ContentError]]:
    """(errors, warnings) of the glossary (its readings too) and the review files."""
    from koho.reading_dictionary import load_reading_dictionary

    reading_errors = load_reading_dictionary(settings.content_dir)[1]  # braille and speech read them
    if not settings.target_languages():
        return reading_errors, []
    checks = _outer("translations.checks")
    errors, warnings = checks.check(settings.content_dir, settings.target_languages(), corpus.articles)
    return [*errors, *(e for e in reading_errors if e not in errors)], warnings


def _preflight(settings: Settings, channels: Sequence[str] | None, paths: list[str] | None = None) -> Corpus:
    """Refuse to start a run on invalid content or settings: a clear message, not a flow
    traceback, and nothing recorded or written. Returns the corpus."""
    try:
        corpus = _load(settings)
    except ContentInvalid as exc:
        _print_errors(exc.errors)
        raise typer.Exit(1) from None
    if corpus.errors:
        _print_errors(corpus.errors)
        raise typer.Exit(1)
    translation_errors, _warnings = _translation_checks(settings, corpus)
    if translation_errors:  # a broken glossary would publish translations that ignore it
        _print_errors(translation_errors)
        raise typer.Exit(1)
    from koho.ledger import Ledger

    try:
        for ch in _outer("channels.registry").build(settings, channels or None):  # checks every URL
            ch.close()
        Ledger(settings.db_url()).close()
    except ConfigError as exc:
        err.print(_("configuration error: {problem}").format(problem=exc), style="bold red", markup=False)
        raise typer.Exit(2) from None
    if paths and not corpus.select([Path(p) for p in paths], settings.content_dir):
        err.print(_("error: no articles under {paths}").format(paths=", ".join(paths)), style="bold red", markup=False)
        raise typer.Exit(2)
    return corpus


def _with_progress(run: Callable[[], T]) -> T:
    columns = (TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def observe(label: str, advance: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], advance=advance, total=max(total, bar.tasks[tasks[label]].completed + advance))

        stop = progress.subscribe(observe)
        try:
            return run()
        finally:
            stop()


#: Exit codes of the publishing commands (README "Exit codes").
EXIT_FAILED = 1  # some delivery failed for good (see `koho status`)
EXIT_CONFIG = 2  # content or settings refused before anything was sent
EXIT_OPEN = 3  # nothing failed, but deliveries are still pending or uncertain
EXIT_LEDGER = 4  # the ledger database failed during the command


def _outcome_table(
    outcomes: Sequence[Outcome], title: str, details: bool = False, dry_run: bool = False, corpus: Corpus | None = None
) -> int:
    """Print the run's report (counted from the ledger) and return the command's exit code.

    One row per channel, each reason said once below it; ``details``: the row per article,
    language and channel that the Prefect artifact holds."""
    from koho.report import artifact_rows, summarize

    rows = artifact_rows(outcomes)
    summary = summarize(outcomes)
    if details:
        _details_table(rows, title)
    else:
        _summary_table(summary, title, dry_run)
    _reasons(summary, corpus)
    sent = sum(int(r["sent"]) for r in rows)
    failed = sum(int(r["failed"]) for r in rows)
    pending = sum(int(r["pending"]) for r in rows)
    uncertain = sum(int(r["uncertain"]) for r in rows)
    if dry_run:
        would = summary.total("new")
        out.print(
            _("Dry run: would send {n} new deliveries; nothing was written.").format(n=would)
            if would
            else _("Dry run: nothing new would be sent.")
        )
    elif not sent and not failed and not pending and not uncertain and rows:
        if summary.held and not summary.total("planned"):
            out.print(_("Nothing was sent: the articles above are held back."))
        elif summary.total("skipped"):
            out.print(_("Nothing new was sent; the skipped deliveries are explained above."))
        else:
            out.print(_("Nothing new was sent: every planned delivery was already in the ledger or unchanged."))
    if pending or uncertain:
        err.print(
            _(
                "{pending} deliveries still pending and {uncertain} uncertain; publish-due retries them "
                "(see `koho status`)."
            ).format(pending=pending, uncertain=uncertain),
            style="bold yellow",
            markup=False,
        )
    if failed:
        err.print(
            _("{failed} deliveries failed; see `koho status`.").format(failed=failed), style="bold red", markup=False
        )
        return EXIT_FAILED
    return EXIT_OPEN if pending or uncertain else 0


#: Every table header, marked for the catalog: the detail table's (``report.COLUMNS``), the
#: summary's and ``koho status``'s (below).
_HEADERS = (
    N_("article"),
    N_("channel"),
    N_("planned"),
    N_("new"),
    N_("would send"),
    N_("sent"),
    N_("unchanged"),
    N_("skipped"),
    N_("failed"),
    N_("pending"),
    N_("uncertain"),
    N_("note"),
    N_("last update"),
    N_("provider ids"),
    N_("in doubt"),
)
#: ``koho status``'s columns, and those of ``koho status ID``'s summary.
_STATUS_COLUMNS = (
    "article",
    "channel",
    "sent",
    "unchanged",
    "failed",
    "pending",
    "uncertain",
    "last update",
    "provider ids",
)
_ARTICLE_STATUS_COLUMNS = ("channel", "sent", "unchanged", "failed", "pending", "uncertain", "in doubt")


def _details_table(rows: list[dict[str, str | int]], title: str) -> None:
    from koho.report import COLUMNS

    table = Table(title=title)
    for column in COLUMNS:
        table.add_column(_(column), overflow="fold")
    for row in rows:
        table.add_row(*(str(row[c]) for c in COLUMNS))
    out.print(table)


#: The summary's columns: ChannelRow attributes, each under the header of its name unless
#: renamed here. A dry run sends nothing, so it shows what it would do instead of what happened.
_RUN_COLUMNS = ("channel", "sent", "unchanged", "skipped", "failed", "pending", "uncertain", "notes")
_DRY_COLUMNS = ("channel", "planned", "new", "skipped", "notes")
_RENAMED = {"notes": "note"}
_DRY_RENAMED = {**_RENAMED, "new": "would send"}
#: A channel's distinct notes shown in its row; more than this say "see --details".
NOTES_SHOWN = 2


def _summary_table(summary: Summary, title: str, dry_run: bool) -> None:
    table = Table(title=title)
    columns, renamed = (_DRY_COLUMNS, _DRY_RENAMED) if dry_run else (_RUN_COLUMNS, _RENAMED)
    for attr in columns:
        table.add_column(_(renamed.get(attr, attr)), overflow="fold")
    for row in summary.channels:
        notes = row.notes if len(row.notes) <= NOTES_SHOWN else [_("various: see --details")]
        table.add_row(*("; ".join(notes) if attr == "notes" else str(getattr(row, attr)) for attr in columns))
    out.print(table)


def _reasons(summary: Summary, corpus: Corpus | None) -> None:
    """Each reason once: held articles (and when an embargo ends), skips, first failures."""
    for article_id, note in sorted(summary.held.items()):
        article = corpus.articles.get(article_id) if corpus is not None else None
        if note.startswith("embargoed until ") and article is not None:
            out.print(
                _("{id}: embargoed until {when}; publish-due sends it then.").format(
                    id=article_id, when=f"{article.publish_at:%Y-%m-%d %H:%M %Z}"
                )
            )
        elif note.startswith("draft"):
            out.print(_("{id}: a draft; it is published once its status is ready.").format(id=article_id))
        else:
            out.print(f"{article_id}: {note}")
    for reason, (n, channels) in summary.skipped.items():
        out.print(
            _("Skipped {n} deliveries ({channels}): {reason}").format(n=n, channels=", ".join(channels), reason=reason)
        )
    for channel, (n, first) in summary.failures.items():
        out.print(_("{channel}: {n} failed; first: {reason}").format(channel=channel, n=n, reason=first))


def _run_flow(name: str, verbose: bool, **params: object) -> list[Outcome]:
    """Run a flow against PREFECT_API_URL, or koho's local Prefect server (started once, ADR 0015)."""
    prefect_env.apply(verbose)
    from koho.prefect_server import LocalServer, ServerError, connect

    settings = Settings()
    try:
        local = connect(
            settings.state_dir,
            settings.prefect_server_timeout,
            lambda message: err.print(message, style="dim", markup=False, soft_wrap=True),
        )
    except ServerError as exc:
        err.print(f"error: {exc}", style="bold red", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    module = _outer("flows.publish")
    flow = getattr(module, name)
    if local is None:
        ran: list[Outcome] = flow(**params)
        return ran
    from prefect.settings import temporary_settings

    # Heartbeats let a server with workers tell a crashed run; koho's local server has none, and
    # stopping the heartbeat thread costs up to a second at the end of every run.
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        outcomes: list[Outcome] = flow(**params)
    # The next command finds Prefect and koho imported in the warm runner (ADR 0016).
    runner.start_in_background(runner.Place(LocalServer(settings.state_dir).dir))
    return outcomes


@app.command()
def publish(
    paths: list[Path] | None = PathsArg,
    channel: list[str] | None = ChannelOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan and show; write nothing."),
    details: bool = DetailsOpt,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Prefect's logs."),
) -> None:
    """Publish articles now (through the publish-article flow) to every enabled channel."""
    settings = Settings()
    targets = [str(p) for p in (paths or [settings.content_dir / "articles"])]
    corpus = _preflight(settings, channel, targets)
    if dry_run:
        outcomes = _dry_run(settings, corpus, targets, channel)
    else:
        outcomes = _with_progress(
            lambda: _run_flow("publish_article", verbose, paths=targets, channels=channel or None)
        )
    code = _outcome_table(outcomes, "koho publish" + (" (dry run)" if dry_run else ""), details, dry_run, corpus)
    _where(settings)
    if code:
        raise typer.Exit(code)


def _dry_run(settings: Settings, corpus: Corpus, targets: list[str], channels: list[str] | None) -> list[Outcome]:
    """The run driver with ``dry_run``: the same choices and plans as the flow, translations
    included, with nothing recorded, written or sent, and no Prefect."""
    driver, steps = _outer("flows.driver"), _outer("flows.steps")
    outcomes: list[Outcome] = driver.run(
        settings,
        driver.Work(paths=tuple(targets)),
        channels or None,
        clock.now(),
        dry_run=True,
        steps=steps.Steps(corpus),
    )
    return outcomes


def _where(settings: Settings) -> None:
    archive = settings.archive_url
    out.print(
        _("Site: {url}  (open public/index.html)").format(url=archive)
        if archive.startswith("file://public")
        else _("Site: {url}").format(url=archive)
    )
    out.print(_("Feeds: {url}/feeds/atom.xml, rss.xml").format(url=settings.feeds_target()))
    out.print(_("Ledger: {url}  (see `koho status`)").format(url=mask_url(settings.db_url())))


@app.command("publish-due")
def publish_due(
    channel: list[str] | None = ChannelOpt,
    details: bool = DetailsOpt,
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Publish every ready article whose publish time has passed and that has work left."""
    settings = Settings()
    corpus = _preflight(settings, channel)
    outcomes = _with_progress(lambda: _run_flow("publish_due", verbose, channels=channel or None))
    if not outcomes:
        from koho.report import nothing_due

        # The flow's artifact says the same, in English, for the Prefect UI.
        for line in nothing_due(corpus.articles.values(), clock.now(), corpus.site.tz, say=_):
            out.print(line)
        return
    code = _outcome_table(outcomes, "koho publish-due", details, corpus=corpus)
    if code:
        raise typer.Exit(code)


@app.command()
def build(
    force: bool = typer.Option(
        False,
        "--force",
        help="Offer every file to the store again, even if "
        "nothing changed since the last build (the store lost files).",
    ),
    details: bool = DetailsOpt,
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Rebuild the whole archive site and its feeds (only files whose bytes changed are written)."""
    settings = Settings()
    site = [c for c in ("archive", "feeds", "ebook") if c in settings.enabled_channels()] or ["archive"]
    _preflight(settings, site)
    outcomes = _with_progress(lambda: _run_flow("build_site", verbose, channels=site, force=force))
    code = _outcome_table(outcomes, "koho build", details)
    _where(settings)
    if code:
        raise typer.Exit(code)


@app.command()
def status(
    article_id: str | None = typer.Argument(None, help="An article id for its deliveries."),
    rows: bool = typer.Option(False, "--rows", help="List every delivery, even of channels with many."),
) -> None:
    """Show the ledger: per article and channel, or one article's deliveries per channel."""
    from koho.ledger import Ledger

    settings = Settings()
    tz = _display_tz(settings)
    ledger = Ledger(settings.db_url())
    try:
        if article_id:
            _status_one(ledger, article_id, tz, rows)
        else:
            _status_all(ledger, tz)
    finally:
        ledger.close()


def _display_tz(settings: Settings) -> tzinfo:
    from koho.site import load_site

    try:
        return load_site(settings.content_dir).tz
    except Exception:
        return UTC


def _status_all(ledger: Ledger, tz: tzinfo) -> None:
    counts = ledger.counts()
    if not counts:
        out.print(_("The ledger is empty: nothing has been published yet."))
        return
    last = ledger.last_activity()
    refs = ledger.few_refs(REFS_SHOWN)
    table = Table(title="koho status")
    for column in _STATUS_COLUMNS:
        table.add_column(_(column), overflow="fold" if column == "provider ids" else "ellipsis")
    for (article, channel), c in sorted(counts.items(), key=lambda kv: last[kv[0]], reverse=True):
        table.add_row(
            article,
            channel,
            *_state_cells(c),
            f"{last[(article, channel)].astimezone(tz):%Y-%m-%d %H:%M}",
            ", ".join(refs.get((article, channel), [])),
        )
    out.print(table)
    _waits(ledger, tz)
    doubt = ledger.doubt_by_channel()
    if doubt:
        out.print(
            _("Possibly sent twice (an answer was lost or a run died mid-send): ")
            + ", ".join(f"{channel} {n}" for channel, n in sorted(doubt.items())),
            markup=False,
        )


def _waits(ledger: Ledger, tz: tzinfo) -> None:
    """What waits for a provider's quota to reset (ADR 0030), and when it goes out."""
    waits = ledger.waits()
    if not waits:
        return
    out.print(_("Waiting for a quota to reset (publish-due sends them then):"))
    for w in waits:
        edition = f" ({w.language})" if w.language and w.language != "ja" else ""
        out.print(
            _("- {article}{edition} on {channel}: {n} deliveries go out after {when}; {reason}").format(
                article=w.article_id,
                edition=edition,
                channel=w.channel,
                n=w.count,
                when=_when(w.until, tz),
                reason=w.detail,
            ),
            markup=False,
        )


def _when(moment: datetime, tz: tzinfo) -> str:
    """A moment as operators read it: in the site's zone, with the zone's name."""
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M %Z}"


def _state_cells(counts: Counter[str]) -> list[str]:
    """The state columns of both status tables, in their order."""
    return [str(counts[state]) for state in ("sent", "skipped", "failed", "pending", "uncertain")]


#: Posts, broadcasts and videos show their provider ids in the overview; an archive's dozen
#: page hashes or a mail list's thousands of message ids would drown it.
REFS_SHOWN = 3

#: Channels with more deliveries than this (mail: one per subscriber) show counts, not rows.
ROWS_SHOWN = 50


def _status_one(ledger: Ledger, article_id: str, tz: tzinfo, all_rows: bool = False) -> None:
    rows = ledger.rows(article_id=article_id)
    if not rows:
        err.print(_("No deliveries recorded for {id}.").format(id=repr(article_id)))
        raise typer.Exit(1)
    per_channel: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        per_channel.setdefault(row["channel"], []).append(row)
    summary = Table(title=f"koho status {article_id}")
    for column in _ARTICLE_STATUS_COLUMNS:
        summary.add_column(_(column))
    for channel, found in sorted(per_channel.items()):
        c = Counter(r["state"] for r in found)
        # Uncertain: no answer came, or a run died holding the row; in doubt: every row that
        # was ever uncertain. These are the only deliveries that can have gone out twice.
        doubt = sum(1 for r in found if r["in_doubt"])
        summary.add_row(channel, *_state_cells(c), str(doubt))
    out.print(summary)
    listed = [r for ch, found in per_channel.items() if all_rows or len(found) <= ROWS_SHOWN for r in found]
    if listed:
        _status_rows(listed, tz)
    hidden = sorted(ch for ch, found in per_channel.items() if not all_rows and len(found) > ROWS_SHOWN)
    if hidden:
        out.print(
            _("({channels}: too many deliveries to list; add --rows to see each one)").format(
                channels=", ".join(hidden)
            )
        )


def _status_rows(rows: list[dict[str, Any]], tz: tzinfo) -> None:
    table = Table()
    for column in (
        N_("channel"),
        N_("target"),
        N_("revision"),
        N_("state"),
        N_("attempts"),
        N_("time"),
        N_("provider ref"),
        N_("error / reason"),
    ):
        table.add_column(_(column), overflow="fold")
    for row in sorted(rows, key=lambda r: (r["channel"], r["target"], r["updated_at"])):
        state = f"{row['state']} (in doubt)" if row["in_doubt"] and row["state"] != "uncertain" else row["state"]
        if row["waiting"] and row["state"] == "pending" and row["not_before"] is not None:
            state = _("pending: goes out after {when}").format(when=_when(row["not_before"], tz))
        table.add_row(
            row["channel"],
            row["target"],
            row["revision"],
            state,
            str(row["attempts"]),
            f"{row['updated_at'].astimezone(tz):%Y-%m-%d %H:%M:%S}",
            row["provider_ref"] or "",
            row["detail"] or "",
        )
    out.print(table)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (behind a reverse proxy)."),
    port: int = typer.Option(8000, help="TCP port to listen on."),
) -> None:
    """Run the info-mail subscription web service: sign-up, confirmation, preferences, unsubscribe."""
    try:
        settings = Settings()
    except ValidationError as exc:
        _settings_error(exc)
        raise typer.Exit(2) from None
    web = _outer("channels.mail.web")
    try:
        service = web.create_app(settings)
    except ContentInvalid as exc:
        _echo_errors(exc.errors)
        raise typer.Exit(1) from None
    except ConfigError as exc:
        err.print(f"configuration error: {exc}", style="bold red", markup=False)
        raise typer.Exit(2) from None
    out.print(
        f"Serving the info-mail pages on http://{host}:{port}/ (public address "
        f"{service.state.identity.web_url}); Ctrl+C stops.",
        markup=False,
    )
    _outer("channels.mail.web.server").run(service, host, port)


def main(argv: list[str] | None = None) -> None:
    """Run ``koho ARGV`` (default: the process's arguments): user mistakes end with a message and
    exit code, never a traceback."""
    try:
        app(args=argv, prog_name="koho")
    except ContentInvalid as exc:
        _print_errors(exc.errors)
        sys.exit(1)
    except ConfigError as exc:
        err.print(_("configuration error: {problem}").format(problem=exc), markup=False)
        sys.exit(2)
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise  # not the operator's KOHO_* values: a bug, shown as one
        _settings_error(exc)
        sys.exit(2)
    except Exception as exc:
        from sqlalchemy.exc import DBAPIError

        if not isinstance(exc, DBAPIError):
            raise
        # The ledger failed under us (disk full, file damaged, server gone): one line, with the
        # database's own words and never the URL (it may hold a password), not a traceback.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        err.print(
            f"ledger database error: {reason}. Nothing was lost: deliveries not recorded as done are "
            "still owed; run the command again once the database is back (`koho status` shows the "
            "state).",
            markup=False,
        )
        sys.exit(EXIT_LEDGER)


def _settings_error(exc: ValidationError) -> None:
    first = exc.errors()[0]
    field = "_".join(str(part) for part in first["loc"]).upper()
    err.print(f"configuration error: KOHO_{field}: {first['msg']}", markup=False)


if __name__ == "__main__":
    main()
