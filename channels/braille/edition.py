"""Articles -> a braille edition: headings and paragraphs read, translated and laid out.

The article's HTML (already rendered and sanitised by koho) gives its blocks: the title is a
大見出し, h2 a 中見出し, h3–h6 小見出し, and paragraphs, list items and table cells paragraphs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from channels.braille.cells import braille, written
from channels.braille.layout import Block, brf, paginate, unicode_text
from koho.article import Article
from koho.reading_dictionary import ReadingDictionary
from koho.readings import Token, read

_BLOCKS = {"h1": 2, "h2": 2, "h3": 3, "h4": 3, "h5": 3, "h6": 3, "p": 0, "li": 0, "td": 0, "th": 0, "dd": 0, "dt": 0}


@dataclass(frozen=True)
class Edition:
    """One braille edition: its pages, as Unicode braille and BRF, and the print it spells."""

    pages: list[list[str]]
    text: str  # Unicode braille, pages separated by form feeds
    brf: bytes
    written: list[str]  # per block, what the braille spells in print (the back-translation's target)


def article_blocks(article: Article) -> list[tuple[int, str]]:
    """(heading level or 0, text) for each block of the article, the title first (level 1)."""
    from lxml import html as lxml_html

    out: list[tuple[int, str]] = [(1, article.title)]
    if not article.html.strip():
        return out
    root = lxml_html.fragment_fromstring(article.html, create_parent="div")
    for element in root.iter(*_BLOCKS):
        if element.tag in ("p", "td", "th", "dd", "dt") and element.getparent() is not None:
            if any(a.tag == "li" for a in element.iterancestors()):
                continue  # a paragraph inside a list item is read with the item
        text = " ".join(element.text_content().split())
        if text:
            out.append((_BLOCKS[element.tag], text))
    return out


def read_blocks(blocks: Iterable[tuple[int, str]], dictionary: ReadingDictionary) -> list[tuple[int, list[Token]]]:
    """Each block's readings (the glossary's readings and the reviewed ones win over the model)."""
    return [(level, read(text, dictionary.readings, dictionary.reviewed)) for level, text in blocks]


def build(read_: Sequence[tuple[int, list[Token]]]) -> Edition:
    """The edition of blocks already read: braille, pages, BRF."""
    blocks = [Block("heading" if level else "paragraph", braille(tokens), level) for level, tokens in read_ if tokens]
    pages = paginate(blocks)
    return Edition(pages, unicode_text(pages), brf(pages), [written(tokens) for _, tokens in read_ if tokens])


def edition(articles: Iterable[Article], dictionary: ReadingDictionary) -> Edition:
    """The braille edition of ``articles`` (a bulletin issue's, in its order)."""
    read_: list[tuple[int, list[Token]]] = []
    for article in articles:
        read_.extend(read_blocks(article_blocks(article), dictionary))
    return build(read_)
