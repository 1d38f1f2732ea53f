"""Fitting text into a channel's limit: X's weighted length, UTF-8 byte budgets, plain text.

Every social channel has the same problem in a different unit: say as much of the article as
fits, cut at a sentence or clause boundary (never mid-word, never mid-URL) and mark the cut with
an ellipsis. The unit is a function (``measure``) so the cutting is written once.

X's weighted length (``koho.social_text.x_weighted_length``) comes from ``twitter-text-parser``
(the port of X's own twitter-text rules: CJK counts 2, a URL 23, an emoji sequence 2); it lives
with the article's posted-text rules because the reader checks a hand-written ``x.text`` too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from html.parser import HTMLParser

from koho.channel import Limits
from koho.social_text import x_weighted_length

ELLIPSIS = "…"

#: Sentence ends (Japanese and Latin) and, failing those, clause boundaries, as split points.
_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=[.](?=\s))|\n")
_CLAUSE_END = re.compile(r"(?<=[、，,；;：:）)」』】])|(?<=\s)")

Measure = Callable[[str], int]


class TextTooLong(ValueError):
    """Text that a channel whose ``Limits.overflow`` is ``reject`` cannot take as it is."""


def utf8_bytes(text: str) -> int:
    """Length in UTF-8 bytes (YouTube counts descriptions this way)."""
    return len(text.encode("utf-8"))


def chars(text: str) -> int:
    """Length in Unicode code points."""
    return len(text)


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units (LINE counts message text this way: an emoji is 2)."""
    return len(text.encode("utf-16-le")) // 2


def _boundaries(text: str, pattern: re.Pattern[str]) -> list[int]:
    return sorted({m.start() for m in pattern.finditer(text) if 0 < m.start() < len(text)})


def cut(text: str, budget: int, measure: Measure, ellipsis: str = ELLIPSIS) -> str:
    """The longest prefix of ``text`` that fits ``budget`` in ``measure``'s unit.

    Prefers a sentence boundary, then a clause boundary (、 , ） and spaces), and only then a
    character boundary; anything shorter than the whole text ends with ``ellipsis`` (counted in
    the budget). Returns "" when not even the ellipsis fits.
    """
    text = text.strip()
    if measure(text) <= budget:
        return text
    if measure(ellipsis) > budget:
        return ""
    for pattern in (_SENTENCE_END, _CLAUSE_END):
        fitting = [i for i in _boundaries(text, pattern) if measure(text[:i].rstrip() + ellipsis) <= budget]
        if fitting:
            # A clause cut that keeps less than a third of the budget says too little; try harder.
            best = text[: max(fitting)].rstrip()
            if pattern is _SENTENCE_END or measure(best) * 3 >= budget:
                return best + ellipsis
    # No boundary fits: cut between characters (binary search: measure may be costly).
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if measure(text[:mid].rstrip() + ellipsis) <= budget:
            low = mid
        else:
            high = mid - 1
    return _keep_whole(text[:low]).rstrip() + ellipsis if low else ""


def _keep_whole(prefix: str) -> str:
    # Never end on half of an emoji sequence (a family, a keycap): drop a trailing zero-width
    # joiner or variation selector, which only make sense with what follows them.
    while prefix and prefix[-1] in "\u200d\ufe0f\ufe0e":
        prefix = prefix[:-1]
    return prefix


def measure_of(limits: Limits) -> Measure:
    """How ``limits`` counts length."""
    return {"chars": chars, "utf16": utf16_units, "bytes": utf8_bytes, "weighted": x_weighted_length}[
        limits.length_unit
    ]


def fit(limits: Limits, parts: Sequence[str], tail: str = "", lead: str = "", sep: str = "\n") -> str:
    """``lead``, then ``parts`` and ``tail`` joined by ``sep``, within the channel's ``body_max``
    counted in its ``length_unit``: the one place a channel's text limit is enforced.

    ``lead`` and ``tail`` (a link, hashtags) are never cut. Past the limit, ``truncate`` cuts the
    first part that does not fit at a sentence or clause boundary and drops the rest
    (``fit_parts``); ``reject`` raises ``TextTooLong``.
    """
    joined = lead + sep.join([p.strip() for p in parts if p.strip()] + ([tail] if tail else []))
    measure = measure_of(limits)
    if limits.body_max is None or measure(joined) <= limits.body_max:
        return joined
    if limits.overflow == "reject":
        raise TextTooLong(f"{measure(joined)} of at most {limits.body_max} ({limits.length_unit})")
    return lead + fit_parts(list(parts), tail, limits.body_max - measure(lead), measure, sep)


def fit_parts(parts: list[str], fixed_tail: str, budget: int, measure: Measure, sep: str = "\n") -> str:
    """Join ``parts`` and a ``fixed_tail`` (a URL, hashtags) within ``budget``.

    The tail is never cut; the parts are kept whole from the first while they fit, and the first
    part that does not fit is cut at a sentence or clause boundary (later parts are dropped).
    """

    def joined(*pieces: str) -> str:  # the tail, when there is one, always ends the text
        return sep.join([*pieces, fixed_tail] if fixed_tail else pieces)

    kept: list[str] = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if measure(joined(*kept, part)) <= budget:
            kept.append(part)
            continue
        room = budget - measure(joined(*kept, "")) if kept or fixed_tail else budget
        # The separator count is exact only for additive measures (all of koho's are, except
        # X's URL handling, which only ever makes text shorter): re-check and shrink if needed.
        while room > 0:
            piece = cut(part, room, measure)
            if not piece:
                break
            if measure(joined(*kept, piece)) <= budget:
                kept.append(piece)
                break
            room -= 1
        break
    return joined(*kept)


class _TextExtractor(HTMLParser):
    """Rendered article HTML -> plain text paragraphs (for descriptions and message bodies)."""

    BLOCKS = {
        "p",
        "div",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "ul",
        "ol",
        "br",
        "blockquote",
        "pre",
        "figure",
        "dl",
        "dt",
        "dd",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.out.append("\n")
        if tag == "li":
            self.out.append("・")
        if tag in ("td", "th"):
            self.out.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        self.out.append(data)


def plain_text(html: str) -> str:
    """The text of rendered HTML: paragraphs separated by blank lines, list items with ・."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).split("\n")]
    paragraphs, current = [], []
    for line in lines:
        if line:
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs)
