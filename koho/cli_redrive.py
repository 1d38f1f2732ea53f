"""``koho redrive``: send failed deliveries again once a person has fixed their cause.

Dry run by default: it lists what would be sent again. With ``--yes`` and a ``--reason`` it makes
those rows pending (``koho.redrive``: who, why and the failure are recorded) and runs
``publish-due`` for their channels, which sends them through the usual claim, so nothing already
sent goes out again.
"""

from __future__ import annotations

import getpass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from koho.cli_words import N_, _
from koho.settings import Settings

if TYPE_CHECKING:
    from koho.redrive import Failed

#: Longest failure reason shown in the table (the ledger keeps it whole).
DETAIL_SHOWN = 120


ChannelOpt = typer.Option(None, "--channel", "-c", help="Only this channel (repeatable).")
ArticleOpt = typer.Option(None, "--article", help="Only this article's (or issue's) deliveries.")
SinceOpt = typer.Option(
    None, "--since", help="Only deliveries that failed at or after this time (2026-12-01 or 2026-12-01T09:00)."
)
ReasonOpt = typer.Option(None, "--reason", help="Why they can be sent now (recorded in the ledger).")
ByOpt = typer.Option(None, "--by", help="Who decides (default: your login name).")
YesOpt = typer.Option(False, "--yes", help="Do it: without it nothing changes (a dry run).")
DetailsOpt = typer.Option(False, "--details", help="After sending: a row per article, language and channel.")
VerboseOpt = typer.Option(False, "--verbose", "-v", help="Show Prefect's logs.")


def redrive(
    channel: list[str] | None = ChannelOpt,
    article: str | None = ArticleOpt,
    since: str | None = SinceOpt,
    reason: str | None = ReasonOpt,
    by: str | None = ByOpt,
    yes: bool = YesOpt,
    details: bool = DetailsOpt,
    verbose: bool = VerboseOpt,
) -> None:
    """Send failed deliveries again after their cause was fixed (dry run unless --yes)."""
    from koho import cli
    from koho.ledger import Ledger
    from koho.redrive import failed
    from koho.redrive import redrive as reopen_failed

    settings = Settings()
    tz = cli._display_tz(settings)
    start = _since(since, tz)
    ledger = Ledger(settings.db_url())
    try:
        rows = failed(ledger, channel or (), article, start)
        if not rows:
            cli.out.print(_("No failed deliveries match: nothing to send again."))
            return
        _table(rows, tz)
        if not yes:
            cli.out.print(
                _('Dry run: {n} failed deliveries would be sent again. Add --yes --reason "…" to do it.').format(
                    n=len(rows)
                )
            )
            return
        if not reason or not reason.strip():
            cli.err.print(
                _("Say why with --reason: the ledger records who sent failed deliveries again and why."),
                style="bold red",
            )
            raise typer.Exit(2)
        actor = (by or _login()).strip()
        moved = reopen_failed(ledger, rows, actor, reason.strip())
    finally:
        ledger.close()
    cli.out.print(
        _("{n} deliveries are pending again (by {actor}: {reason}); sending them now.").format(
            n=len(moved), actor=actor, reason=reason.strip()
        )
    )
    if not moved:
        return
    channels = sorted({r.channel for r in moved})
    cli._preflight(settings, channels)
    outcomes = cli._with_progress(lambda: cli._run_flow("publish_due", verbose, channels=channels))
    code = cli._outcome_table(outcomes, "koho redrive", details)
    if code:
        raise typer.Exit(code)


def _since(value: str | None, tz: tzinfo) -> datetime | None:
    """``--since`` as an aware time; a time without zone is the site's (what ``koho status`` shows)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            _("{value} is not a date or time such as 2026-12-01 or 2026-12-01T09:00").format(value=value),
            param_hint="--since",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container: the ledger still needs one
        return "unknown"


def _table(rows: list[Failed], tz: tzinfo) -> None:
    from koho import cli

    table = Table(title=_("Failed deliveries"))
    for column in (N_("failed at"), N_("article"), N_("channel"), N_("language"), N_("target"), N_("reason")):
        table.add_column(_(column))
    for row in rows:
        detail = row.detail if len(row.detail) <= DETAIL_SHOWN else row.detail[: DETAIL_SHOWN - 1] + "…"
        table.add_row(
            row.failed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            row.article_id,
            row.channel,
            row.language or "",
            row.target,
            detail,
        )
    cli.out.print(table)
