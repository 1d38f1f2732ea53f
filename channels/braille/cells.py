"""Readings -> Japanese six-dot kana braille (日本点字表記法 2018), and braille -> kana back.

Hand-written tables, because no library has them: liblouis (Debian liblouis-data 3.24) ships
only ``ja-kantenji.utb`` (漢点字, an eight-dot kanji system), no table for kana braille, and a
table could not do 分かち書き anyway: that needs the parts of speech of ``koho.readings``.

A cell is a Unicode braille character (U+2800 + dot bits); a blank cell is U+2800. The rules
applied, by the names the tests cite:
- 仮名: 清音 one cell; 濁音/半濁音 the prefix ⠐/⠠ then the 清音; 拗音 the prefix ⠈ (拗濁音 ⠘,
  拗半濁音 ⠨) then the ア/ウ/オ段 kana of its row; 特殊音 ⠢ (ファ ウィ ...) and ⠈ (ティ シェ ...).
- 長音符 ⠒, 促音符 ⠂, ン ⠴, and the kana as pronounced (は/へ -> ワ/エ, readings' ``kana``).
- 数符 ⠼ before a number, its digits the cells of a–j, 位取り点 ⠄, 小数点 ⠂; a number followed in
  the same word by a kana of the ア or ラ rows takes the 第1つなぎ符 ⠤ between them.
- 外字符 ⠰ before Latin letters, 大文字符 ⠠ before a capital (⠠⠠ before an all-capital word);
  words of several Latin words between 外国語引用符 ⠦ … ⠴; a suffix after Latin letters in the
  same word takes the 第1つなぎ符 ⠤ (ADL⠤シツ), a particle or another word a blank (ADL ノ).
- 句点 ⠲ then two blanks; 読点 ⠰ then one; 疑問符 ⠢ and 感嘆符 ⠖ then two; 中点 ⠐ then one;
  カギ ⠤…⠤ and カッコ ⠶…⠶ attached to what they enclose (」「 a blank apart); 波線 ⠤⠤ without blanks.
- 分かち書き: 自立語 separated, 助詞/助動詞 and 接尾語 attached, 接頭語 attached to what follows,
  補助用言 (ください, いる after て) separated;
  切れ続き: inside a compound noun, a blank between two parts of three morae or more.
"""

from __future__ import annotations

from collections.abc import Sequence

from koho.readings import Token


def cell(*dots: int) -> str:
    """The Unicode braille cell with ``dots`` (1-6) raised."""
    return chr(0x2800 + sum(1 << (d - 1) for d in dots))


BLANK = cell()
NUMBER_SIGN = cell(3, 4, 5, 6)  # 数符
LATIN_SIGN = cell(5, 6)  # 外字符
CAPITAL = cell(6)  # 大文字符
CONNECT = cell(3, 6)  # 第1つなぎ符
QUOTE_OPEN, QUOTE_CLOSE = cell(2, 3, 6), cell(3, 5, 6)  # 外国語引用符
VOICED, SEMI_VOICED = cell(5), cell(6)  # 濁音符, 半濁音符
YOON, YOON_VOICED, YOON_SEMI = cell(4), cell(4, 5), cell(4, 6)  # 拗音符, 拗濁音符, 拗半濁音符
SPECIAL = cell(2, 6)  # 特殊音符

_VOWEL = {"ア": (1,), "イ": (1, 2), "ウ": (1, 4), "エ": (1, 2, 4), "オ": (2, 4)}
_ROW = {"": (), "カ": (6,), "サ": (5, 6), "タ": (3, 5), "ナ": (3,), "ハ": (3, 6), "マ": (3, 5, 6), "ラ": (5,)}
_ROWS = {
    "": "アイウエオ",
    "カ": "カキクケコ",
    "サ": "サシスセソ",
    "タ": "タチツテト",
    "ナ": "ナニヌネノ",
    "ハ": "ハヒフヘホ",
    "マ": "マミムメモ",
    "ラ": "ラリルレロ",
}
KANA: dict[str, str] = {}
for _row, _kana in _ROWS.items():
    for _k, _v in zip(_kana, "アイウエオ", strict=True):
        KANA[_k] = cell(*_VOWEL[_v], *_ROW[_row])
KANA.update(
    {
        "ヤ": cell(3, 4),
        "ユ": cell(3, 4, 6),
        "ヨ": cell(3, 4, 5),
        "ワ": cell(3),
        "ヲ": cell(3, 5),
        "ン": cell(3, 5, 6),
        "ッ": cell(2),
        "ー": cell(2, 5),
    }
)
_VOICED = dict(
    zip("ガギグゲゴザジズゼゾダヂヅデドバビブベボヴ", "カキクケコサシスセソタチツテトハヒフヘホウ", strict=True)
)
_SEMI = dict(zip("パピプペポ", "ハヒフヘホ", strict=True))
_YOON_BASE = {"ャ": "ア", "ュ": "ウ", "ョ": "オ"}
#: 特殊音 (外来語の音): two cells each.
_SPECIAL_SOUNDS = {
    "ウィ": SPECIAL + KANA["イ"],
    "ウェ": SPECIAL + KANA["エ"],
    "ウォ": SPECIAL + KANA["オ"],
    "ファ": SPECIAL + KANA["ハ"],
    "フィ": SPECIAL + KANA["ヒ"],
    "フェ": SPECIAL + KANA["ヘ"],
    "フォ": SPECIAL + KANA["ホ"],
    "ツァ": SPECIAL + KANA["タ"],
    "トゥ": SPECIAL + KANA["ツ"],
    "イェ": YOON + KANA["エ"],
    "シェ": YOON + KANA["セ"],
    "チェ": YOON + KANA["テ"],
    "ティ": YOON + KANA["チ"],
    "ジェ": YOON_VOICED + KANA["セ"],
    "ディ": YOON_VOICED + KANA["チ"],
}
DIGITS = dict(zip("1234567890", "⠁⠃⠉⠙⠑⠋⠛⠓⠊⠚", strict=True))
LETTERS = dict(zip("abcdefghijklmnopqrstuvwxyz", "⠁⠃⠉⠙⠑⠋⠛⠓⠊⠚⠅⠇⠍⠝⠕⠏⠟⠗⠎⠞⠥⠧⠺⠭⠽⠵", strict=True))
#: Punctuation: its cells, and the blanks it takes after it (None: attached both sides).
PUNCTUATION: dict[str, tuple[str, int | None]] = {
    "。": (cell(2, 5, 6), 2),
    ".": (cell(2, 5, 6), 2),
    "、": (cell(5, 6), 1),
    ",": (cell(5, 6), 1),
    "?": (cell(2, 6), 2),
    "!": (cell(2, 3, 5), 2),
    "・": (cell(5), 1),
    "「": (cell(3, 6), None),
    "」": (cell(3, 6), None),
    "(": (cell(2, 3, 5, 6), None),
    ")": (cell(2, 3, 5, 6), None),
    "~": (cell(3, 6) + cell(3, 6), None),
    "〜": (cell(3, 6) + cell(3, 6), None),
}
_OPENING, _CLOSING, _RANGE = set("「("), set("」)"), set("~〜")
#: Kana whose cell is also a digit (ア/ラ rows): after a number they need the つなぎ符.
_LOOKS_LIKE_DIGIT = set("アイウエオラリルレロ")


def kana_cells(kana: str) -> str:
    """The cells of a katakana string (仮名, 濁音, 半濁音, 拗音, 特殊音, 長音, 促音)."""
    out: list[str] = []
    i = 0
    while i < len(kana):
        pair = kana[i : i + 2]
        if pair in _SPECIAL_SOUNDS:
            out.append(_SPECIAL_SOUNDS[pair])
            i += 2
            continue
        ch, nxt = kana[i], kana[i + 1 : i + 2]
        if nxt in _YOON_BASE:  # 拗音: prefix, then the row's ア/ウ/オ段 kana
            row_kana, prefix = ch, YOON
            if ch in _VOICED:
                row_kana, prefix = _VOICED[ch], YOON_VOICED
            elif ch in _SEMI:
                row_kana, prefix = _SEMI[ch], YOON_SEMI
            row = next(r for r, members in _ROWS.items() if row_kana in members)
            base = _ROWS[row]["アイウエオ".index(_YOON_BASE[nxt])]
            out.append(prefix + KANA[base])
            i += 2
            continue
        if ch in _VOICED:
            out.append(VOICED + KANA[_VOICED[ch]])
        elif ch in _SEMI:
            out.append(SEMI_VOICED + KANA[_SEMI[ch]])
        elif ch in KANA:
            out.append(KANA[ch])
        else:
            raise ValueError(f"no braille for {ch!r} in {kana!r}")
        i += 1
    return "".join(out)


def number_cells(text: str) -> str:
    """数符 and digits; 位取り点 for a thousands comma, 小数点 for a point, つなぎ符 between phone groups."""
    groups = text.split("-")
    out = []
    for group in groups:
        cells = "".join(DIGITS.get(ch) or (cell(3) if ch == "," else cell(2)) for ch in group)
        out.append(NUMBER_SIGN + cells)
    return CONNECT.join(out)


def latin_cells(text: str) -> str:
    """外字符 (one word) or 外国語引用符 (several words), with 大文字符 for capitals."""
    words = text.split(" ")

    def word_cells(word: str) -> str:
        if len(word) > 1 and word.isupper():
            return CAPITAL + CAPITAL + "".join(LETTERS[c.lower()] for c in word)
        return "".join((CAPITAL if c.isupper() else "") + LETTERS[c.lower()] for c in word)

    if len(words) == 1:
        return LATIN_SIGN + word_cells(text)
    return QUOTE_OPEN + BLANK.join(word_cells(w) for w in words) + QUOTE_CLOSE


def braille_words(tokens: Sequence[Token]) -> list[tuple[list[Token], int]]:
    """分かち書き: the tokens of each braille word and the blanks after it (0 after the last)."""
    out: list[tuple[list[Token], int]] = []
    current: list[Token] = []
    run_mora = 0  # morae of the current compound part, for 切れ続き
    for token in tokens:
        if token.kind == "punctuation" and token.text not in PUNCTUATION:
            continue  # a mark braille has no sign for (a stray symbol): left out, not guessed
        blanks = _blanks_before(current[-1], token, run_mora) if current else 0
        if blanks:
            out.append((current, blanks))
            current, run_mora = [], 0
        current.append(token)
        if token.kind == "word" and token.pos not in ("助詞", "助動詞"):
            run_mora += token.mora
    if current:
        out.append((current, 0))
    return out


def _blanks_before(previous: Token, token: Token, run_mora: int) -> int:
    """How many blanks go between ``previous`` and ``token`` (0: the same braille word)."""
    if previous.kind == "punctuation":
        after = PUNCTUATION[previous.text][1]
        if after is not None:
            return after
        if previous.text in _OPENING or previous.text in _RANGE:
            return 0
        if token.kind == "punctuation":
            return 1 if token.text in _OPENING else 0  # 」「: a blank, as a 読点 would take
        return 0 if token.pos in ("助詞", "助動詞") else 1  # after a closing bracket
    if token.kind == "punctuation":
        return 0  # punctuation attaches to the word before it (after punctuation: handled above)
    if previous.kind == "latin" and token.kind == "word":  # ADL_室 (つなぎ符) but ADL の, ADL 指導
        return 0 if token.pos_detail == "接尾" else 1
    if token.pos in ("動詞", "形容詞") and token.pos_detail == "非自立":
        return 1  # 補助用言 (見て ください, して いる) are written apart
    if token.pos in ("助詞", "助動詞") or token.pos_detail == "接尾" or previous.pos == "接頭詞":
        return 0
    if token.phrase_start:
        return 1
    compound = previous.pos == "名詞" and token.pos == "名詞" and token.kind == "word" == previous.kind
    return 1 if compound and run_mora >= 3 and token.mora >= 3 else 0


def word_cells(tokens: Sequence[Token]) -> str:
    """Cells of one braille word, with the 第1つなぎ符 after a number (before ア/ラ rows) or Latin."""
    out: list[str] = []
    last_kind = ""
    for token in tokens:
        if token.kind == "word" and (
            (last_kind == "number" and token.kana[:1] in _LOOKS_LIKE_DIGIT) or last_kind == "latin"
        ):
            out.append(CONNECT)
        if token.kind == "number":
            out.append(number_cells(token.kana))
        elif token.kind == "latin":
            out.append(latin_cells(token.kana))
        elif token.kind == "punctuation":
            out.append(PUNCTUATION[token.text][0])
        else:
            out.append(kana_cells(token.kana))
        last_kind = token.kind
    return "".join(out)


def braille(tokens: Sequence[Token]) -> str:
    """The braille of one paragraph, words separated by blanks (no line breaks: ``layout`` wraps)."""
    return "".join(word_cells(w) + BLANK * blanks for w, blanks in braille_words(tokens))


_CANONICAL_MARK = {".": "。", ",": "、", "〜": "~"}


def written(tokens: Sequence[Token]) -> str:
    """What the braille spells, in print: kana, digits, letters and marks, blanks as spaces.
    ``back_translate(braille(tokens)) == written(tokens)`` for every text (the round trip)."""
    return "".join(
        "".join(_CANONICAL_MARK.get(t.text, t.text) if t.kind == "punctuation" else t.kana for t in w) + " " * blanks
        for w, blanks in braille_words(tokens)
    )
