"""Words channels print around an article's own text, from the residents' catalogs (ADR 0016)."""

from __future__ import annotations

from koho.i18n import SOURCE_LANGUAGE, words


def correction_label(language: str) -> str:
    """What precedes a change note in plain text (posts, feed summaries, video descriptions):
    ``【訂正・変更】`` in Japanese, whose brackets are its punctuation; ``Correction: `` and so on
    in a translation's language."""
    name = words(language).change_note
    return f"【{name}】" if language == SOURCE_LANGUAGE else f"{name}: "
