"""The engine and the article translator, through real argostranslate with tiny packages (ADR 0006)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from koho.ledger import Ledger
from koho.reader import read_corpus
from koho.site import load_site
from tests import tiny_packages
from translations import engine
from translations.glossary import load_glossary
from translations.memory import Memory
from translations.translator import LANGUAGES, TranslationCache, Translator, translated_issue

REPO = Path(__file__).resolve().parents[1]
ARTICLE = "sogo-bousai-kunren-2026"

pytestmark = pytest.mark.usefixtures("argos_home")


@pytest.fixture(scope="module")
def corpus():
    content = REPO / "content"
    return read_corpus(content, load_site(content))


@pytest.fixture
def translator(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'koho.db'}")
    glossary, errors = load_glossary(REPO / "content", LANGUAGES)
    assert errors == []
    yield Translator(tmp_path / "content", glossary, Memory(ledger.engine))
    ledger.close()


def test_one_loaded_model_per_pair_translates_a_batch():
    pair = engine.model_pair("ja", "en")
    assert engine.model_pair("ja", "en") is pair
    assert pair.version == "translate-ja_en 1.0"
    assert pair.translate(["練馬区のお知らせです。", "二文目！", "report 2025"]) == [
        "⟨en⟩ 練馬区のお知らせです。",
        "⟨en⟩ 二文目！",
        "⟨en⟩ report 2025",
    ]


def test_pivot_through_english_is_argostranslates_own(tiny_package_cache):
    tiny_packages.install([tiny_packages.cached_package("en", "de", tiny_package_cache)])
    engine.install_files([])  # drops loaded pairs, as `koho translations install` does
    pair = engine.model_pair("ja", "de")
    assert pair.version == "translate-ja_en 1.0 > translate-en_de 1.0"
    assert pair.translate(["練馬区です。"]) == ["⟨de⟩ ⟨en⟩ 練馬区です。"]


def test_a_missing_pair_names_the_exact_package_to_install():
    with pytest.raises(engine.MissingModel) as caught:
        engine.model_pair("ja", "fr")
    assert caught.value.packages == ("translate-en_fr",)  # ja -> en is there: only the second hop
    assert "install translate-en_fr (koho translations install FILE.argosmodel)" in str(caught.value)
    with pytest.raises(engine.MissingModel) as caught:
        engine.model_pair("ko", "fr")
    assert caught.value.packages == ("translate-ko_en", "translate-en_fr")


def test_installed_pairs_lists_the_packages():
    pairs = engine.installed_pairs()
    assert ("ja", "th", "translate-ja_th", "1.0") in pairs
    assert {p[1] for p in pairs if p[0] == "ja"} >= set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_article_in_every_language(translator, corpus, language):
    article = corpus.articles[ARTICLE]
    result = translator.translate(article, language)
    tr = result.article
    tag = f"⟨{language}⟩"
    terms = translator.glossary.for_language(language)
    assert (tr.id, tr.language, tr.path) == (article.id, language, article.path)
    assert tr.title.startswith(tag)
    assert ("11月15日" in tr.title) == (language == "zh")  # dates are localised (Chinese writes them so)
    assert tr.summary.startswith(tag)
    assert tr.images[0].alt.startswith(tag)
    assert terms["練馬区"] in tr.body  # glossary: [練馬区の防災情報](...)
    assert "https://www.city.nerima.tokyo.jp/kurashi/bosai/index.html" in tr.body  # "_"-free but untouched
    assert "03-3993-1111" in tr.body
    assert "## " + tag in tr.body and "\n- " in tr.body  # headings and lists keep their structure
    assert 'href="https://www.city.nerima.tokyo.jp/kurashi/bosai/index.html"' in tr.html
    assert tr.revision != article.revision
    assert tr.translation.source_revision == article.revision
    assert tr.translation.machine is True
    assert f"translate-ja_{language} 1.0" in tr.translation.engine
    assert result.translated == result.segments - result.reviewed > 10


def test_memory_means_one_changed_sentence_is_one_segment_translated(translator, corpus):
    article = corpus.articles[ARTICLE]
    for language in LANGUAGES:
        translator.translate(article, language)
    edited = replace(
        article, body=article.body.replace("荒天の場合は中止します。", "雨天の場合も実施します。"), revision="edited"
    )
    again = {lang: translator.translate(edited, lang) for lang in LANGUAGES}
    assert {lang: r.translated for lang, r in again.items()} == {lang: 1 for lang in LANGUAGES}
    assert "⟨th⟩ 雨天の場合も実施します。" in again["th"].article.body
    unchanged = translator.translate(edited, "th")
    assert unchanged.translated == 0 and unchanged.article == again["th"].article


def test_finished_translations_are_kept_until_an_input_changes(tmp_path, corpus, tiny_package_cache):
    """Each run opens a translator; a kept translation is served without segmenting or asking
    the model, and never once its original, the glossary or the models changed."""
    glossary, _ = load_glossary(REPO / "content", LANGUAGES)
    asked = []

    def pair_for(source, target):
        asked.append(target)
        return engine.model_pair(source, target)

    def run(article, terms=glossary):
        translator = Translator(tmp_path / "content", terms, None, pair_for, TranslationCache(tmp_path / "cache"))
        try:
            return translator.translate(article, "en")
        finally:
            translator.close()

    article = corpus.articles[ARTICLE]
    first = run(article)
    assert asked == ["en"] and first.translated > 0
    again = run(article)
    assert asked == ["en"] and again.translated == 0
    assert again.article == first.article and again.segments == first.segments

    # Fields a translation does not change come from the original as read now.
    later = replace(article, publish_at=article.publish_at + timedelta(hours=1))
    assert run(later).article.publish_at == later.publish_at and asked == ["en"]

    edited = replace(article, title=article.title + "（変更）", revision="edited")
    assert "（変更）" in run(edited).article.title and asked == ["en", "en"]
    renamed = dict(glossary.terms, 練馬区={**glossary.terms["練馬区"], "en": "Nerima Ward"})
    assert "Nerima Ward" in run(article, replace(glossary, terms=renamed)).article.body and len(asked) == 3
    tiny_packages.install([tiny_packages.cached_package("ja", "it", tiny_package_cache)])  # the models changed
    engine.install_files([])
    assert run(article).article == first.article and len(asked) == 4


def test_a_model_that_loses_a_placeholder_still_keeps_the_structure(tmp_path, corpus):
    class Forgetful:
        source, target, version = "ja", "en", "forgetful 1"

        def translate(self, texts):
            # Drops every placeholder, as a real model may: koho then translates the pieces apart.
            return ["EN(" + "".join(c for c in t if not c.isascii() or c == " ") + ")" for t in texts]

    glossary, _ = load_glossary(REPO / "content", LANGUAGES)
    translator = Translator(tmp_path, glossary, None, pair_for=lambda s, t: Forgetful())
    body = "詳しくは[防災情報](https://example.jp/a_b)をご覧ください。"
    article = replace(corpus.articles[ARTICLE], body=body)
    got = translator.translate(article, "en").article.body
    assert got == "EN(詳しくは)[EN(防災情報)](https://example.jp/a_b)EN(をご覧ください。)"


def test_an_issue_in_another_language_holds_its_articles_translations(translator, corpus):
    from datetime import datetime

    from koho.bulletin import issues_of

    issue = issues_of(corpus.articles.values(), corpus.site, datetime(2027, 1, 1, tzinfo=UTC))[0]
    translations = {a.id: translator.translate(a, "vi").article for a in issue.articles}
    edition = translated_issue(issue, translations)
    assert edition.id == issue.id and edition.day == issue.day
    assert [a.id for a in edition.articles] == [a.id for a in issue.articles]
    assert {a.language for a in edition.articles} == {"vi"}
    assert edition.revision != issue.revision
    assert translated_issue(issue, dict(list(translations.items())[1:])) is None


def test_the_cheap_look_lists_what_argostranslate_lists():
    """installed_pairs reads metadata.json; argostranslate itself must agree, pivots and all."""
    from_argos = sorted(
        (p.from_code, p.to_code, engine.package_name(p.from_code, p.to_code), str(p.package_version))
        for p in engine._installed_translate_packages()
    )
    assert engine.installed_pairs() == from_argos


_NO_MODELS = """
import sys
from translations import engine
assert engine.installed_pairs() == []
try:
    engine.model_pair("ja", "en")
except engine.MissingModel as missing:
    print(missing.packages, "argostranslate" in sys.modules, "torch" in sys.modules)
"""


def test_no_model_installed_is_known_without_importing_argostranslate(tmp_path):
    """A ward without models learns "install translate-ja_en" without paying for argostranslate,
    stanza and torch (seconds and hundreds of MB per run; issue 16)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ARGOS_"))}
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    env["PYTHONPATH"] = str(REPO)
    out = subprocess.run([sys.executable, "-c", _NO_MODELS], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["('translate-ja_en',)", "False", "False"]
