"""Articles -> what the audio edition says: each article's sentences, read as the braille is.

The blocks (title, headings, paragraphs) come from the braille edition's reader, so both
editions say the same thing from the same readings (the glossary's and the reviewed ones win).
An issue opens with its name, so a listener knows which issue a file or a disc holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from channels.audio.speech import Sentence, sentences
from channels.common.blocks import article_blocks, read_blocks
from koho.article import Article
from koho.bulletin import BulletinIssue
from koho.reading_dictionary import ReadingDictionary
from koho.readings import read


def article_sentences(article: Article, dictionary: ReadingDictionary) -> list[Sentence]:
    """The article's sentences in reading order: its title (level 1), headings, paragraphs."""
    out: list[Sentence] = []
    blocks = article_blocks(article)
    for (level, text), (_, tokens) in zip(blocks, read_blocks(blocks, dictionary), strict=True):
        said = sentences(level, tokens)
        # A heading is one sentence; it keeps its print as written (the NCC and EPUB show it).
        out.extend([replace(said[0], text=text)] if level and len(said) == 1 else said)
    return out


def issue_parts(issue: BulletinIssue, dictionary: ReadingDictionary) -> list[list[Sentence]]:
    """The issue's announcement (練馬区報 …号) then one part per article."""
    announcement = sentences(1, read(issue.label, dictionary.readings, dictionary.reviewed))
    return [announcement, *parts(issue.articles, dictionary)]


def parts(articles: Iterable[Article], dictionary: ReadingDictionary) -> list[list[Sentence]]:
    """One part per article."""
    return [article_sentences(article, dictionary) for article in articles]
