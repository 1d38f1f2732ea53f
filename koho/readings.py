"""Japanese text -> readings: one pipeline for the braille edition and (later) for speech.

Open JTalk (``pyopenjtalk-plus``, the ``accessible`` extra; its dictionary ships inside the
wheel, nothing is downloaded) splits the text into words with their part of speech, kana
reading, pronunciation and accent-phrase chaining. Before it sees the text, a normalisation step
takes out what it must not read by itself:

- terms of the readings dictionary (``koho.reading_dictionary``): the dictionary wins;
- phone numbers (03-3993-1111: read digit by digit, written with digits in braille);
- numbers (braille writes them with 数符 and digits, speech reads them): a number is given to
  Open JTalk together with the words after it, so its counter is read as it is said
  (30分 -> サンジュップン, the braille 30プン);
- Latin letters (braille writes them with 外字符; speech reads them as Open JTalk spells them).

The result is a list of ``Token``: kind word/number/latin/punctuation, the text as written, the
pronunciation (``reading``: katakana with ー, particles は/へ as ワ/エ), the kana spelled the way
braille writes them (``kana``: エ段 long vowels keep イ, ウ/オ段 ones take ー), the part of speech,
mora count, whether the word begins an accent phrase, and where the reading came from.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

Kind = Literal["word", "number", "latin", "punctuation"]
#: Where a reading came from: the ward's dictionary, a volunteer's review of a guess
#: (``koho.reading_review``), Open JTalk's guess, or a rule of this module.
Source = Literal["dictionary", "review", "model", "rule"]

INSTALL_HINT = "pip install -e '.[accessible]'"


@dataclass(frozen=True)
class Token:
    """One unit of a reading: a word, a number, a run of Latin letters or a punctuation mark."""

    kind: Kind
    text: str  # as written (NFKC: full-width digits and letters made ASCII)
    reading: str  # pronunciation in katakana (speech); "" for punctuation
    kana: str  # as braille spells it: kana for words, digits for numbers, letters for Latin, the mark
    pos: str = ""  # Open JTalk's part of speech: 名詞, 動詞, 助詞, 助動詞, 接頭詞, 記号 ...
    pos_detail: str = ""  # its first subdivision: 固有名詞, 接尾, 数 ...
    mora: int = 0
    phrase_start: bool = True  # begins an accent phrase (a 文節, where 分かち書き may space)
    source: Source = "model"


class ReadingsUnavailable(RuntimeError):
    """The ``accessible`` extra (pyopenjtalk-plus) is not installed."""


def available() -> bool:
    """Whether Open JTalk can be imported (the ``accessible`` extra is installed)."""
    import importlib.util

    return importlib.util.find_spec("pyopenjtalk") is not None


def _jtalk() -> Any:
    """pyopenjtalk, imported on first use: it loads a 100 MB dictionary (about 0.4 s)."""
    # Never reach a hub: the wheel ships the dictionary, and its optional models stay off.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import pyopenjtalk
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ReadingsUnavailable(f"readings need Open JTalk: {INSTALL_HINT}") from exc
    return pyopenjtalk


def synthesiser() -> Any:
    """pyopenjtalk for speech (``channels.audio``): the same install and offline setting as the readings."""
    return _jtalk()


# Phone numbers before plain numbers; a Latin run is letters, words of it a space apart (Nerima City).
_SPECIAL = re.compile(
    r"(?P<phone>(?<![\d-])0\d{1,4}-\d{1,4}-\d{3,4}(?![\d-]))"
    r"|(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"|(?P<latin>[A-Za-z]+(?: [A-Za-z]+)*)"
)
# How an announcer reads a digit of a phone number, and the hyphen between groups (の).
# Open JTalk reads digits as numbers (ニ, ゴ) and the hyphen as a pause; a table is all this takes.
_PHONE_DIGITS = dict(
    zip("0123456789", ["ゼロ", "イチ", "ニー", "サン", "ヨン", "ゴー", "ロク", "ナナ", "ハチ", "キュー"], strict=True)
)
_OPEN = "([{「『【〈《〔"
_CLOSE = ")]}」』】〉》〕"


def read(
    text: str, dictionary: Mapping[str, str] | None = None, reviewed: Mapping[str, str] | None = None
) -> list[Token]:
    """The tokens of ``text`` (one paragraph or heading): terms of ``dictionary`` read from it, and
    words the model reads read from ``reviewed`` instead when a volunteer reviewed them."""
    tokens = _read(text, dictionary)
    if not reviewed:
        return tokens
    return [
        replace(t, kana=braille_kana(r), reading=pronounce(r), mora=mora(r), source="review")
        if t.kind == "word" and t.source == "model" and (r := reviewed.get(t.text))
        else t
        for t in tokens
    ]


def _read(text: str, dictionary: Mapping[str, str] | None) -> list[Token]:
    """The tokens of ``text``, dictionary terms taken out before the model reads the rest."""
    text = unicodedata.normalize("NFKC", text)
    terms = sorted((dictionary or {}).items(), key=lambda item: -len(item[0]))
    tokens: list[Token] = []
    pending_number: Token | None = None  # read together with the words after it
    context = ""  # what the model sees before a piece of text: the term or Latin run just read
    for kind, piece in _spans(text, [t for t, _ in terms]):
        if kind == "text":
            tokens.extend(_model(piece, pending_number, context, _after_month(tokens)))
            pending_number, context = None, ""
            continue
        if pending_number is not None:
            tokens.extend(_model("", pending_number, ""))
            pending_number = None
        context = ""
        if kind == "term":
            # A blank in the reading marks where braille spaces the term (シャクジイ コウエン: 切れ続き).
            parts = dict(terms)[piece].split()
            for i, part in enumerate(parts):
                kana = braille_kana(part)
                word = Token("word", piece if i == 0 else "", pronounce(part), kana, "名詞", "固有名詞", mora(part))
                tokens.append(replace(word, source="dictionary"))
            context = "".join(parts)  # so that the particle after it is read as one (光が丘で: で is 助詞)
        elif kind == "phone":
            spoken = "ノ".join("".join(_PHONE_DIGITS[d] for d in group) for group in piece.split("-"))
            tokens.append(Token("number", piece, spoken, piece, "名詞", "数", mora(spoken), True, "rule"))
        elif kind == "number":
            pending_number = Token("number", piece, "", piece, "名詞", "数", 0, True, "rule")
        else:  # latin
            spoken = "".join(_clean(f["pron"]) for f in _jtalk().run_frontend(piece))
            tokens.append(Token("latin", piece, spoken, piece, "名詞", "外字", mora(spoken), True, "model"))
            context = piece
    if pending_number is not None:
        tokens.extend(_model("", pending_number, ""))
    return _weekdays(tokens)


def _after_month(tokens: list[Token]) -> bool:
    """Whether ``tokens`` end with a month (4月, 毎月, 今月): a 1日 after it is a date."""
    return bool(tokens) and tokens[-1].kind == "word" and tokens[-1].text.endswith("月")


#: A weekday written as its one kanji in a list of days (土・日曜日, (土・日)), as it is said.
_WEEKDAYS = {"月": "ゲツ", "火": "カ", "水": "スイ", "木": "モク", "金": "キン", "土": "ド", "日": "ニチ"}


def _weekdays(tokens: list[Token]) -> list[Token]:
    """Weekday kanji in a list of days joined by ・ read as days: Open JTalk reads a lone 土 as
    ツチ (soil) and 月 as ツキ. A run counts as days when it ends with a 曜 word (土・日曜日) or
    holds only weekday kanji (土・日)."""
    out = list(tokens)
    i = 0
    while i < len(out):
        run = [i]  # word positions of a run: word (・ word)*
        while run[-1] + 2 < len(out) and out[run[-1] + 1].text == "・" and out[run[-1] + 2].kind == "word":
            run.append(run[-1] + 2)
        words = [out[j] for j in run]
        days = len(run) > 1 and all(w.text in _WEEKDAYS for w in words[:-1])
        days = days and (words[-1].text in _WEEKDAYS or words[-1].text[:1] in _WEEKDAYS and "曜" in words[-1].text)
        if days:
            for j in run:
                if out[j].text in _WEEKDAYS:
                    said = _WEEKDAYS[out[j].text]
                    out[j] = replace(out[j], reading=said, kana=said, mora=mora(said), source="rule")
        i = run[-1] + 1
    return out


def _spans(text: str, terms: list[str]) -> Iterator[tuple[str, str]]:
    """(kind, piece): dictionary terms first (longest wins), then phones, numbers, Latin, text."""
    if terms:
        pattern = re.compile("|".join(re.escape(t) for t in terms))
        at = 0
        for match in pattern.finditer(text):
            yield from _spans(text[at : match.start()], [])
            yield "term", match.group()
            at = match.end()
        yield from _spans(text[at:], [])
        return
    at = 0
    for match in _SPECIAL.finditer(text):
        if match.start() > at:
            yield "text", text[at : match.start()]
        yield str(match.lastgroup), match.group()
        at = match.end()
    if at < len(text):
        yield "text", text[at:]


def _model(text: str, number: Token | None, context: str, month_before: bool = False) -> list[Token]:
    """Open JTalk's tokens for ``text``; with ``number``, the number is read first and its counter
    after it. ``context`` (the term or Latin run before ``text``) is read too and dropped, so the
    first word is parsed as it stands in the sentence. ``month_before``: the number follows a
    month (4月1日), so 1日 is the first of the month."""
    if not text.strip() and number is None:
        return []
    source = (number.text if number else "") + text
    features: list[dict[str, Any]] | None = [f for f in _jtalk().run_frontend(context + source) if f["string"]]
    if context and features is not None:
        features = _drop_context(context, features)
    if features is None:  # the model joined the context to the text: read the text alone
        features = [f for f in _jtalk().run_frontend(source) if f["string"]]
    tokens: list[Token] = []
    if number is not None:
        tokens, features = _number_tokens(number.text, features, month_before)
    for feature in features:
        before = tokens[-1].kana[-1:] if tokens and tokens[-1].kind == "word" else ""
        tokens.extend(_from_feature(feature, feature["chain_flag"] != 1, before))
    return tokens


def _drop_context(context: str, features: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """``features`` without the words that spell ``context``; None when no word boundary ends it."""
    seen = ""
    for i, feature in enumerate(features):
        if seen == context:
            return features[i:]
        seen += unicodedata.normalize("NFKC", feature["string"])
        if not context.startswith(seen):
            return None
    return [] if seen == context else None


_KANJI_NUMERALS = set("〇一二三四五六七八九十百千万")


def _numerals(surface: str) -> int:
    """How many leading characters of ``surface`` are kanji numerals (the model writes 2日 as 二日)."""
    return len(surface) - len(surface.lstrip("".join(_KANJI_NUMERALS)))


def _alone(digits: str) -> str:
    """The reading of a number said by itself."""
    return "".join(_clean(f["pron"]) for f in _jtalk().run_frontend(digits))


def _counter_reading(counter: str, pron: str) -> str:
    """The reading of ``counter`` at the end of ``pron`` (a number folded with it, read
    irregularly: 4月 シガツ, 14日's 四日 ヨッカ): the ending ``pron`` shares with 10 and the
    same counter (ジューガツ, トーカ); "" when they share none (フタリ, ツイタチ)."""
    other = "".join(_clean(f["pron"]) for f in _jtalk().run_frontend("10" + counter))
    shared = 0
    while shared < min(len(pron), len(other)) and pron[-1 - shared] == other[-1 - shared]:
        shared += 1
    return pron[len(pron) - shared :] if shared < len(pron) else ""


def _counter(surface: str, pron: str, read_: str, head: dict[str, Any], said: str) -> dict[str, Any]:
    """The feature of a counter cut off the word it was folded into (its last ``len(said)`` kana)."""
    cut = len(pron) - len(said)
    counter = dict(head, string=surface, pron=said, read=read_[cut:] if len(read_) == len(pron) else said)
    counter["chain_flag"] = 1
    counter["mora_size"] = mora(said)
    return counter


def _number_tokens(
    digits: str, features: list[dict[str, Any]], month_before: bool
) -> tuple[list[Token], list[dict[str, Any]]]:
    """The number at the head of ``features`` as tokens, and the features after it.

    Open JTalk writes a number as kanji numerals (十五), or folds it into one word with its
    counter: ``１１月`` (digits kept) or ``二日`` (digits made numerals). A fold read regularly is
    cut after the number (ジューイチ|ガツ). An irregular one is cut where the counter's reading
    begins (シ|ガツ, ジューヨッ|カ for 14日); a number read wholly irregularly (2日 フツカ, 20日
    ハツカ, 1日 ツイタチ after a month) is one word: braille writes those days in kana
    (日本点字表記法: ついたち, ふつか … とおか, はつか), 1日 otherwise 1ニチ."""

    def number(spoken: str) -> Token:
        return Token("number", digits, spoken, digits, "名詞", "数", mora(spoken), start, "rule")

    if not features:
        return [number("")], features
    start = features[0]["chain_flag"] != 1
    spoken: list[str] = []
    rest = list(features)
    while rest:
        surface = unicodedata.normalize("NFKC", rest[0]["string"])
        numeral = rest[0]["pos_group1"] == "数" or _numerals(surface) == len(surface)
        separator = surface in (".", ",") and len(rest) > 1 and rest[1]["pos_group1"] == "数"
        if not (numeral or separator):
            break
        spoken.append(_clean(rest.pop(0)["pron"]))
    if not rest:
        return [number("".join(spoken))], rest
    head = rest[0]
    surface = unicodedata.normalize("NFKC", head["string"])
    pron, read_ = _clean(head["pron"]), head["read"]
    kept = surface.startswith(digits) and not spoken  # ４月: the digits kept in the word
    folded = len(digits) if kept else _numerals(surface)
    if not folded or folded == len(surface):
        return [number("".join(spoken))], rest
    counter_text = surface[folded:]
    bracket = len(rest) > 1 and unicodedata.normalize("NFKC", rest[1]["string"]).startswith("(")
    if not spoken and (month_before or bracket) and digits == "1" and counter_text == "日":
        said = ""  # the first of the month (4月1日, 1日(土)): Open JTalk says イチニチ, a day's length
        pron = read_ = "ツイタチ"
    elif not spoken and pron.startswith(alone := _alone(digits)):
        said = pron[len(alone) :]  # １１月: ジューイチ|ガツ; 一日 (a day's length): イチ|ニチ
    elif kept or spoken:
        said = _counter_reading(counter_text, pron)  # ４月: シ|ガツ; 十 + 四日: ヨッ|カ
    else:
        said = ""  # 二日 フツカ, 二十日 ハツカ, 十日間 トーカカン: one word in kana
    if said:
        spoken.append(pron[: len(pron) - len(said)])
        counter = _from_feature(_counter(counter_text, pron, read_, head, said), False)
        return [number("".join(spoken)), *counter], rest[1:]
    if spoken:  # no counter reading found: the number as read, the word as the model has it
        return [number("".join(spoken))], rest
    kana = _braille_kana_of(read_, pron, head["orig"])
    word = Token("word", digits + counter_text, pron, kana, head["pos"], head["pos_group1"], mora(pron), start)
    return [word], rest[1:]


def _from_feature(feature: dict[str, Any], start: bool, kana_before: str = "") -> list[Token]:
    """One Open JTalk word as tokens: brackets around a word (（日）) become their own tokens."""
    surface = unicodedata.normalize("NFKC", feature["string"])
    if feature["pos"] == "記号" or not any(ch.isalnum() for ch in surface):
        return [Token("punctuation", ch, "", ch, "記号", feature["pos_group1"], 0, start, "model") for ch in surface]
    before = len(surface) - len(surface.lstrip(_OPEN))
    after = len(surface) - len(surface.rstrip(_CLOSE))
    inner = surface[before : len(surface) - after]
    pron = _clean(feature["pron"])
    kana = _braille_kana_of(feature["read"], pron, feature["orig"], kana_before)
    word = Token("word", inner, pron, kana, feature["pos"], feature["pos_group1"], mora(pron), start and not before)
    opening = [Token("punctuation", ch, "", ch, "記号", "括弧開", 0, start, "model") for ch in surface[:before]]
    closing = [
        Token("punctuation", ch, "", ch, "記号", "括弧閉", 0, False, "model") for ch in surface[len(surface) - after :]
    ]
    return [*opening, word, *closing]


def _clean(pron: str) -> str:
    """Open JTalk's pronunciation without its accent marks (’)."""
    return pron.replace("’", "").replace("'", "")


_U_ROW = set("ウクスツヌフムユルグズヅブプュゥヴ")
_O_ROW = set("オコソトノホモヨロヲゴゾドボポョォ")


def _braille_kana_of(read_: str, pron: str, lemma: str, before: str = "") -> str:
    """The kana braille writes for one word (日本点字表記法: 仮名遣い), from the kana spelling
    ``read_`` and the pronunciation ``pron``: particles は/へ as pronounced (ワ/エ), ウ/オ段 long
    vowels with 長音符 (ー), other long vowels as spelled (セイ, オオキイ), 言う always イウ."""
    if lemma.startswith("言う") or len(read_) != len(pron):
        return read_ if lemma.startswith("言う") else pron
    out: list[str] = []
    for spelled, said in zip(read_, pron, strict=True):
        if spelled == said:
            out.append(spelled)
        elif said == "ー":
            previous = out[-1] if out else before  # 行こ|う: the kana before is the word before's
            long_u_o = spelled == "ウ" and (previous in _U_ROW or previous in _O_ROW)
            out.append("ー" if long_u_o or spelled == "ー" else spelled)
        elif spelled in "ヂヅ" and said in "ジズ":
            out.append(spelled)  # つづく, ちぢむ: 連呼 and 連濁 keep ヂ/ヅ in braille too
        else:
            out.append(said)  # ハ -> ワ, ヘ -> エ, ジュウ -> ジュッ (as pronounced)
    return "".join(out)


def braille_kana(furigana: str) -> str:
    """A dictionary reading (furigana) as braille spells it: ウ after an ウ/オ段 kana is a long vowel (ー)."""
    out: list[str] = []
    for ch in furigana:
        previous = out[-1] if out else ""
        out.append("ー" if ch == "ウ" and (previous in _U_ROW or previous in _O_ROW) else ch)
    return "".join(out)


def pronounce(furigana: str) -> str:
    """A dictionary reading as said: ウ/オ段 + ウ and エ段 + イ are long vowels (ー)."""
    out = braille_kana(furigana)
    return re.sub(r"(?<=[エケセテネヘメレゲゼデベペェ])イ", "ー", out)


_SMALL = set("ャュョァィゥェォ")


def mora(kana: str) -> int:
    """Morae of a katakana string: small ャュョァィゥェォ belong to the kana before them."""
    return sum(1 for ch in kana if ch not in _SMALL and ("ァ" <= ch <= "ヺ" or ch == "ー"))
