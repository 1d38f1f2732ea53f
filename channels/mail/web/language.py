"""Which language a page of the subscription service speaks, and the catalogs it speaks it from.

Japanese is the source text: templates mark their Japanese strings with ``{% trans %}`` and
``_()``, the code with ``N_()`` where a string is defined and ``gettext`` where it is shown. The
translations are in koho's catalogs of what residents read (``koho/locale/<lang>/LC_MESSAGES/
messages.po``, with the archive's and the mail's words: ``koho.catalogs``, ADR 0016), compiled in
memory at start-up, so a fresh clone serves every language without a build step (the repository's
``babel.cfg`` says what ``pybabel extract`` reads). Japanese has no catalog: its pages are the
templates' own text, byte for byte.

A page speaks, in this order: the language asked for (``?lang=`` on a GET, the form's hidden
``lang`` on a POST), the subscriber's own (pages reached through a token), the first one of the
browser's Accept-Language that is offered, and Japanese. Only the offered languages (Japanese and
KOHO_LANGUAGES) are ever chosen: they are the ones mail can be had in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from gettext import NullTranslations
from importlib.resources.abc import Traversable

from babel.core import negotiate_locale
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from channels.common import TEMPLATES as SHARED_TEMPLATES
from koho.catalogs import translations
from koho.site import Site


def N_(message: str) -> str:
    """Mark ``message`` for the catalogs where it is defined; it is translated where it is shown."""
    return message


def preferred(accept_language: str | None) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first; ``q=0`` means "not
    this one" and ``*`` names no language, so both are left out."""
    ranked = []
    for position, item in enumerate((accept_language or "").split(",")):
        name, _, parameters = item.partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        name = name.strip()
        if name and name != "*" and quality > 0:
            ranked.append((-quality, position, name))
    return [name for _quality, _position, name in sorted(ranked)]


def edition(site: Site, language: str) -> dict[str, str]:
    """The archive's name and home page in ``language``: the signature of pages and mails."""
    if language == site.language:
        return dict(archive_name=site.name, archive_url=site.base_url)
    return dict(archive_name=site.name_in(language), archive_url=site.url(f"{language}/"))


class Languages:
    """The languages pages are offered in, each with its catalog and its Jinja2 environment.

    One environment per language, because ``install_gettext_translations`` binds a catalog to an
    environment and requests in different languages are rendered at the same time.
    """

    def __init__(self, offered: Iterable[str], source: str, templates: Traversable):
        self.offered = tuple(offered)
        self.source = source
        loader = FileSystemLoader([str(templates), SHARED_TEMPLATES])
        # The source language's pages are the templates' own text, whatever catalogs exist.
        self._catalogs = {code: NullTranslations() if code == source else translations(code) for code in self.offered}
        self._envs = {code: _environment(loader, translations) for code, translations in self._catalogs.items()}

    def choose(self, asked: Iterable[str | None], accept: str | None = None) -> str:
        """The first offered language of ``asked`` (parameter, form field, the subscriber's own:
        the caller's order), else the best offered match of an Accept-Language header ``accept``,
        else the source language."""
        for code in asked:
            if code in self._catalogs:
                return code
        # Babel matches "vi-VN" to "vi" and "zh-Hans-CN" to "zh". Its default aliases turn "pt"
        # into "pt_PT" and the like, which are never offered here: they are switched off.
        found = negotiate_locale(preferred(accept), self.offered, sep="-", aliases={})
        return found.lower() if found else self.source

    def env(self, language: str) -> Environment:
        """The template environment whose ``{% trans %}`` and ``_()`` speak ``language``."""
        return self._envs[language]

    def gettext(self, language: str) -> Callable[[str], str]:
        """Translate a string marked with ``N_`` into ``language``."""
        catalog = self._catalogs[language]
        # gettext("") would answer the catalog's header: an empty label stays empty.
        return lambda message: catalog.gettext(message) if message else message


def _environment(loader: FileSystemLoader, catalog: NullTranslations) -> Environment:
    # The same options as the repository's babel.cfg gives the extractor: with other whitespace
    # rules the msgids read from the templates would not be the ones looked up when rendering.
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
    return env
