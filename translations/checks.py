"""What ``koho check`` (and the pre-flight of every run) asks of translation content.

Errors stop a run like an article's errors: a glossary that cannot be read, a review file that
is not a PO file or names no article. Warnings do not: stale reviews (the Japanese changed, so
the machine translates that sentence until someone reviews it again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlalchemy.engine import Engine

from koho.article import Article
from koho.errors import ContentError, ContentInvalid
from translations.glossary import load_glossary
from translations.memory import Memory
from translations.review import REVIEW_DIR, load_reviews, stale_warnings
from translations.translator import TranslationCache, Translator


def check(
    content_dir: Path, languages: Sequence[str], articles: Mapping[str, Article]
) -> tuple[list[ContentError], list[ContentError]]:
    """(errors, warnings) of the glossary and of every review file under content/translations/."""
    glossary, errors = load_glossary(content_dir, languages)
    warnings: list[ContentError] = []
    translator = Translator(content_dir, glossary)
    for path in sorted((content_dir / REVIEW_DIR).glob("*/*.po")):
        language, article_id = path.parent.name, path.stem
        label = path.as_posix()
        if language not in languages:
            errors.append(
                ContentError(
                    label,
                    1,
                    "language",
                    f"{language!r} is not a target language (KOHO_LANGUAGES: {', '.join(languages) or 'none'})",
                )
            )
            continue
        article = articles.get(article_id)
        if article is None:
            errors.append(
                ContentError(
                    label,
                    1,
                    "article",
                    f"no article has the id {article_id!r}; name review files <lang>/<article id>.po",
                )
            )
            continue
        reviews = load_reviews(content_dir, language, article_id)
        errors += reviews.errors
        hint = f"run `koho translations export {article_id} --lang {language}` and review it"
        warnings += stale_warnings(reviews, translator.sources(article, language), hint)
    return errors, warnings


def open_translator(
    content_dir: Path,
    languages: Sequence[str],
    engine: Engine | None,
    cache_dir: Path | None = None,
    read_only: bool = False,
) -> Translator:
    """The site's translator with its glossary, the translation memory in ``engine``'s database
    and (with ``cache_dir``) the finished translations kept there; ContentInvalid when the
    glossary has errors. ``read_only`` (a dry run): both are read, neither is written, and a
    cache file that does not exist yet is not made."""
    glossary, errors = load_glossary(content_dir, languages)
    if errors:
        raise ContentInvalid(errors)
    if read_only and cache_dir is not None and not (cache_dir / TranslationCache.FILENAME).exists():
        cache_dir = None
    return Translator(
        content_dir,
        glossary,
        Memory(engine) if engine is not None else None,
        cache=TranslationCache(cache_dir) if cache_dir is not None else None,
        read_only=read_only,
    )
