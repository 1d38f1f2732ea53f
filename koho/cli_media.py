"""``koho media``: import, export and count the media list that press releases are mailed to."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from koho import outlet_csv, subscriber_csv
from koho.cli_app import consoles, typer_app
from koho.settings import Settings

if TYPE_CHECKING:
    from koho.outlets import OutletStore

app = typer_app("Manage the media list (記者クラブ and outlets) that press releases are mailed to.")
out, err = consoles()


def _store() -> OutletStore:
    from koho.ledger import Ledger
    from koho.outlets import OutletStore

    return OutletStore(Ledger(Settings().db_url()).engine)


@app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV with name,kind,contact,address,phone.")
    ],
    encoding: str | None = typer.Option(None, help="File encoding, e.g. cp932 for Excel's Shift_JIS."),
    replace: bool = typer.Option(
        False, "--replace", help="The file is the whole list: delete outlets it leaves out, with their contacts."
    ),
) -> None:
    """Import the media list. Every row is checked first; nothing is imported while any is rejected."""
    try:
        text = subscriber_csv.read_text(file, encoding)
    except (ValueError, LookupError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    parsed = outlet_csv.parse(text, str(file))
    for rejected in parsed.rejected:
        typer.echo(str(rejected), err=True)
    if parsed.rejected:
        err.print(f"{len(parsed.rejected)} row(s) rejected; nothing was imported.", style="bold red")
        raise typer.Exit(1)
    added, updated, deleted = _store().replace_all(parsed.rows, replace)
    out.print(f"Imported {added} new and updated {updated} outlet(s); deleted {deleted}.")


@app.command()
def export(file: Annotated[Path | None, typer.Argument(help="Output CSV (default: standard output).")] = None) -> None:
    """Export the media list (UTF-8 CSV)."""
    outlets = _store().all()
    if file is None:
        outlet_csv.write(outlets, sys.stdout)
        return
    with file.open("w", encoding="utf-8", newline="") as handle:
        count = outlet_csv.write(outlets, handle)
    out.print(f"Exported {count} outlet(s) to {file}.")


@app.command()
def count() -> None:
    """Outlets per kind (記者クラブ, outlet)."""
    counts = _store().counts()
    table = Table(title="media list")
    table.add_column("kind")
    table.add_column("count", justify="right")
    for kind in ("club", "outlet"):
        table.add_row(kind, str(counts.get(kind, 0)))
    out.print(table)
