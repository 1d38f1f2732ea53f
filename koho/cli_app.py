"""What every ``koho`` command group shares: how its Typer app behaves and how it prints."""

from __future__ import annotations

import typer
from rich.console import Console


def typer_app(help: str) -> typer.Typer:
    """A command group (or the ``koho`` command itself): help without markup, no shell
    completion to install, and no locals in tracebacks: a local may hold a database URL with its
    password."""
    return typer.Typer(
        add_completion=False,
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_show_locals=False,
        help=help,
    )


def consoles() -> tuple[Console, Console]:
    """The group's ``out`` and ``err`` consoles."""
    # Plain text, never markup or emoji codes: ids, notes and install hints such as
    # pip install -e '.[translate]' come from content and settings and must print as they are.
    return Console(markup=False, emoji=False), Console(stderr=True, markup=False, emoji=False)
