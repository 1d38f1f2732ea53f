"""``koho translations``: review files (export), models (install, list).

Part of the composition root (ADR 0002): ``translations`` is loaded by name when a command
runs, so importing ``koho`` never imports it (nor argostranslate, which pulls torch).
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Annotated, NoReturn

import typer
from rich.table import Table

from koho.cli_app import consoles, typer_app
from koho.errors import ContentInvalid
from koho.settings import Settings

app = typer_app("Machine translation: export review files, install and list models.")
out, err = consoles()


def _translations(module: str) -> ModuleType:
    return importlib.import_module(f"translations.{module}")


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(message, style="bold red", markup=False)
    raise typer.Exit(code)


@app.command()
def export(
    article_id: str = typer.Argument(..., help="The article's id."),
    lang: Annotated[
        list[str] | None, typer.Option("--lang", "-l", help="Target language (repeatable; default: KOHO_LANGUAGES).")
    ] = None,
) -> None:
    """Write content/translations/<lang>/<id>.po for review (merging into an existing file)."""
    from koho.cli import _load, _print_errors
    from koho.ledger import Ledger

    settings = Settings()
    languages = settings.target_languages()
    wanted = lang or languages
    unknown = [code for code in wanted if code not in languages]
    if unknown:
        _fail(f"error: --lang {', '.join(unknown)}: not in KOHO_LANGUAGES ({', '.join(languages) or 'none'})")
    corpus = _load(settings)
    article = corpus.articles.get(article_id)
    if article is None:
        _fail(f"error: no valid article has the id {article_id!r}" + ("; run `koho check`" if corpus.errors else ""))
    engine, review = _translations("engine"), _translations("review")
    ledger = Ledger(settings.db_url())
    try:
        translator = _translations("checks").open_translator(settings.content_dir, languages, ledger.engine)
        for code in wanted:
            try:
                entries = translator.entries(article, code)
                note = ""
            except engine.MissingModel as missing:
                entries = translator.entries(article, code, with_machine=False)
                note = f" (no machine suggestions: {missing})"
            path = review.po_path(settings.content_dir, code, article.id)
            try:
                counts = review.export(settings.content_dir, code, article.id, entries)
            except ValueError as exc:
                _fail(str(exc), 1)
            out.print(
                f"{path}: {counts['reviewed']} reviewed, {counts['fuzzy']} to review again, {counts['new']} new{note}",
                markup=False,
                highlight=False,
            )
    except ContentInvalid as exc:
        _print_errors(exc.errors)
        raise typer.Exit(1) from None
    finally:
        ledger.close()
    out.print(
        "Edit msgstr and remove the fuzzy flag of each entry you reviewed; reviewed entries win over "
        "the machine at the next publish.",
        markup=False,
    )


@app.command()
def install(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help=".argosmodel files (default: download what KOHO_LANGUAGES needs from the argos index)."),
    ] = None,
) -> None:
    """Install argos translation packages from files, or from the argos index when online."""
    engine = _translations("engine")
    if importlib.util.find_spec("argostranslate") is None:
        _fail("error: argostranslate is not installed: pip install -c constraints.txt -e '.[translate]'")
    if files:
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            _fail(f"error: no such file: {', '.join(missing)}")
        try:
            names = engine.install_files(files)
        except Exception as exc:  # argostranslate raises a bare Exception for a non-zip file
            _fail(f"error: cannot install {', '.join(map(str, files))}: {exc}")
    else:
        source = "ja"
        pairs = [(source, "en")] + [("en", code) for code in Settings().target_languages() if code != "en"]
        try:
            names = engine.install_from_index(pairs)
        except ConnectionError as exc:
            _fail(f"error: {exc}")
    out.print(f"Installed: {', '.join(names) or 'nothing'}", markup=False)


@app.command("list")
def list_models() -> None:
    """Installed translation packages, and whether each target language can be translated."""
    engine = _translations("engine")
    table = Table(title="installed argos packages")
    for column in ("package", "version", "from", "to"):
        table.add_column(column)
    for source, target, name, version in engine.installed_pairs():
        table.add_row(name, version, source, target)
    out.print(table)
    for code in Settings().target_languages():
        try:
            pair = engine.model_pair("ja", code)
            out.print(f"ja→{code}: {pair.version}", markup=False)
        except engine.MissingModel as missing:
            out.print(f"ja→{code}: missing: {missing}", markup=False)
