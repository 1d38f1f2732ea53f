"""Segmentation and the glossary: what the model reads, and what comes back untouched.

The "model" here is the tiny argos package's behaviour written out (tag + copy), so these run
without argostranslate; tests/test_translations_engine.py runs the same through the real thing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from translations.glossary import load_glossary
from translations.segment import restore, segment_markdown, segment_text

REPO = Path(__file__).resolve().parents[1]
LANGUAGES = ["en", "zh", "ko", "th", "pt", "es", "id", "vi"]


def copy_model(document, language):
    """What a tiny package does: tag + the input; segments without letters are not sent."""
    out = []
    for segment in document.segments():
        text = f"⟨{language}⟩ {segment.text}" if segment.translatable else segment.text
        out.append(restore(text, segment))
    return document.render(out, language)


def test_structure_survives_and_only_text_is_translated():
    body = (
        "## 日時・会場\n"
        "\n"
        "- **日時**　11月15日（日）午前9時\n"
        "- 申込は不要です。当日お越しください！\n"
        "\n"
        "| 項目 | 内容 |\n"
        "|---|:---:|\n"
        "| 費用 | 無料 |\n"
        "\n"
        "> 引用です。\n"
        "\n"
        "```\n"
        "コードは訳さない。\n"
        "```\n"
        "\n"
        "詳しくは[防災情報](https://example.jp/a_b/index.html)と `report_2025.pdf` をご覧ください。  \n"
        "1. 番号付き\n"
    )
    got = copy_model(segment_markdown(body, "en"), "en")
    assert got == (
        "## ⟨en⟩ 日時・会場\n"
        "\n"
        "- ⟨en⟩ **日時**　November 15（日）午前9時\n"
        "- ⟨en⟩ 申込は不要です。 ⟨en⟩ 当日お越しください！\n"
        "\n"
        "| ⟨en⟩ 項目 | ⟨en⟩ 内容 |\n"
        "|---|:---:|\n"
        "| ⟨en⟩ 費用 | ⟨en⟩ 無料 |\n"
        "\n"
        "> ⟨en⟩ 引用です。\n"
        "\n"
        "```\n"
        "コードは訳さない。\n"
        "```\n"
        "\n"
        "⟨en⟩ 詳しくは[防災情報](https://example.jp/a_b/index.html)と `report_2025.pdf` をご覧ください。  \n"
        "1. ⟨en⟩ 番号付き\n"
    )


def test_sentences_split_on_japanese_stops_and_lines():
    segments = segment_markdown("一文目です。二文目です！「三文目。」\n四行目？", "en").segments()
    assert [s.source for s in segments] == ["一文目です。", "二文目です！", "「三文目。」", "四行目？"]
    # Chinese joins sentences without a space.
    assert copy_model(segment_markdown("一。二。", "zh"), "zh") == "⟨zh⟩ 一。⟨zh⟩ 二。"


@pytest.mark.parametrize(
    "protected",
    [
        "https://www.city.nerima.tokyo.jp/kurashi/bosai/index.html",
        "https://example.jp/path_with_underscores?q=a_b",
        "koho_info@city.nerima.tokyo.jp",
        "03-3993-1111",
        "3.5km",
        "20%",
        "report_2025.pdf",
        "R9",
        "`code_span()`",
        "〒176-8501",
    ],
)
def test_protected_tokens_pass_through_untouched_without_underscores(protected):
    segment = segment_markdown(f"お知らせ {protected} をご覧ください。", "en").segments()[0]
    assert "_" not in segment.text  # argostranslate would turn it into a space
    assert protected not in segment.text
    # Even when argostranslate (or a model) turns every "_" into a space and adds spaces.
    output = f"⟨en⟩ {segment.text}".replace("_", " ").replace("ZQ1", "ZQ 1")
    assert restore(output, segment) == f"⟨en⟩ お知らせ {protected} をご覧ください。"


def test_dates_are_rendered_in_the_target_language():
    assert copy_model(segment_text("2025年4月1日から", "en"), "en") == "⟨en⟩ April 1, 2025から"
    assert copy_model(segment_text("11月15日", "es"), "es") == "15 de noviembre"  # no letters left to translate
    assert copy_model(segment_text("2月30日", "en"), "en") == "2月30日"  # not a date: kept


def test_text_that_looks_like_a_placeholder_is_protected_too():
    segment = segment_text("型番ZQ1です。", "en").segments()[0]
    assert restore(f"⟨en⟩ {segment.text}", segment) == "⟨en⟩ 型番ZQ1です。"


def test_a_lost_placeholder_is_detected():
    segment = segment_text("電話 03-3993-1111 へ。", "en").segments()[0]
    assert restore("Call us.", segment) is None
    assert restore("ZQ1 ZQ1", segment) is None


def test_link_and_emphasis_spacing_is_repaired():
    segment = segment_markdown("[防災情報](https://x.jp/)と**重要**", "en").segments()[0]
    assert (
        restore("ZQ1 disaster info ZQ2 and ZQ3 important ZQ4", segment)
        == "[disaster info](https://x.jp/) and **important**"
    )


def test_segmenting_and_rendering_the_source_gives_the_source_back():
    for path in sorted((REPO / "content" / "articles").rglob("*.md")):
        body = path.read_text(encoding="utf-8").split("---", 2)[2]
        document = segment_markdown(body, "en")
        assert document.render([s.source for s in document.segments()], "ja").replace(" ", "") == body.replace(
            " ", ""
        ), path.name


# -- glossary -------------------------------------------------------------------------------------


def test_sample_glossary_is_valid_for_all_eight_languages():
    glossary, errors = load_glossary(REPO / "content", LANGUAGES)
    assert errors == []
    assert glossary.for_language("en")["練馬区"] == "Nerima City"
    assert glossary.for_language("en")["区報"] == "Nerima City News"
    assert set(glossary.terms["区民事務所"]) == set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_glossary_terms_are_enforced_in_every_language(language):
    glossary, _ = load_glossary(REPO / "content", LANGUAGES)
    terms = glossary.for_language(language)
    document = segment_text("練馬区の区報と区民事務所のお知らせ。", language, terms)
    assert "練馬区" not in document.segments()[0].text
    got = copy_model(document, language)
    assert got == (f"⟨{language}⟩ {terms['練馬区']}の{terms['区報']}と{terms['区民事務所']}のお知らせ。")


def test_overlapping_glossary_terms_go_to_the_longer_one():
    """練馬区民事務所 is the Nerima branch of the 区民事務所, not 練馬区 + 民事務所: a longer term
    overlapping a shorter one wins even when the shorter starts first; containment as before."""
    terms = {
        "練馬区": "Nerima City",
        "区民事務所": "Residents' Office",
        "区報": "City News",
        "ねりま区報": "Nerima News",
    }
    document = segment_text("練馬区民事務所は土曜日も開庁。練馬区の区報とねりま区報。", "en", terms)
    first, second = document.segments()
    assert first.text == "練馬ZQ1は土曜日も開庁。" and first.tokens[0].value == "Residents' Office"
    assert [t.value for t in second.tokens] == ["Nerima City", "City News", "Nerima News"]


def test_glossary_errors_name_file_line_and_field(tmp_path):
    (tmp_path / "glossary.yaml").write_text(
        "練馬区:\n  en: Nerima City\n  xx1: nope\n区報: just a string\n区民事務所:\n  en: ''\n練馬区:\n  en: again\n",
        encoding="utf-8",
    )
    _, errors = load_glossary(tmp_path, ["en", "th"])
    shown = [f"{Path(e.path).name}:{e.line}: {e.field}: {e.message}" for e in errors]
    assert shown == [
        "glossary.yaml:3: 練馬区.xx1: not a language code such as en or zh",
        "glossary.yaml:1: 練馬区: no rendering for th; add one per target language (KOHO_LANGUAGES), "
        "or the model translates it freely",
        "glossary.yaml:4: 区報: expected renderings per language, e.g. {en: Nerima City, zh: 练马区}",
        "glossary.yaml:6: 区民事務所.en: the rendering must be one line of text",
        "glossary.yaml:5: 区民事務所: no rendering for th; add one per target language (KOHO_LANGUAGES), "
        "or the model translates it freely",
        "glossary.yaml:7: 練馬区: '練馬区' is listed twice (first on line 1)",
    ]


def test_glossary_syntax_error_has_a_line(tmp_path):
    (tmp_path / "glossary.yaml").write_text("練馬区:\n  en: [unclosed\n", encoding="utf-8")
    _, errors = load_glossary(tmp_path, ["en"])
    assert len(errors) == 1 and errors[0].line == 3 and errors[0].field == "yaml"
