"""The gettext catalogs every translated word of koho comes from (ADR 0016).

One directory, one format, one review path: ``koho/locale/<lang>/LC_MESSAGES/<domain>.po``.

- ``messages`` (:data:`RESIDENTS`): what residents read around the articles: the archive, the
  feeds, the e-books, the info mail and the subscription pages. Japanese is the source text (the
  msgids), so Japanese has no catalog and its outputs are the code's and templates' own bytes; the
  eight target languages each have one. ``babel.cfg`` says where ``pybabel extract`` finds them.
- ``koho`` (:data:`COMMAND`): what the ``koho`` command tells PR staff. English is the source
  text; Japanese has a catalog (``koho/cli_words.py`` says how it is extracted).

A catalog is read with Babel and compiled into memory the first time its language is asked for,
then kept: a fresh clone or ``pip install -e .`` needs no build step, and no ``.mo`` file is
committed. ``write_mo`` leaves fuzzy entries out, so an unreviewed guess shows the source text
(and ``tests/test_catalogs.py`` refuses it before that can ship).
"""

from __future__ import annotations

import gettext
from functools import cache
from io import BytesIO
from pathlib import Path

LOCALE = Path(__file__).parent / "locale"
RESIDENTS = "messages"
COMMAND = "koho"


def po_file(language: str, domain: str = RESIDENTS) -> Path:
    """Where the catalog of ``language`` in ``domain`` is (it may not exist)."""
    return LOCALE / language / "LC_MESSAGES" / f"{domain}.po"


@cache
def translations(language: str, domain: str = RESIDENTS) -> gettext.NullTranslations:
    """The catalog of ``language`` in ``domain``, compiled in memory from its .po file; the
    source text itself (``NullTranslations``) where there is none."""
    po = po_file(language, domain)
    if not po.is_file():
        return gettext.NullTranslations()
    # Babel is imported only here: an English `koho --help` or a Japanese page pays nothing for it.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        compiled = BytesIO()
        write_mo(compiled, read_po(handle, domain=domain))
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)
