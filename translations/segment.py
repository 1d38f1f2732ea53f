"""Markdown-aware segmentation: what the machine translates, and what it must never touch.

An article body becomes a `Document`: literal source (Markdown structure, code, blank lines)
and `Run`s of `Segment`s, one per Japanese sentence. A segment's `text` is what the model
reads: every span that must survive untouched (URLs, e-mail addresses, phone numbers, codes,
numbers with units, code spans, link targets, emphasis markers) and every glossary term is
replaced by a placeholder ``ZQ1``, ``ZQ2``, ... numbered per segment, so the same sentence
gives the same text in any article (translation memory). After translation `restore` puts
the spans back, glossary terms and dates in the target language's rendering.

Block structure comes from markdown-it-py's token map (which source lines are headings, list
items, table rows, code): its inline tokens carry no source offsets, and the translated body
must be the author's Markdown byte for byte outside the translated text, so inline spans are
found by the patterns below rather than rebuilt from tokens.

Placeholders are ASCII letters and digits only: argostranslate turns ``_`` into a space, and
models copy short Latin tokens more reliably than symbols. Restoring tolerates the spaces a
model puts inside or around them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from babel.dates import format_date, format_skeleton
from markdown_it import MarkdownIt

__all__ = [
    "Document",
    "Run",
    "Segment",
    "Token",
    "joiner_for",
    "restore",
    "segment_markdown",
    "segment_text",
    "translatable",
]

PLACEHOLDER = "ZQ{}"
#: A placeholder as a model may give it back ("ZQ1", "zq 1", "Z Q1").
_PLACEHOLDER_OUT = re.compile(r"Z\s?Q\s?(\d{1,3})", re.I)

# Sentence ends: full-width stops and the closing brackets that belong to the sentence.
_CLOSERS = "」』）】〕〉》］｝”’)\\]"
_SENTENCE = re.compile(f"[^。！？]*[。！？]+[{_CLOSERS}]*|[^。！？]+$")
_SENTENCE_END = re.compile(f"[。！？][{_CLOSERS}]*$")
# Letters of any script: a segment without any (a number, a URL alone) is not translated.
_LETTER = re.compile(r"[^\W\d_]")

# Line prefixes that are Markdown structure, not text: blockquote, list marker, heading, a
# definition-list colon (python-markdown's def_list).
_PREFIX = re.compile(r"^[ \t]*(?:>[ \t]?)*[ \t]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)?(?:#{1,6}[ \t]+)?(?::[ \t]+)?")
_TABLE_DELIMITER = re.compile(r"^[\s|:\-]+$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")

# Spans that pass through untouched, as (kind, pattern). At any position the first pattern
# that matches wins, so more specific ones come first (a phone number before a code).
_COMMON = [
    ("keep", r"Z\s?Q\s?\d+"),  # text that looks like a placeholder is protected like one
    ("keep", r"(?:https?|ftp)://[^\s<>()（）「」『』【】、。，！？\"]*[^\s<>()（）「」『』【】、。，！？\".,;:!?']"),
    ("keep", r"www\.[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?:/[^\s<>()（）「」、。]*[^\s<>()（）「」、。.,;:!?])?"),
    ("keep", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),
    ("keep", r"(?<![\d-])(?:\+81[- ]?)?0\d{1,4}-\d{1,4}-\d{3,4}(?![\d-])"),  # 03-3993-1111
    ("keep", r"〒\s?\d{3}-\d{4}"),
    ("date", r"(?<!\d)\d{4}年\d{1,2}月\d{1,2}日"),
    ("monthday", r"(?<![\d年])\d{1,2}月\d{1,2}日"),
    ("keep", r"(?<![\w.])\d+(?:[.,]\d+)*\s?(?:km|cm|mm|kg|mg|mL|ml|m|g|L|ha|GB|MB|%|％|℃|°C)(?![A-Za-z])"),
    # Codes: report_2025.pdf, R9, A-12, index.html (letters and digits mixed, or joined by _./:-).
    ("keep", r"(?<![\w.])[A-Za-z0-9]+(?:[_./:-][A-Za-z0-9]+)+(?![\w])"),
    ("keep", r"(?<![\w])(?:[A-Za-z]+\d[A-Za-z0-9]*|\d+[A-Za-z][A-Za-z0-9]*)(?![\w])"),
]
_MARKDOWN = [
    ("keep", r"(`+)[^`]*?\1"),  # code span (the backreference is group 1 of this pattern)
    ("keep", r"<[A-Za-z/!][^>\n]*>"),  # autolink or inline HTML
    ("keep", r"\\[!-/:-@\[-`{-~]"),  # a Markdown escape
    ("keep", r"\[\^[^\]\s]+\]:?"),  # footnote reference
    ("open", r"!?\["),
    ("close", r"\]\([^)\s]*(?:\s+\"[^\"]*\")?\)|\]\[[^\]]*\]"),
    ("emph", r"\*{1,3}|~~|(?<![A-Za-z0-9])_{1,3}(?=\S)|(?<=\S)_{1,3}(?![A-Za-z0-9])"),
]


@dataclass(frozen=True)
class Token:
    """A span the model does not translate: its source text and its rendering in the target."""

    kind: str  # keep | open | close | term | date | monthday
    source: str
    value: str


@dataclass(frozen=True)
class Segment:
    """One sentence: its source as written (the PO msgid), the model's input, its tokens.

    ``text`` has ``ZQ1``.. for ``tokens[0]``..; it depends only on the source and the target's
    glossary terms, so it is the translation memory's key.
    """

    source: str
    text: str
    tokens: tuple[Token, ...]

    @property
    def translatable(self) -> bool:
        """Whether there is anything for a model to translate (not only numbers, URLs, marks)."""
        return translatable(self.text)


@dataclass(frozen=True)
class Run:
    """The sentences of one line, joined in the target language's way (see ``joiner_for``)."""

    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Document:
    """Source text cut into literal parts and runs of segments, in order."""

    parts: tuple[str | Run, ...]

    def segments(self) -> list[Segment]:
        """Every segment, in reading order."""
        return [s for part in self.parts if isinstance(part, Run) for s in part.segments]

    def segment_lines(self) -> list[int]:
        """The 0-based line of each segment in the source (for PO locations)."""
        lines, line = [], 0
        for part in self.parts:
            if isinstance(part, Run):
                lines += [line] * len(part.segments)
            else:
                line += part.count("\n")
        return lines

    def render(self, translated: Sequence[str], language: str) -> str:
        """The document with each segment replaced by ``translated`` (in ``segments()`` order)."""
        outputs = iter(translated)
        joiner = joiner_for(language)
        out = []
        for part in self.parts:
            if isinstance(part, Run):
                out.append(joiner.join(next(outputs) for _ in part.segments))
            else:
                out.append(part)
        return "".join(out)


def joiner_for(language: str) -> str:
    """What goes between translated sentences: nothing in Chinese (and Japanese), else a space."""
    return "" if language in ("zh", "ja") else " "


def translatable(text: str) -> bool:
    """True if ``text`` has letters outside placeholders."""
    return bool(_LETTER.search(_PLACEHOLDER_OUT.sub("", text)))


def segment_markdown(body: str, language: str, terms: Mapping[str, str] | None = None) -> Document:
    """Cut a Markdown body into literal structure and sentence segments for ``language``.

    ``terms`` maps glossary terms to their rendering in ``language``: they become tokens.
    """
    lines = body.split("\n")
    kinds: dict[int, str] = {}
    for token in _parser().parse(body):
        if token.map is None:
            continue
        if token.type == "table_open":
            kinds.update({i: "table" for i in range(*token.map)})
        elif token.type == "inline" and kinds.get(token.map[0]) != "table":
            kinds.update({i: "text" for i in range(*token.map)})
    parts: list[str | Run] = []
    scanner = _scanner(tuple(sorted((terms or {}).items())), markdown=True)
    for index, line in enumerate(lines):
        if index:
            parts.append("\n")
        kind = kinds.get(index)
        if kind == "text":
            # Every part of _PREFIX is optional, so it matches every line (perhaps empty).
            prefix_match = _PREFIX.match(line)
            prefix = prefix_match.group(0) if prefix_match else ""
            parts.append(prefix)
            parts.extend(_inline(line[len(prefix) :], language, terms or {}, scanner))
        elif kind == "table" and not _TABLE_DELIMITER.match(line):
            cells = _CELL_SPLIT.split(line)
            for position, cell in enumerate(cells):
                if position:
                    parts.append("|")
                parts.extend(_inline(cell, language, terms or {}, scanner))
        else:
            parts.append(line)  # code, HTML blocks, blank lines, rules, setext underlines
    return Document(tuple(_merge(parts)))


def segment_text(text: str, language: str, terms: Mapping[str, str] | None = None) -> Document:
    """Like ``segment_markdown`` for plain text (a title, a summary, alt text): no Markdown."""
    scanner = _scanner(tuple(sorted((terms or {}).items())), markdown=False)
    parts: list[str | Run] = []
    for index, line in enumerate(text.split("\n")):
        if index:
            parts.append("\n")
        parts.extend(_inline(line, language, terms or {}, scanner))
    return Document(tuple(_merge(parts)))


def restore(output: str, segment: Segment) -> str | None:
    """The model's output with every placeholder replaced by its token's rendering.

    None when the output does not hold each placeholder exactly once (a model dropped or
    repeated one): the caller then translates the text between the tokens apart.
    """
    found = [int(m.group(1)) for m in _PLACEHOLDER_OUT.finditer(output)]
    if sorted(found) != list(range(1, len(segment.tokens) + 1)):
        return None
    pieces: list[str] = []
    last = 0
    for match in _PLACEHOLDER_OUT.finditer(output):
        token = segment.tokens[int(match.group(1)) - 1]
        before = output[last : match.start()]
        if token.kind == "close":
            before = before.rstrip()  # "[text ](url)" would not be a link
        pieces.append(before)
        pieces.append(token.value)
        last = match.end()
        if token.kind == "open":
            rest = output[last:]
            last += len(rest) - len(rest.lstrip())
    pieces.append(output[last:])
    return "".join(pieces)


def pieces_between_tokens(segment: Segment) -> list[str]:
    """The text between a segment's placeholders (for translating them apart)."""
    return _PLACEHOLDER_OUT.split(segment.text)[0::2]


# -- inside a line -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # python-markdown renders koho's HTML with its "tables" extension: enable GFM tables here too.
    return MarkdownIt("commonmark").enable("table")


@lru_cache(maxsize=64)
def _scanner(terms: tuple[tuple[str, str], ...], markdown: bool) -> re.Pattern[str]:
    patterns = (_MARKDOWN if markdown else []) + _COMMON
    alternatives = [f"(?P<{kind}{i}>{_renumber(pattern, i)})" for i, (kind, pattern) in enumerate(patterns)]
    if terms:
        longest_first = sorted((t for t, _ in terms), key=len, reverse=True)
        alternatives.append(
            "(?P<term>" + "|".join(map(_term_pattern, longest_first, [longest_first] * len(longest_first))) + ")"
        )
    return re.compile("|".join(alternatives))


def _term_pattern(term: str, terms: Sequence[str]) -> str:
    """``term``, unless a longer term overlaps it from inside: in 練馬区民事務所 the longer
    区民事務所 wins over 練馬区 (the office of Nerima, not "Nerima City" + 民事務所). A regex
    scan alone takes the leftmost match; the lookaheads make overlaps go to the longer term."""
    losing = [
        term[:k] + longer
        for longer in terms
        if len(longer) > len(term)
        for k in range(1, len(term))
        if longer.startswith(term[k:])
    ]
    # The first character before the lookaheads: the engine then skips this alternative at once
    # wherever the term cannot start (lookaheads first made a 300-term scan ten times slower).
    return re.escape(term[0]) + "".join(f"(?!{re.escape(text[1:])})" for text in losing) + re.escape(term[1:])


def _renumber(pattern: str, index: int) -> str:
    # Turn the code span's backreference into a named one, so alternatives can be combined.
    return pattern.replace("(`+)", f"(?P<ticks{index}>`+)").replace("\\1", f"(?P=ticks{index})")


def _inline(text: str, language: str, terms: Mapping[str, str], scanner: re.Pattern[str]) -> Iterator[str | Run]:
    """Literal whitespace around a run of sentence segments (or the text itself if no letters)."""
    stripped = text.strip()
    if not stripped:
        yield text
        return
    start = text.index(stripped[0])
    yield text[:start]
    items = list(_protect(stripped, language, terms, scanner))
    segments = [_segment(sentence) for sentence in _sentences(items)]
    yield Run(tuple(segments))
    yield text[start + len(stripped) :]


def _protect(text: str, language: str, terms: Mapping[str, str], scanner: re.Pattern[str]) -> Iterator[str | Token]:
    """Text pieces and tokens, in order."""
    last = 0
    emphasis_seen: dict[str, int] = {}
    for match in scanner.finditer(text):
        if match.start() > last:
            yield text[last : match.start()]
        kind = re.sub(r"\d+$", "", match.lastgroup or "keep")
        source = match.group(0)
        if kind == "term":
            yield Token("term", source, terms[source])
        elif kind in ("date", "monthday"):
            yield Token(kind, source, _localised_date(source, language))
        elif kind == "emph":
            # The first of a pair opens, the second closes: spaces go inside neither.
            seen = emphasis_seen[source] = emphasis_seen.get(source, 0) + 1
            yield Token("open" if seen % 2 else "close", source, source)
        else:
            yield Token(kind, source, source)
        last = match.end()
    if last < len(text):
        yield text[last:]


def _localised_date(source: str, language: str) -> str:
    numbers = [int(n) for n in re.findall(r"\d+", source)]
    try:
        if len(numbers) == 3:
            return format_date(date(*numbers), format="long", locale=language)
        # No year: a leap year, so that 2月29日 is a date too.
        return format_skeleton("MMMMd", date(2000, *numbers), locale=language)
    except (ValueError, LookupError):
        return source  # 2月30日 is not a date: keep what the author wrote


def _sentences(items: list[str | Token]) -> Iterator[list[str | Token]]:
    """Split text pieces after 。！？ (with their closing brackets); tokens stay where they are."""
    current: list[str | Token] = []
    for item in items:
        if isinstance(item, Token):
            current.append(item)
            continue
        for match in _SENTENCE.finditer(item):
            current.append(match.group(0))
            if _SENTENCE_END.search(match.group(0)):
                yield _trim(current)
                current = []
    if current:
        yield _trim(current)


def _trim(items: list[str | Token]) -> list[str | Token]:
    # Whitespace between sentences is the joiner's business, not the segment's.
    if items and isinstance(items[0], str):
        items[0] = items[0].lstrip()
    if items and isinstance(items[-1], str):
        items[-1] = items[-1].rstrip()
    return [i for i in items if not (isinstance(i, str) and i == "")]


def _segment(items: list[str | Token]) -> Segment:
    tokens = tuple(i for i in items if isinstance(i, Token))
    numbers = iter(range(1, len(tokens) + 1))
    text = "".join(PLACEHOLDER.format(next(numbers)) if isinstance(i, Token) else i for i in items)
    source = "".join(i.source if isinstance(i, Token) else i for i in items)
    return Segment(source, text, tokens)


def _merge(parts: list[str | Run]) -> Iterator[str | Run]:
    """Adjacent literal strings as one; empty ones dropped."""
    buffer = ""
    for part in parts:
        if isinstance(part, Run):
            if buffer:
                yield buffer
                buffer = ""
            yield part
        else:
            buffer += part
    if buffer:
        yield buffer
