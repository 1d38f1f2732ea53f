"""The words the ``koho`` command prints, in the reader's language.

English is the source text (the msgids); ``koho/locale/ja/LC_MESSAGES/koho.po`` holds the
Japanese. The catalog is compiled in memory on first use by ``koho.catalogs``, as every catalog
of koho is, so a fresh clone needs no build step.
The language comes from the environment as POSIX reads it: LC_ALL, then LC_MESSAGES, then LANG;
Japanese when the first one set says ``ja``, English otherwise.
"""

from __future__ import annotations

import gettext
import os

from koho.catalogs import COMMAND, translations


def N_(message: str) -> str:
    """Mark ``message`` for the catalog where it is defined; it is translated where it is shown."""
    return message


def language() -> str:
    """``ja`` or ``en``: the first of LC_ALL, LC_MESSAGES and LANG that is set decides (POSIX
    order); ``ja``, ``ja_JP``, ``ja_JP.UTF-8`` mean Japanese, anything else English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "ja" if value.split(".")[0].split("_")[0].lower() == "ja" else "en"
    return "en"


def catalog(lang: str) -> gettext.NullTranslations:
    """The command's catalog in ``lang`` (English: the msgids themselves)."""
    return translations(lang, COMMAND)


def _(message: str) -> str:
    """``message`` in the reader's language (the environment is read each time: cheap, and tests
    and long-lived processes may change it)."""
    return catalog(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the reader's language."""
    return catalog(language()).ngettext(singular, plural, n)
