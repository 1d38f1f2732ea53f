"""Braille -> print (kana, digits, letters, marks): the back-translation that checks the braille.

It reads the cells as a braille reader would, with the same rules as ``cells`` in reverse: the
数符 starts digits until a blank or a つなぎ符, the 外字符 starts letters, prefix cells make a
kana voiced, semi-voiced or 拗音, and a cell that closes a sentence is told from a prefix by the
blank after it. For every sample article ``back_translate(braille(t)) == written(t)``.
"""

from __future__ import annotations

from channels.braille import cells as c

_KANA_OF: dict[str, str] = {}


def _inverse() -> dict[str, str]:
    """Cells -> kana for every kana ``cells.kana_cells`` writes (built once)."""
    if not _KANA_OF:
        singles = list(c.KANA) + list(c._VOICED) + list(c._SEMI)
        yoon = [k + small for k in "キシチニヒミリギジヂビピ" for small in "ャュョ"]
        for kana in singles + yoon + list(c._SPECIAL_SOUNDS):
            _KANA_OF.setdefault(c.kana_cells(kana), kana)
    return _KANA_OF


_DIGIT_OF = {v: k for k, v in c.DIGITS.items()}
_LETTER_OF = {v: k for k, v in c.LETTERS.items()}
_ENDS = {c.PUNCTUATION["。"][0]: "。", c.PUNCTUATION["?"][0]: "?", c.PUNCTUATION["!"][0]: "!"}


def back_translate(text: str) -> str:
    """The print form of braille ``text`` (blank cells as spaces, line breaks kept)."""
    kana_of = _inverse()
    out: list[str] = []
    cells = text
    i, n = 0, len(cells)
    open_kagi = open_paren = False

    def ends_word(j: int) -> bool:
        return j >= n or cells[j] in (c.BLANK, "\n")

    while i < n:
        ch = cells[i]
        if ch in (c.BLANK, "\n"):
            out.append(" " if ch == c.BLANK else "\n")
            i += 1
        elif ch == c.NUMBER_SIGN:
            i += 1
            while i < n:
                if cells[i] in _DIGIT_OF:
                    out.append(_DIGIT_OF[cells[i]])
                elif cells[i] in (c.cell(3), c.cell(2)) and i + 1 < n and cells[i + 1] in _DIGIT_OF:
                    out.append("," if cells[i] == c.cell(3) else ".")
                elif cells[i] == c.CONNECT and cells[i + 1 : i + 2] == c.NUMBER_SIGN:
                    out.append("-")
                    i += 1
                elif cells[i] == c.CONNECT and cells[i + 1 : i + 2] != c.CONNECT:  # ⠤⠤ is a 波線
                    i += 1
                    break
                else:
                    break
                i += 1
        elif ch == c.LATIN_SIGN and not ends_word(i + 1):
            i = _letters(cells, i + 1, out)
        elif ch == c.QUOTE_OPEN:
            i += 1
            while i < n and cells[i] != c.QUOTE_CLOSE:
                if cells[i] == c.BLANK:
                    out.append(" ")
                    i += 1
                else:
                    i = _letters(cells, i, out, stop_at_connect=False)
            i += 1
        elif ch in _ENDS and (ch != c.SPECIAL or ends_word(i + 1)):
            out.append(_ENDS[ch])
            i += 1
        elif ch == c.LATIN_SIGN:
            out.append("、")
            i += 1
        elif ch == c.VOICED and ends_word(i + 1):
            out.append("・")
            i += 1
        elif ch == c.CONNECT:
            if cells[i + 1 : i + 2] == c.CONNECT:
                out.append("~")
                i += 2
            else:
                out.append("」" if open_kagi else "「")
                open_kagi = not open_kagi
                i += 1
        elif ch == c.PUNCTUATION["("][0]:
            out.append(")" if open_paren else "(")
            open_paren = not open_paren
            i += 1
        elif cells[i : i + 2] in kana_of:
            out.append(kana_of[cells[i : i + 2]])
            i += 2
        elif ch in kana_of:
            out.append(kana_of[ch])
            i += 1
        else:
            raise ValueError(f"cell {ch!r} at {i} has no reading in Japanese kana braille")
    return "".join(out)


def _letters(cells: str, i: int, out: list[str], stop_at_connect: bool = True) -> int:
    """Letters from ``i`` until a cell that is no letter; returns the index after them."""
    all_caps = cells[i : i + 2] == c.CAPITAL * 2
    if all_caps:
        i += 2
    while i < len(cells):
        capital = cells[i] == c.CAPITAL
        letter = cells[i + 1] if capital and i + 1 < len(cells) else cells[i]
        if letter not in _LETTER_OF:
            break
        out.append(_LETTER_OF[letter].upper() if capital or all_caps else _LETTER_OF[letter])
        i += 2 if capital else 1
    if stop_at_connect and cells[i : i + 1] == c.CONNECT:
        i += 1
    return i
