"""``koho subscribers``: import, export, count and erase-expired for the info-mail list."""

from __future__ import annotations

import importlib
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from koho import subscriber_csv
from koho.cli_app import consoles, typer_app
from koho.errors import ContentInvalid
from koho.settings import Settings

if TYPE_CHECKING:
    from koho.subscribers import NewSubscriber, SubscriberStore

app = typer_app("Manage info-mail subscribers.")
out, err = consoles()


def _store() -> SubscriberStore:
    from koho.ledger import Ledger
    from koho.subscribers import SubscriberStore

    return SubscriberStore(Ledger(Settings().db_url()).engine)


def _topics() -> dict[str, str]:
    from koho.site import load_site

    try:
        return load_site(Settings().content_dir).topics
    except ContentInvalid as exc:
        for error in exc.errors:
            typer.echo(str(error), err=True)
        raise typer.Exit(1) from None


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV with address,topics[,language].")],
    state: str = typer.Option("pending", help="pending (they will confirm) or confirmed (consent on record)."),
    source: str | None = typer.Option(None, help="Where the consent came from (default: the file name)."),
    encoding: str | None = typer.Option(None, help="File encoding, e.g. cp932 for Excel's Shift_JIS."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Import the valid rows even if some are rejected."),
) -> None:
    """Import subscribers. Every row is checked first; nothing is imported while any is rejected."""
    if state not in ("pending", "confirmed"):
        err.print("--state must be pending or confirmed")
        raise typer.Exit(2)
    try:
        text = subscriber_csv.read_text(file, encoding)
    except (ValueError, LookupError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    parsed = subscriber_csv.parse(text, str(file), _topics())
    store = _store()
    known = store.existing([r.address_key for r in parsed.rows])
    accepted = []
    for row in parsed.rows:
        previous = known.get(row.address_key, (0, ""))[1]
        if previous in ("unsubscribed", "suppressed"):
            why = (
                "unsubscribed; only they can subscribe again"
                if previous == "unsubscribed"
                else "suppressed after a hard bounce or a complaint; it is never mailed again"
            )
            parsed.rejected.append(subscriber_csv.Rejected(str(file), row.line, "address", f"{row.address}: {why}"))
        else:
            accepted.append(row)
    for rejected in sorted(parsed.rejected, key=lambda r: r.line):
        typer.echo(str(rejected), err=True)
    if parsed.rejected and not skip_invalid:
        err.print(
            f"{len(parsed.rejected)} row(s) rejected; nothing was imported "
            "(fix them, or use --skip-invalid to import the others).",
            style="bold red",
        )
        raise typer.Exit(1)
    added, updated = store.upsert(accepted, state, source or f"import:{file.name}")
    out.print(
        f"Imported {added} new and updated {updated} subscriber(s) as {state}; {len(parsed.rejected)} row(s) rejected."
    )
    if note := _untranslated_note(accepted):
        err.print(note, style="yellow")


@app.command()
def export(file: Annotated[Path | None, typer.Argument(help="Output CSV (default: standard output).")] = None) -> None:
    """Export every subscriber whose address is kept (UTF-8 CSV)."""
    store = _store()
    if file is None:
        count = subscriber_csv.write(store.all(), sys.stdout)
    else:
        with file.open("w", encoding="utf-8", newline="") as handle:
            count = subscriber_csv.write(store.all(), handle)
        out.print(f"Exported {count} subscriber(s) to {file}.")


@app.command()
def count() -> None:
    """Subscribers per state, and confirmed subscribers per topic and per mail language."""
    states, topics, languages = _store().counts()
    names = _topics()
    table = Table(title="subscribers")
    table.add_column("state")
    table.add_column("count", justify="right")
    for state in ("pending", "confirmed", "unsubscribed", "suppressed"):
        table.add_row(state, str(states.get(state, 0)))
    out.print(table)
    by_topic = Table(title="confirmed, by topic")
    by_topic.add_column("topic")
    by_topic.add_column("count", justify="right")
    for key, name in names.items():
        by_topic.add_row(f"{key} ({name})", str(topics.get(key, 0)))
    out.print(by_topic)
    mailed = _mailed_languages()
    by_language = Table(title="confirmed, by mail language")
    by_language.add_column("language")
    by_language.add_column("count", justify="right")
    by_language.add_column("mail")
    for language, n in sorted(languages.items()):
        by_language.add_row(
            language,
            str(n),
            "yes" if language in mailed else "none: not in KOHO_LANGUAGES, so nothing is translated for them",
        )
    out.print(by_language)


def _mailed_languages() -> set[str]:
    """The languages the info mail goes out in: the site's and the ones it is translated into."""
    from koho.i18n import SOURCE_LANGUAGE

    return {SOURCE_LANGUAGE, *Settings().target_languages()}


def _untranslated_note(rows: Sequence[NewSubscriber]) -> str:
    """A warning for imported readers of a language this deployment does not translate into."""
    mailed = _mailed_languages()
    missing = Counter(r.language for r in rows if r.language not in mailed)
    if not missing:
        return ""
    listed = ", ".join(f"{n} in {lang}" for lang, n in sorted(missing.items()))
    return (
        f"Note: {listed}: these languages are not in KOHO_LANGUAGES, so those subscribers "
        "receive no mail until they are added."
    )


@app.command("erase-expired")
def erase_expired() -> None:
    """Erase addresses unsubscribed longer than KOHO_MAIL_RETENTION_DAYS ago, and sign-ups never
    confirmed in that time. `koho serve` does this daily; run this from cron where it does not run."""
    settings = Settings()
    days = settings.mail_retention_days
    erased = _store().erase_expired(timedelta(days=days))
    # The outbox's mails hold the addresses too (named by subscriber id). The mail channel's
    # transports are loaded by name: this command is part of the composition root (ADR 0002).
    transports = importlib.import_module("channels.mail.transports")
    transports.forget_recipients(settings.mail_url, Path.cwd(), erased)
    out.print(f"Erased {len(erased)} address(es) kept longer than {days} days.")
