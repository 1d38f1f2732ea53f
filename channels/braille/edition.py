"""Articles -> a braille edition: headings and paragraphs read, translated and laid out.

The article's blocks (``channels.common.blocks``, shared with the audio edition): the title is
a 大見出し, h2 a 中見出し, h3–h6 小見出し, and paragraphs, list items and table cells paragraphs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from channels.braille.cells import braille, written
from channels.braille.layout import Block, brf, paginate, unicode_text
from channels.common.blocks import article_blocks, read_blocks
from koho.article import Article
from koho.reading_dictionary import ReadingDictionary
from koho.readings import Token


@dataclass(frozen=True)
class Edition:
    """One braille edition: its pages, as Unicode braille and BRF, and the print it spells."""

    pages: list[list[str]]
    text: str  # Unicode braille, pages separated by form feeds
    brf: bytes
    written: list[str]  # per block, what the braille spells in print (the back-translation's target)


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


__all__ = ["Edition", "article_blocks", "build", "edition", "read_blocks"]
