"""The preview's page: one HTML file, in Japanese for PR staff or in English (ADR 0031).

Its words are English msgids marked with ``N_`` and translated from the command's catalog
(``koho/locale/ja/LC_MESSAGES/koho.po``), like everything the command tells PR staff. The page
links the files ``Preview.files`` holds by relative paths, so the same page works served by
``koho preview`` and opened from disk after ``koho preview --out``.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from flows.preview import Preview
from koho.cli_words import N_, catalog
from koho.i18n import tag

_ENV = Environment(
    loader=PackageLoader("flows"), autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
)

#: What each channel is called on the page (channel names are registry keys, not words).
CHANNEL_NAMES = {
    "archive": N_("Archive page"),
    "mail": N_("Info mail"),
    "x": N_("X post"),
    "facebook": N_("Facebook post"),
    "line": N_("LINE message"),
    "youtube": N_("YouTube description"),
    "ebook": N_("E-book chapter"),
}

#: How a meter's unit is said.
UNITS = {
    "weighted": N_("weighted characters (CJK count 2, a link 23)"),
    "utf16": N_("UTF-16 units"),
    "chars": N_("characters"),
    "bytes": N_("bytes (UTF-8)"),
}

#: The page's other words, marked here so the catalog test finds them.
WORDS = (
    N_("Preview"),
    N_("Preview: {title}"),
    N_("Planned in {ms} ms, as of {when}."),
    N_("Nothing here is recorded, written or sent."),
    N_("Draft: shown as if ready; nothing is sent until 'status: ready'."),
    N_("Problems that affect every channel"),
    N_("Problems (koho check)"),
    N_("Limit reached"),
    N_("Past the limit: the provider would refuse it."),
    N_("Cut to fit the limit."),
    N_("Subject"),
    N_("HTML part"),
    N_("Text part"),
    N_("Length"),
    N_("Language"),
    N_("Channels"),
    N_("This page reloads when the file is saved."),
    N_("line {line}"),
    N_("Translations not made: {n} language(s) have no model installed"),
)


def page(preview: Preview, lang: str, switch: str, version: str | None = None) -> str:
    """The page in ``lang`` (``ja`` or ``en``); ``switch`` links the other language's page;
    ``version``, when served, is polled so the page reloads after the file is saved."""
    words = catalog(lang)

    def t(message: str, **values: Any) -> str:
        text = words.gettext(message)
        return text.format(**values) if values else text

    return _ENV.get_template("preview.html").render(
        preview=preview, lang=lang, switch=switch, version=version, t=t, ms=round(preview.seconds * 1000)
    )


_ENV.globals.update(tag=tag, names=CHANNEL_NAMES, units=UNITS)
