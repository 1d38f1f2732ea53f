"""Braille pages: 32 cells × 22 lines with page numbers, as Unicode braille and as BRF.

The layout of a 点字広報 page: line 1 carries the page number (数符 and digits) at its right end;
lines 2–22 carry text. A heading starts after blanks by its level (大見出し 6, 中見出し 4, 小見出し
2 blanks: the usual 点訳 indents), a paragraph after two blanks (段落の行頭2マスあけ), and its
following lines at the margin. Lines break between braille words, never inside one (a word
longer than a line is the only one cut). Pages end with a form feed in BRF, the embosser's
page break; lines end with CR LF.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from channels.braille.cells import BLANK, number_cells

CELLS_PER_LINE = 32
LINES_PER_PAGE = 22
HEADING_INDENT = {1: 6, 2: 4, 3: 2}
PARAGRAPH_INDENT = 2
# North American ASCII braille: the character for each dot pattern 0–63 (dot n is bit n-1).
_BRF = " A1B'K2L@CIF/MSP\"E3H9O6R^DJG>NTQ,*5<-U8V.%[$+X!&;:4\\0Z7(_?W]#Y)="


@dataclass(frozen=True)
class Block:
    """A heading (``level`` 1–3) or a paragraph (``level`` 0) of braille cells."""

    kind: Literal["heading", "paragraph"]
    cells: str
    level: int = 0


def lines_of(block: Block) -> list[str]:
    """The block wrapped to lines of ``CELLS_PER_LINE`` cells at blanks between words."""
    indent = HEADING_INDENT.get(block.level, 2) if block.kind == "heading" else PARAGRAPH_INDENT
    lines: list[str] = []
    line = BLANK * indent
    for word, gap in _words(block.cells):
        candidate = line + word if line.strip(BLANK) == "" else line + gap + word
        if len(candidate) <= CELLS_PER_LINE:
            line = candidate
            continue
        if line.strip(BLANK):
            lines.append(line)
        line = word
        while len(line) > CELLS_PER_LINE:  # a word longer than a line: cut, the only way it fits
            lines.append(line[:CELLS_PER_LINE])
            line = line[CELLS_PER_LINE:]
    if line.strip(BLANK):
        lines.append(line)
    return lines


def _words(cells: str) -> list[tuple[str, str]]:
    """(word, the blanks before it) for each braille word."""
    out: list[tuple[str, str]] = []
    gap, word = "", ""
    for ch in cells:
        if ch == BLANK:
            if word:
                out.append((word, gap))
                word, gap = "", ""
            gap += ch
        else:
            word += ch
    if word:
        out.append((word, gap))
    return out


def paginate(blocks: Iterable[Block]) -> list[list[str]]:
    """Pages of ``LINES_PER_PAGE`` lines, each exactly ``CELLS_PER_LINE`` cells (blank-padded);
    line 1 holds the page number at its right end. A heading is never left alone at a page's foot."""
    body: list[list[str]] = []  # groups of lines kept on one page
    after_heading = False
    for block in blocks:
        lines = lines_of(block)
        if block.kind == "paragraph" and after_heading:  # the heading and the first line together
            body[-1] = body[-1] + lines[:1]
            lines = lines[1:]
        if lines:
            body.append(lines)
        after_heading = block.kind == "heading"
    text_lines = LINES_PER_PAGE - 1
    pages: list[list[str]] = []
    current: list[str] = []
    for group in body:
        if current and len(current) + len(group) > text_lines and len(group) <= text_lines:
            pages.append(current)
            current = []
        for line in group:
            if len(current) == text_lines:
                pages.append(current)
                current = []
            current.append(line)
    if current or not pages:
        pages.append(current)
    return [_page(number, lines) for number, lines in enumerate(pages, start=1)]


def _page(number: int, lines: list[str]) -> list[str]:
    """A full page: the number line, the text lines, blank lines to the foot, all 32 cells wide."""
    label = number_cells(str(number))
    head = BLANK * (CELLS_PER_LINE - len(label)) + label
    rows = [head, *lines] + [""] * (LINES_PER_PAGE - 1 - len(lines))
    return [row.ljust(CELLS_PER_LINE, BLANK) for row in rows]


def unicode_text(pages: list[list[str]]) -> str:
    """The pages as Unicode braille: lines joined by newlines, pages by a form feed."""
    return "\f".join("\n".join(page) + "\n" for page in pages)


def brf(pages: list[list[str]]) -> bytes:
    """The pages as a BRF file (North American ASCII braille): CR LF lines, form-feed pages."""
    pages_text = ["\r\n".join(_ascii(line).rstrip(" ") for line in page) + "\r\n" for page in pages]
    return "\f".join(pages_text).encode("ascii")


def _ascii(line: str) -> str:
    """One line of cells as ASCII braille characters."""
    return "".join(_BRF[ord(ch) - 0x2800] for ch in line)
