"""Translated articles for the output tests, built the way ``translations/`` hands them over:
real ``Article`` objects with the original's id, another language, their own revision and a
``TranslationNote`` (no engine runs here: the outputs are under test, not the translation)."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime

from koho.article import Article, Image, TranslationNote
from koho.reader import Corpus, read_corpus
from koho.site import load_site
from tests.conftest import CONTENT

NOW = datetime(2027, 1, 5, tzinfo=UTC)
#: A word in each language, so that pages and books carry real script of that language.
WORD = {
    "en": "Notice",
    "zh": "通知",
    "ko": "알림",
    "th": "ประกาศ",
    "pt": "Aviso",
    "es": "Aviso",
    "id": "Pengumuman",
    "vi": "Thông báo",
}


def corpus() -> Corpus:
    """The sample content."""
    return read_corpus(CONTENT, load_site(CONTENT))


def translate(article: Article, language: str, machine: bool = True) -> Article:
    """A translation of ``article`` into ``language`` (text marked with the language's word)."""
    word = WORD[language]
    html = f"<h2>{word} 1</h2>\n<p>{word}: {article.id} &amp; 03-3993-1111.</p>\n<ul>\n<li>{word} A</li>\n</ul>"
    revision = hashlib.sha256(f"{article.revision}:{language}".encode()).hexdigest()[:16]
    return dataclasses.replace(
        article,
        language=language,
        title=f"{word}: {article.title[:20]}",
        summary=f"{word} — {article.id}",
        body=html,
        html=html,
        revision=revision,
        images=tuple(Image(i.src, f"{word}: {i.alt[:30]}", i.caption) for i in article.images),
        change_note=f"{word} ({article.change_note})" if article.change_note else "",
        translation=TranslationNote("ja", article.revision, machine, "test-engine 1.0"),
    )


def live_with(languages: tuple[str, ...], only: set[str] | None = None) -> dict[str, Article]:
    """The live sample articles plus their translations into ``languages`` (of ``only`` ids, if
    given), keyed ``id`` for originals and ``id@lang`` for translations (keys do not matter)."""
    live = {a.id: a for a in corpus().articles.values() if a.on_site(NOW)}
    for article in list(live.values()):
        if only is None or article.id in only:
            for lang in languages:
                live[f"{article.id}@{lang}"] = translate(article, lang)
    return live
