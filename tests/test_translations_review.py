"""Human review through PO files, `koho check` on translation content, and the model commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po
from typer.testing import CliRunner

from koho.cli import app
from koho.ledger import Ledger
from koho.reader import load
from koho.settings import Settings
from tests import tiny_packages
from translations.checks import open_translator
from translations.translator import LANGUAGES

ARTICLE = "sogo-bousai-kunren-2026"
SENTENCE = "荒天の場合は中止します。"
REVIEWED = "งดกิจกรรมหากสภาพอากาศเลวร้าย"

pytestmark = pytest.mark.usefixtures("argos_home")


def koho(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def translate(language: str, article_id: str = ARTICLE):
    """As a flow run translates: memory in the ledger, finished translations kept in the state
    folder, so every edit below must also reach past that cache."""
    settings = Settings()
    ledger = Ledger(settings.db_url())
    translator = open_translator(settings.content_dir, LANGUAGES, ledger.engine, settings.state_dir / "cache")
    try:
        return translator.translate(load(settings).articles[article_id], language)
    finally:
        translator.close()
        ledger.close()


def review(path: Path, edits: dict[str, str] | None = None, everything: bool = False) -> None:
    """What a reviewer does in a PO editor: set msgstr, clear the fuzzy flag."""
    with path.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if message.id and (everything or message.id in (edits or {})):
            message.string = (edits or {}).get(message.id, message.string)
            message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=0, include_previous=True)


def test_po_round_trip_review_wins_then_a_source_change_makes_it_fuzzy(workspace):
    po = workspace / "content" / "translations" / "th" / f"{ARTICLE}.po"
    done = koho("translations", "export", ARTICLE, "--lang", "th")
    assert done.exit_code == 0, done.output
    assert f"{ARTICLE}.po: 0 reviewed, 0 to review again" in done.output.replace("\n", "")
    text = po.read_text(encoding="utf-8")
    assert f'#: articles/2026/{ARTICLE}.md:37\n#, fuzzy\nmsgid "{SENTENCE}"\nmsgstr "⟨th⟩ {SENTENCE}"' in text
    machine = translate("th")
    assert machine.reviewed == 0 and machine.article.translation.machine

    review(po, {SENTENCE: REVIEWED})
    reviewed = translate("th")
    assert (
        reviewed.reviewed == 1 and REVIEWED in reviewed.article.body and f"⟨th⟩ {SENTENCE}" not in reviewed.article.body
    )
    assert reviewed.article.revision != machine.article.revision  # a reviewed change republishes
    assert reviewed.article.translation.machine  # other sentences are still the machine's
    assert koho("check").exit_code == 0

    source = workspace / "content" / "articles" / "2026" / f"{ARTICLE}.md"
    changed = "荒天の場合は訓練を中止します。"
    source.write_text(source.read_text(encoding="utf-8").replace(SENTENCE, changed), encoding="utf-8")
    after = translate("th")
    assert REVIEWED not in after.article.body and f"⟨th⟩ {changed}" in after.article.body
    checked = koho("check")
    assert checked.exit_code == 0  # stale reviews warn; they do not stop publishing
    line = next(
        i for i, text in enumerate(po.read_text(encoding="utf-8").split("\n"), 1) if text == f'msgid "{SENTENCE}"'
    )
    assert (
        f"content/translations/th/{ARTICLE}.po:{line}: msgid: stale review: the article no longer has this sentence"
    ) in checked.output.replace("\n", " ").replace(
        "  ", " "
    ) or f"{ARTICLE}.po:{line}: msgid: stale review" in checked.output

    koho("translations", "export", ARTICLE, "--lang", "th")
    text = po.read_text(encoding="utf-8")
    assert f'#, fuzzy\n#| msgid "{SENTENCE}"\nmsgid "{changed}"\nmsgstr "{REVIEWED}"' in text
    assert REVIEWED not in translate("th").article.body  # fuzzy: the machine's again
    checked = koho("check")
    line = next(i for i, row in enumerate(text.split("\n"), 1) if row == f'msgid "{changed}"')
    assert f"{ARTICLE}.po:{line}: msgid: stale review: the Japanese changed" in checked.output.replace("\n", "")

    review(po, {changed: REVIEWED + "!"})
    assert REVIEWED + "!" in translate("th").article.body
    assert "stale review" not in koho("check").output


def test_machine_is_false_only_when_every_segment_is_reviewed(workspace):
    article = "tokushu-sagi-chuui"
    assert koho("translations", "export", article, "--lang", "en").exit_code == 0
    po = workspace / "content" / "translations" / "en" / f"{article}.po"
    assert translate("en", article).article.translation.machine
    review(po, everything=True)
    done = translate("en", article)
    assert done.article.translation.machine is False and done.translated == 0


def test_check_names_file_line_and_field_of_translation_content(workspace):
    content = workspace / "content"
    (content / "glossary.yaml").write_text("練馬区:\n  en: Nerima City\n", encoding="utf-8")
    (content / "translations" / "th").mkdir(parents=True)
    (content / "translations" / "th" / "no-such-article.po").write_text('msgid ""\nmsgstr ""\n', encoding="utf-8")
    (content / "translations" / "th" / f"{ARTICLE}.po").write_text('msgid "a"\nmsgstr "b"\nmsgid\n', encoding="utf-8")
    checked = koho("check")
    assert checked.exit_code == 1
    output = checked.output.replace("\n", "")
    assert "content/glossary.yaml:1: 練馬区: no rendering for zh, ko, th, pt, es, id, vi" in output
    assert "content/translations/th/no-such-article.po:1: article: no article has the id 'no-such-article'" in output
    assert f"content/translations/th/{ARTICLE}.po:3: po: not a valid PO file" in output
    refused = koho("publish")
    assert refused.exit_code == 1 and "nothing was published" in refused.output


def test_install_from_files_and_list(workspace, tiny_package_cache):
    assert "no such file: nope.argosmodel" in koho("translations", "install", "nope.argosmodel").output
    package = tiny_packages.cached_package("ja", "it", tiny_package_cache)
    done = koho("translations", "install", str(package))
    assert done.exit_code == 0 and "Installed: translate-ja_it-tiny" in done.output
    listed = koho("translations", "list")
    assert listed.exit_code == 0
    assert "translate-ja_it" in listed.output and "ja→th: translate-ja_th 1.0" in listed.output


def test_install_from_the_index_offline_is_a_clear_error(workspace, monkeypatch):
    from argostranslate import settings as argos_settings

    # A closed loopback port: the download fails at once and nothing leaves the machine.
    monkeypatch.setattr(argos_settings, "remote_package_index", "http://127.0.0.1:9/index.json")
    done = koho("translations", "install")
    assert done.exit_code == 2
    assert "cannot download the argos package index" in done.output
    assert "koho translations install FILE.argosmodel" in done.output.replace("\n", " ")
