"""``koho readings``: the review file of the readings Open JTalk guessed (``koho.reading_review``).

Part of the composition root (ADR 0002): the braille edition's block reader is loaded by name
when the command runs, so importing ``koho`` never imports a channel (nor Open JTalk).
"""

from __future__ import annotations

import importlib
from typing import NoReturn

import typer
from rich.console import Console

from koho.article import Article
from koho.reader import Corpus
from koho.settings import Settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Readings for braille and speech: export the model's guesses for a volunteer to review.",
)
out = Console(markup=False, emoji=False)
err = Console(stderr=True, markup=False, emoji=False)


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(message, style="bold red", markup=False)
    raise typer.Exit(code)


def _articles(corpus: Corpus, item: str) -> tuple[str, list[Article]]:
    """(the review file's id, the articles) of an article id or an issue (issue-2026-11-21 or 2026-11-21)."""
    if item in corpus.articles:
        return item, [corpus.articles[item]]
    from koho.bulletin import issues_of
    from koho.clock import now

    for issue in issues_of(corpus.articles.values(), corpus.site, now()):
        if item in (issue.id, issue.day.isoformat()):
            return issue.id, list(issue.articles)
    _fail(f"error: {item!r} is neither an article id nor an issue that has appeared (issue-YYYY-MM-DD)")


@app.command()
def export(item: str = typer.Argument(..., help="An article id, or an issue: issue-2026-11-21 or 2026-11-21.")) -> None:
    """Write content/readings/<id>.po: every word whose reading is Open JTalk's guess, for review."""
    from koho.cli import _load, _print_errors
    from koho.reading_dictionary import load_reading_dictionary
    from koho.reading_review import export as write_review
    from koho.reading_review import guessed, po_path
    from koho.readings import INSTALL_HINT, available

    if not available():
        _fail(f"error: readings need Open JTalk: {INSTALL_HINT}")
    settings = Settings()
    corpus = _load(settings)
    item_id, articles = _articles(corpus, item)
    dictionary, errors = load_reading_dictionary(settings.content_dir)
    if errors:
        _print_errors(errors)
        raise typer.Exit(1)
    blocks = importlib.import_module("channels.braille.edition")
    words = guessed(
        (article.id, token)
        for article in articles
        for _level, tokens in blocks.read_blocks(blocks.article_blocks(article), dictionary)
        for token in tokens
    )
    try:
        counts = write_review(settings.content_dir, item_id, words)
    except ValueError as exc:
        _fail(str(exc), 1)
    path = po_path(settings.content_dir, item_id)
    out.print(f"{path}: {counts['reviewed']} reviewed, {counts['new']} new", markup=False, highlight=False)
    out.print(
        "Correct msgstr (katakana, as furigana) where the guess is wrong and remove the fuzzy flag of each "
        "entry you checked; reviewed readings win over the model at the next publish, in braille and speech.",
        markup=False,
    )
