"""Line wrapping for the plain-text mail: at phrase boundaries in Japanese, Chinese and Thai, at
word boundaries elsewhere, by display width, never inside a URL.

``textwrap`` counts characters and breaks only at spaces, so a Japanese paragraph (no spaces,
each character two columns wide) would come out as one endless line or, cut by count, twice too
wide. BudouX (Google's phrase segmenter, the one Chrome uses for ``word-break: auto-phrase``)
says where a Japanese, Chinese or Thai line may break so that no word is torn apart; the filling
by display width is written here because no library fills by East Asian width with breaks it is
given.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache

import budoux

#: Columns of a plain-text mail line: 72 half-width, 36 full-width characters (what Japanese
#: mail magazines use, and what RFC 3676 readers expect of a line that was not flowed).
WIDTH = 72
#: URLs and mail addresses: printable ASCII without spaces, never broken (a broken link is dead).
_UNBREAKABLE = re.compile(r"(?:https?://|mailto:|tel:)[!-~]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SPACES = re.compile(r"( +)")
_CLOSING = set("、。，．・：；！？,.:;!?ー々ゝゞ")
_KANJI_KANA = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")


@cache
def _phrases(language: str) -> Callable[[str], list[str]] | None:
    """BudouX's segmenter for a language written without spaces between words, else None."""
    loaders = {
        "ja": budoux.load_default_japanese_parser,
        "zh": budoux.load_default_simplified_chinese_parser,  # koho's zh is zh-Hans
        "th": budoux.load_default_thai_parser,
    }
    loader = loaders.get(language)
    return loader().parse if loader else None


def width(text: str) -> int:
    """Display columns of ``text``: wide and full-width characters take two, combining marks
    (Thai vowels and tones, Vietnamese accents written apart) none."""
    total = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        total += 2 if unicodedata.east_asian_width(char) in "WF" else 1
    return total


def _tokens(text: str, language: str) -> list[str]:
    """Pieces that stay whole on a line; runs of spaces are pieces of their own."""
    parse = _phrases(language)
    pieces: list[str] = []
    start = 0
    for match in _UNBREAKABLE.finditer(text):
        pieces += _words(text[start : match.start()], parse)
        pieces.append(match.group(0))
        start = match.end()
    return _glued(pieces + _words(text[start:], parse))


def _glued(pieces: list[str]) -> list[str]:
    """Closing brackets and punctuation joined to the piece before them: a line never starts
    with 」 or ] or 。 (the rule Japanese typesetting calls 行頭禁則)."""
    out: list[str] = []
    for piece in pieces:
        if out and not out[-1].startswith(" ") and (piece[0] in _CLOSING or unicodedata.category(piece[0]) == "Pe"):
            out[-1] += piece
        else:
            out.append(piece)
    return out


def _words(text: str, parse: Callable[[str], list[str]] | None) -> list[str]:
    phrases = parse(text) if parse and text.strip() else [text]
    pieces = []
    for piece in (piece for phrase in phrases for piece in _SPACES.split(phrase) if piece):
        japanese = _phrases("ja")
        if parse is None and japanese and _KANJI_KANA.search(piece):
            pieces += japanese(piece)  # Japanese left in a translation (a name, the original's title)
        else:
            pieces.append(piece)
    return pieces


def wrap(text: str, language: str, first: str = "", rest: str = "", limit: int = WIDTH) -> list[str]:
    """``text`` as lines of at most ``limit`` columns (a URL or an unbreakable word longer than
    that stands alone on its line). ``first`` starts the first line (a bullet), ``rest`` the
    others (the indent under it); a newline in ``text`` is kept as a line break."""
    lines: list[str] = []
    for n, part in enumerate(text.split("\n")):
        lines += _fill(_tokens(part.strip(" "), language), first if n == 0 else rest, rest, limit)
    return lines


def _fill(tokens: list[str], first: str, rest: str, limit: int) -> list[str]:
    lines: list[str] = []
    line, empty, space = first, True, ""
    for token in tokens:
        if token.startswith(" "):
            space = " "
            continue
        gap = "" if empty else space
        if not empty and width(line + gap + token) > limit:
            lines.append(line.rstrip())
            line, empty, gap = rest, True, ""
        pieces = _cut(token, limit - width(line + gap), limit - width(rest))
        line += gap + pieces[0]
        for piece in pieces[1:]:
            lines.append(line)
            line = rest + piece
        empty, space = False, ""
    lines.append(line.rstrip())
    return lines


def _cut(token: str, room: int, full: int) -> list[str]:
    """A phrase too wide for the ``room`` left on its line (later lines have ``full``), cut by
    characters; a URL or a Latin word stays whole and overlong rather than dead or torn."""
    if width(token) <= room or _UNBREAKABLE.fullmatch(token) or width(token) == len(token):
        return [token]
    pieces: list[str] = []
    piece = ""
    for char in token:
        if piece and width(piece + char) > (full if pieces else room):
            pieces.append(piece)
            piece = ""
        piece += char
    return pieces + [piece]
