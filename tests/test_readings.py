"""Readings: the ward's dictionary wins over Open JTalk, numbers stay digits for braille, and a
bad ``reading:`` in the glossary is an error naming the file, the line and the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from koho.reading_dictionary import load_reading_dictionary
from translations.glossary import load_glossary

ROOT = Path(__file__).resolve().parent.parent


def _glossary(tmp_path: Path, text: str) -> Path:
    (tmp_path / "glossary.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_reading_fields_are_read_and_translations_ignore_them(tmp_path: Path) -> None:
    content = _glossary(
        tmp_path,
        "練馬区:\n  reading: ネリマク\n  en: Nerima City\n石神井公園:\n  reading: シャクジイ　コウエン\n",
    )
    dictionary, errors = load_reading_dictionary(content)
    assert errors == []
    assert dictionary.readings == {"練馬区": "ネリマク", "石神井公園": "シャクジイ コウエン"}
    glossary, glossary_errors = load_glossary(content, ["en"])
    assert glossary_errors == []  # reading: is no language, and a reading-only term needs no rendering
    assert glossary.terms == {"練馬区": {"en": "Nerima City"}}


@pytest.mark.parametrize(
    ("value", "message"),
    [("ねりま", "is not katakana"), ("Nerima", "is not katakana"), ("[ネリマ]", "one line of katakana")],
)
def test_a_bad_reading_names_file_line_and_field(tmp_path: Path, value: str, message: str) -> None:
    content = _glossary(tmp_path, f"区報:\n  en: City News\n練馬区:\n  en: Nerima City\n  reading: {value}\n")
    dictionary, errors = load_reading_dictionary(content)
    assert "練馬区" not in dictionary.readings
    assert [(e.path, e.line, e.field) for e in errors] == [
        ((content / "glossary.yaml").as_posix(), 5, "練馬区.reading")
    ]
    assert message in errors[0].message
    assert str(errors[0]).startswith(f"{(content / 'glossary.yaml').as_posix()}:5: 練馬区.reading: ")


def test_koho_check_reports_a_bad_reading(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from koho.cli import app

    content = tmp_path / "content"
    (content / "articles").mkdir(parents=True)
    (content / "glossary.yaml").write_text("練馬区:\n  reading: nerima\n", encoding="utf-8")
    (content / "site.yaml").write_bytes((ROOT / "content" / "site.yaml").read_bytes())
    result = CliRunner().invoke(app, ["check"], env={"KOHO_CONTENT_DIR": str(content), "KOHO_LANGUAGES": ""})
    assert result.exit_code == 1
    assert "glossary.yaml:2: 練馬区.reading:" in result.output + (result.stderr or "")


def test_koho_modules_import_without_open_jtalk() -> None:
    # The reading layer imports Open JTalk on first use only: koho stays fast to import.
    code = "import koho.readings, channels.braille, sys; print('pyopenjtalk' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


pyopenjtalk = pytest.importorskip("pyopenjtalk", reason="the accessible extra: pip install -e '.[accessible]'")

from koho.readings import mora, read  # noqa: E402


def test_the_dictionary_ships_inside_the_wheel() -> None:
    # Nothing is downloaded at run time: the dictionary is a folder of the installed package.
    package = Path(pyopenjtalk.__file__).resolve().parent
    where = pyopenjtalk.OPEN_JTALK_DICT_DIR
    dictionary = Path(where.decode() if isinstance(where, bytes) else where)
    assert dictionary.resolve().is_relative_to(package)
    assert (dictionary / "sys.dic").is_file()


def test_the_dictionary_wins_over_the_model() -> None:
    model = read("大泉学園で")
    assert (model[0].text, model[0].kana, model[0].source) == ("大泉学園", "オオイズミガクエン", "model")
    # A reading unlike the model's (made up here) shows which one wins.
    tokens = read("大泉学園で", {"大泉学園": "ダイセン ガクエン"})
    assert [(t.text, t.kana, t.reading, t.source) for t in tokens] == [
        ("大泉学園", "ダイセン", "ダイセン", "dictionary"),
        ("", "ガクエン", "ガクエン", "dictionary"),
        ("で", "デ", "デ", "model"),
    ]
    assert tokens[-1].pos == "助詞"  # read with the term before it, so で is a particle


def test_the_longest_dictionary_term_wins() -> None:
    tokens = read("練馬区役所", {"練馬": "ネリマ", "練馬区": "ネリマク"})
    assert [(t.text, t.source) for t in tokens][0] == ("練馬区", "dictionary")


def test_numbers_dates_and_times_are_number_tokens_with_digits() -> None:
    tokens = read("11月15日（日）午前10時30分")
    numbers = [(t.text, t.kana, t.reading) for t in tokens if t.kind == "number"]
    assert numbers == [
        ("11", "11", "ジューイチ"),
        ("15", "15", "ジューゴ"),
        ("10", "10", "ジュー"),
        ("30", "30", "サンジュッ"),
    ]
    counters = [t.kana for t in tokens if t.kind == "word"]
    assert counters[:2] == ["ガツ", "ニチ"]
    assert "プン" in counters  # 30分 is said サンジュップン: the counter as pronounced
    assert [t.text for t in tokens if t.kind == "punctuation"] == ["(", ")"]


@pytest.mark.parametrize(
    ("text", "said", "spelled"),
    [
        ("4月", "シガツ", "4ガツ"),  # not ヨンシガツ: the number and the folded counter both read
        ("7月9月", "シチガツクガツ", "7ガツ 9ガツ"),
        ("4月1日から", "シガツツイタチカラ", "4ガツ ツイタチカラ"),  # the first of the month, not イチニチ
        ("1日(土)", "ツイタチドヨービ", "ツイタチ(ドヨービ)"),
        ("1日中", "イチニチジュー", "1ニチジュー"),  # a day's length stays イチニチ
        ("2日", "フツカ", "フツカ"),
        ("20日", "ハツカ", "ハツカ"),
        ("14日", "ジューヨッカ", "14カ"),
        ("24日", "ニジューヨッカ", "24カ"),
        ("土・日曜日", "ドニチヨービ", "ド・ ニチヨービ"),  # not ツチ (soil)
        ("(土・日)", "ドニチ", "(ド・ ニチ)"),
        ("月・水・金曜日", "ゲツスイキンヨービ", "ゲツ・ スイ・ キンヨービ"),
        ("土の上", "ツチノウエ", "ツチノウエ"),  # a lone 土 is still soil
    ],
)
def test_dates_and_weekdays_are_read_as_an_announcer_says_them(text: str, said: str, spelled: str) -> None:
    from channels.braille.cells import written

    tokens = read(text)
    assert "".join(t.reading for t in tokens) == said
    assert written(tokens) == spelled


def test_phone_numbers_are_read_digit_by_digit() -> None:
    (token,) = [t for t in read("電話03-3993-1111") if t.kind == "number"]
    assert token.text == token.kana == "03-3993-1111"
    assert token.reading == "ゼロサンノサンキューキューサンノイチイチイチイチ"
    assert token.source == "rule"


def test_years_of_an_era_and_latin_letters() -> None:
    tokens = read("令和9年にAEDを")
    assert [t.kind for t in tokens] == ["word", "word", "number", "word", "word", "latin", "word"]
    latin = tokens[5]
    assert (latin.text, latin.kana, latin.reading) == ("AED", "AED", "エーイーディー")
    assert "".join(t.kana for t in tokens[:2]) == "レイワ"  # エ段の長音 spelled イ for braille
    assert "".join(t.reading for t in tokens[:2]) == "レーワ"  # and said long


def test_particles_and_long_vowels() -> None:
    tokens = read("東京へは行こう")
    assert "".join(t.kana for t in tokens) == "トーキョーエワイコー"  # へ/は as said, オ段の長音 ー


def test_mora_counts_small_kana_with_the_kana_before() -> None:
    assert mora("キョー") == 2
    assert mora("シャクジイ") == 4


def test_a_volunteers_review_wins_and_survives_a_new_export(tmp_path: Path) -> None:
    import shutil

    from typer.testing import CliRunner

    from koho.cli import app

    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    env = {"KOHO_CONTENT_DIR": str(content), "KOHO_LANGUAGES": ""}
    result = CliRunner().invoke(app, ["readings", "export", "jitensha-tonan-boushi"], env=env)
    assert result.exit_code == 0, result.output
    po = content / "readings" / "jitensha-tonan-boushi.po"
    text = po.read_text(encoding="utf-8")
    assert '#, fuzzy\nmsgid "窃盗"\nmsgstr "セットー"' in text  # the model's guess, not yet reviewed
    assert 'msgid "練馬区"' not in text  # the glossary's reading is no guess
    # A volunteer corrects one reading (made up here, to see it win) and clears its fuzzy flag.
    po.write_text(text.replace('#, fuzzy\nmsgid "窃盗"\nmsgstr "セットー"', 'msgid "窃盗"\nmsgstr "ヌスミ"'), "utf-8")
    dictionary, errors = load_reading_dictionary(content)
    assert errors == [] and dictionary.reviewed == {"窃盗": "ヌスミ"}
    (token,) = [t for t in read("窃盗事件", dictionary.readings, dictionary.reviewed) if t.text == "窃盗"]
    assert (token.kana, token.source) == ("ヌスミ", "review")
    again = CliRunner().invoke(app, ["readings", "export", "jitensha-tonan-boushi"], env=env)
    assert "1 reviewed, 0 new" in again.output
    assert 'msgid "窃盗"\nmsgstr "ヌスミ"' in po.read_text(encoding="utf-8")


def test_a_reviewed_reading_that_is_not_katakana_names_file_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "readings").mkdir()
    po = tmp_path / "readings" / "issue-2026-11-21.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\nmsgid "窃盗"\nmsgstr "せっとう"\n',
        "utf-8",
    )
    dictionary, errors = load_reading_dictionary(tmp_path)
    assert dictionary.reviewed == {}
    assert [(e.path, e.line, e.field) for e in errors] == [(po.as_posix(), 5, "msgstr")]
