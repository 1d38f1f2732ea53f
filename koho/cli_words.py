"""The words the ``koho`` command prints, in the reader's language.

English is the source text (the msgids); ``koho/locale/ja/LC_MESSAGES/koho.po`` holds the
Japanese. The catalog is read with Babel and compiled in memory on first use, as the
subscription pages do (``channels/mail/web/language.py``), so a fresh clone needs no build step.
The language comes from the environment as POSIX reads it: LC_ALL, then LC_MESSAGES, then LANG;
Japanese when the first one set says ``ja``, English otherwise.
"""

from __future__ import annotations

import gettext
import os
from functools import lru_cache
from io import BytesIO
from pathlib import Path


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


LOCALE = Path(__file__).parent / "locale"
DOMAIN = "koho"


@lru_cache(maxsize=None)
def catalog(lang: str) -> gettext.NullTranslations:
    """The catalog of ``lang`` compiled in memory from its .po file (English: the msgids).

    Babel is imported only here: an English ``koho --help`` pays nothing for it. ``write_mo``
    leaves fuzzy entries out, so an unreviewed guess prints in English.
    """
    po = LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not po.is_file():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        compiled = BytesIO()
        write_mo(compiled, read_po(handle, domain=DOMAIN))
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _(message: str) -> str:
    """``message`` in the reader's language (the environment is read each time: cheap, and tests
    and long-lived processes may change it)."""
    return catalog(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the reader's language."""
    return catalog(language()).ngettext(singular, plural, n)
