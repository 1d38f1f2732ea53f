"""Every gettext catalog in koho/locale is complete and safe to ship (ADR 0016).

The catalogs of what residents read (``messages``: the archive, feeds, e-books, the info mail and
the subscription pages) hold exactly the strings ``babel.cfg`` extracts, in all eight target
languages; Japanese is their source text and has no catalog. Every entry of every catalog (the
command's Japanese ``koho.po`` too) is translated, not fuzzy, and keeps the placeholders of its
msgid, so a value is never lost or left as ``{n}`` in a page, a mail or a message.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from koho.catalogs import LOCALE, RESIDENTS, po_file
from koho.i18n import SOURCE_LANGUAGE, TARGET_LANGUAGES

REPO = Path(__file__).resolve().parents[1]
CATALOGS = sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))
#: ``{name}`` (str.format, the outputs' words and the command) and ``%(name)s`` (Jinja2's newstyle
#: gettext, the subscription pages).
PLACEHOLDER = re.compile(r"\{\w*\}|%\(\w+\)s")
KANA = re.compile("[ぁ-んァ-ヶ]")


def read(po: Path) -> Catalog:
    with po.open("rb") as handle:
        return read_po(handle)


def marked() -> set[tuple[str | tuple[str, ...], str | None]]:
    """(msgid, context) of every string the code and templates mark, as ``pybabel extract -F
    babel.cfg`` reads them from the repository's root."""
    with open(REPO / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    return {
        (message, context)
        for _file, _line, message, _comments, context in extract_from_dir(
            REPO, method_map, options_map, keywords=DEFAULT_KEYWORDS
        )
    }


def test_the_residents_catalogs_hold_exactly_the_marked_strings_in_every_target_language():
    found = {(message if isinstance(message, str) else message[0], context) for message, context in marked()}
    # A sample of each kind: a page's text, a sign-up mail's subject, a link label of the pages.
    assert {
        ("メールアドレスを入力してください。", None),
        ("%(list_name)sに登録する", None),
        ("【%(list_name)s】登録の確認", None),
        ("本文へ移動", None),
    } <= found
    assert sorted(p.parent.parent.name for p in LOCALE.glob(f"*/LC_MESSAGES/{RESIDENTS}.po")) == sorted(
        TARGET_LANGUAGES
    )
    assert not po_file(SOURCE_LANGUAGE).exists(), "Japanese is the source text: its words are the msgids"
    for language in TARGET_LANGUAGES:
        catalog = read(po_file(language))
        assert str(catalog.locale) == language
        held = {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in catalog if m.id}
        assert held == found, f"{language}: extract with babel.cfg, pybabel update, translate (ADR 0016)"


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: str(p.relative_to(LOCALE)))
def test_every_message_is_translated_not_fuzzy_and_keeps_its_placeholders(po):
    catalog = read(po)
    residents = po.stem == RESIDENTS
    assert [m for m in catalog if m.id], "an empty catalog"
    # Babel's own checkers: %-format agreement and as many plural forms as Plural-Forms says.
    assert [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()] == []
    for message in (m for m in catalog if m.id):
        where = f"{po.relative_to(LOCALE)}: {message.id!r}"
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        forms = [message.string] if isinstance(message.string, str) else list(message.string)
        assert not message.fuzzy, where
        assert all(form.strip() for form in forms), f"{where}: untranslated"
        for form in forms:
            # Every form says the whole thing: a singular names {n} too ("1 article" from the number).
            assert sorted(PLACEHOLDER.findall(form)) == sorted(PLACEHOLDER.findall(ids[-1])), where
            assert form.count("<a ") == ids[-1].count("<a "), where
            if residents:
                assert "%" not in PLACEHOLDER.sub("", form), where  # newstyle gettext formats every page string
                assert not KANA.search(form), f"{where}: Japanese left in a translation"
