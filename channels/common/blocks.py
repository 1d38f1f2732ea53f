"""An article's blocks and their readings: what the braille and the audio editions both say.

The article's HTML (already rendered and sanitised by koho) gives its blocks: the title
(level 1), h2 (2), h3–h6 (3), and paragraphs, list items and table cells (0).
"""

from __future__ import annotations

from collections.abc import Iterable

from koho.article import Article
from koho.reading_dictionary import ReadingDictionary
from koho.readings import Token, read

_BLOCKS = {"h1": 2, "h2": 2, "h3": 3, "h4": 3, "h5": 3, "h6": 3, "p": 0, "li": 0, "td": 0, "th": 0, "dd": 0, "dt": 0}


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
