"""Reading a published site's language editions: a page in a language, its hreflang alternates
and its language switcher. Shared by the end-to-end tests that publish translations
(tests/e2e/test_first_publish.py, tests/e2e/test_translations_e2e.py)."""

from __future__ import annotations

from pathlib import Path

from lxml import html


def page(public: Path, language: str, rest: str) -> html.HtmlElement:
    """The page ``rest`` (``articles/{id}/index.html``) of ``language``'s edition; Japanese at the root."""
    prefix = "" if language == "ja" else f"{language}/"
    return html.fromstring((public / f"{prefix}{rest}").read_bytes())


def alternates(doc: html.HtmlElement) -> set[str]:
    """The hreflang values of the page's ``<link rel="alternate">`` elements."""
    return set(doc.xpath("//head/link[@rel='alternate'][@hreflang]/@hreflang"))


def switcher(doc: html.HtmlElement) -> set[str]:
    """Languages the switcher offers (links) plus the one it marks current."""
    return set(doc.xpath("//a[@hreflang][@lang]/@lang")) | set(doc.xpath("//span[@aria-current='page']/@lang"))
