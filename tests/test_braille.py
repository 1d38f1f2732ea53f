"""The braille edition: a golden set worked out by hand from 日本点字表記法 (2018), the
back-translation round trip over every sample article, and the page layout.

Each golden case gives the print, the braille as dot numbers written by hand (one group of dot
digits per cell, ``/`` for a blank cell) and the rule it shows. The dot numbers are turned into
Unicode cells by bit arithmetic alone (``_dots``), never through the tables under test.

The cells used, from the rules (第1章 仮名, 第2章 数字・アルファベット, 第3章 記号):
ア1 イ12 ウ14 エ124 オ24 · カ行 +6 · サ行 +56 · タ行 +35 · ナ行 +3 · ハ行 +36 · マ行 +356 ·
ラ行 +5 · ヤ34 ユ346 ヨ345 · ワ3 ヲ35 ン356 · 促音符 2 · 長音符 25 · 濁音符 5 · 半濁音符 6 ·
拗音符 4 · 拗濁音符 45 · 拗半濁音符 46 · 特殊音符 26 · 数符 3456 · 数字 1–0 = a–j · 位取り点 3 ·
小数点 2 · 外字符 56 · 大文字符 6 · 第1つなぎ符 36 · 外国語引用符 236…356 · 句点 256 ·
読点 56 · 疑問符 26 · 感嘆符 235 · 中点 5 · 第1カギ 36…36 · 第1カッコ 2356…2356 · 波線 36 36.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from koho.bulletin import BulletinIssue, issues_of
from koho.channel import PlanContext
from koho.delivery import State
from tests.clock import PINNED_NOW

pytest.importorskip("pyopenjtalk", reason="the accessible extra: pip install -e '.[accessible]'")

from channels.braille.back import back_translate  # noqa: E402
from channels.braille.cells import braille, written  # noqa: E402
from channels.braille.edition import article_blocks, build, read_blocks  # noqa: E402
from channels.braille.layout import CELLS_PER_LINE, LINES_PER_PAGE, Block, brf, paginate  # noqa: E402
from koho.reader import read_corpus  # noqa: E402
from koho.reading_dictionary import load_reading_dictionary  # noqa: E402
from koho.readings import read  # noqa: E402
from koho.site import load_site  # noqa: E402

CONTENT = Path(__file__).resolve().parent.parent / "content"
DICTIONARY = {"光が丘": "ヒカリガオカ", "石神井公園": "シャクジイ コウエン", "練馬区": "ネリマク"}


def _dots(spec: str) -> str:
    """Hand-written dot numbers -> Unicode braille: ``"136 13 / 2346"`` (``/`` is a blank)."""
    return "".join(chr(0x2800 + sum(1 << (int(d) - 1) for d in group if d != "/")) for group in spec.split())


# (print, expected dots, expected print form of the braille, rule)
GOLDEN = [
    # 仮名 (清音): one cell each
    ("さくら", "156 146 15", "サクラ", "清音: サ156 ク146 ラ15"),
    ("夏休み", "13 1345 34 1456 12356", "ナツヤスミ", "清音; 2拍+3拍の複合語は続ける (切れ続き)"),
    ("花を見る", "136 13 35 / 12356 145", "ハナヲ ミル", "助詞「を」はヲ35; 自立語の前で区切る"),
    # 濁音, 半濁音: the prefix cell first
    ("電話", "5 12345 356 3", "デンワ", "濁音符5+テ; ン356; ワ3"),
    ("ごみ", "5 246 12356", "ゴミ", "濁音符5+コ"),
    ("パン", "6 136 356", "パン", "半濁音符6+ハ"),
    ("ポスター", "6 2346 1456 135 25", "ポスター", "半濁音符6+ホ; 長音符25"),
    # 拗音, 拗濁音, 拗半濁音: the prefix then the ア/ウ/オ段 kana of the row
    ("図書館", "2345 4 2456 16 356", "トショカン", "拗音符4+ソ=ショ"),
    ("今日", "4 246 25", "キョー", "拗音符4+コ=キョ; オ段の長音は長音符"),
    ("牛乳", "45 146 25 4 134 25", "ギューニュー", "拗濁音符45+ク=ギュ; 拗音符4+ヌ=ニュ"),
    ("病院", "45 2346 25 12 356", "ビョーイン", "拗濁音符45+ホ=ビョ"),
    ("発表", "136 2 46 2346 25", "ハッピョー", "促音符2; 拗半濁音符46+ホ=ピョ"),
    ("チャイム", "4 135 12 13456", "チャイム", "拗音符4+タ=チャ"),
    # 特殊音
    ("ファイル", "26 136 12 145", "ファイル", "特殊音符26+ハ=ファ"),
    ("フォーク", "26 2346 25 146", "フォーク", "特殊音符26+ホ=フォ; 長音符"),
    ("ティッシュ", "4 1235 2 4 1456", "ティッシュ", "拗音符4+チ=ティ; 促音符; 拗音符4+ス=シュ"),
    ("パーティー", "6 136 25 4 1235 25", "パーティー", "半濁音; 長音符; ティ"),
    # 長音: ウ/オ段は長音符, エ段はイ, 「おお」はオ
    ("ボール", "5 2346 25 145", "ボール", "外来語の長音符"),
    ("お父さん", "24 2345 25 156 356", "オトーサン", "オ段の長音「とう」は長音符"),
    ("先生", "12456 356 12456 12", "センセイ", "エ段の長音はイと書く"),
    ("大きい", "24 24 126 12", "オオキイ", "「おお」「きい」は書いたとおり"),
    ("空気", "146 25 126", "クーキ", "ウ段の長音は長音符"),
    # 促音
    ("切手", "126 2 12345", "キッテ", "促音符2"),
    ("学校", "5 16 2 246 25", "ガッコー", "促音符; オ段の長音"),
    # 助詞は/へ/を: as pronounced (ワ/エ), を stays ヲ
    ("私は行く", "3 135 1256 3 / 12 146", "ワタシワ イク", "助詞「は」はワ; 助詞は前に続け, 自立語の前で区切る"),
    ("学校へ行く", "5 16 2 246 25 124 / 12 146", "ガッコーエ イク", "助詞「へ」はエ"),
    ("本を読む", "2346 356 35 / 345 13456", "ホンヲ ヨム", "助詞「を」はヲ"),
    ("こんにちは", "246 356 123 1235 3", "コンニチワ", "あいさつの「は」もワ"),
    # 分かち書き: 自立語ごとに区切り, 付属語は続ける
    ("雨が降る", "1 123456 5 16 / 1346 145", "アメガ フル", "助詞「が」は続け, 動詞の前で区切る"),
    ("水を飲みます", "12356 5 1456 35 / 234 12356 1356 1456", "ミズヲ ノミマス", "助動詞「ます」は続ける"),
    ("大きな家", "24 24 126 13 / 12 124", "オオキナ イエ", "連体詞の後で区切る"),
    ("きれいな花", "126 1245 12 13 / 136 13", "キレイナ ハナ", "形容動詞の後で区切る"),
    ("行きました", "12 126 1356 1256 135", "イキマシタ", "助動詞「まし」「た」は続ける"),
    ("見てください", "12356 12345 / 146 5 135 156 12", "ミテ クダサイ", "補助用言「ください」は区切る"),
    # 切れ続き: 複合語の中の3拍以上の成分の間は区切る
    ("防災訓練", "5 2346 25 156 12 / 146 356 1245 356", "ボーサイ クンレン", "3拍以上+3拍以上は区切る"),
    ("区役所", "146 34 146 4 2456", "クヤクショ", "1拍の「区」は続ける"),
    (
        "国民健康保険",
        "246 146 12356 356 / 1246 356 246 25 / 2346 1246 356",
        "コクミン ケンコー ホケン",
        "3拍以上の成分ごとに区切る",
    ),
    ("交通安全", "246 25 1345 25 / 1 356 5 12456 356", "コーツー アンゼン", "3拍以上+3拍以上は区切る"),
    # 数符: 数符を前置し, 助数詞は発音どおり続ける
    ("3人", "3456 14 123 356", "3ニン", "数符3456+3(14); 助数詞は続ける"),
    ("100個", "3456 1 245 245 246", "100コ", "数符は一続きの数に一つ; 助数詞は発音どおり (ヒャッコ)"),
    ("2026年", "3456 12 245 12 124 1234 356", "2026ネン", "4桁は一続き"),
    ("1,000円", "3456 1 3 245 245 245 36 124 356", "1,000エン", "位取り点3; エの前に第1つなぎ符"),
    ("3.5キロ", "3456 14 2 15 126 245", "3.5キロ", "小数点2"),
    ("5回", "3456 15 16 12", "5カイ", "カ行はつなぎ符なしで続ける"),
    # 第1つなぎ符: 数字の後のア行・ラ行
    ("1位", "3456 1 36 12", "1イ", "数字の後のイ: 第1つなぎ符36"),
    ("500円", "3456 15 245 245 36 124 356", "500エン", "数字の後のエ: 第1つなぎ符"),
    ("3列", "3456 14 36 1245 1345", "3レツ", "数字の後のラ行: 第1つなぎ符"),
    # 日付, 時刻, 年, 電話番号
    ("11月15日", "3456 1 1 5 16 1345 / 3456 1 15 123 1235", "11ガツ 15ニチ", "月と日の間で区切る"),
    ("4月1日", "3456 145 5 16 1345 / 1345 12 135 1235", "4ガツ ツイタチ", "4月は数符4ガツ (シガツ); ついたちは仮名"),
    ("14日", "3456 1 145 16", "14カ", "14日・24日は数符で14カ (ジューヨッカ)"),
    ("2日", "1346 1345 16", "フツカ", "2日〜10日・20日は数符を使わず仮名"),
    ("土・日曜日", "5 2345 5 / 123 1235 345 25 5 1236", "ド・ ニチヨービ", "曜日の略の土はド; 中点5の後は1マス"),
    ("令和9年", "1245 12 3 / 3456 24 1234 356", "レイワ 9ネン", "元号と年数の間で区切る; エ段の長音イ"),
    (
        "午前10時30分",
        "5 246 5 12456 356 / 3456 1 245 5 1256 / 3456 14 245 6 1346 356",
        "ゴゼン 10ジ 30プン",
        "時と分の間で区切る; 助数詞は発音どおり (プン)",
    ),
    (
        "03-3993-1111",
        "3456 245 14 36 3456 14 24 24 14 36 3456 1 1 1 1",
        "03-3993-1111",
        "電話番号: 区切りのハイフンは第1つなぎ符, その後に数符",
    ),
    (
        "電話は03-3993-1111です",
        "5 12345 356 3 3 / 3456 245 14 36 3456 14 24 24 14 36 3456 1 1 1 1 5 12345 1456",
        "デンワワ 03-3993-1111デス",
        "数字の後の「です」(濁音符から)はつなぎ符なし",
    ),
    # 外字符, 大文字符, 外国語引用符
    ("AED", "56 6 6 1 15 145", "AED", "外字符56; 二重大文字符66"),
    ("ATMで", "56 6 6 1 2345 134 / 5 12345", "ATM デ", "アルファベットの後の助詞は区切る"),
    ("NPO法人", "56 6 6 1345 1234 135 / 2346 25 5 1256 356", "NPO ホージン", "アルファベットとの複合語は区切る"),
    ("Aさん", "56 6 1 36 156 356", "Aサン", "アルファベットの後の接尾語: 第1つなぎ符"),
    (
        "Nerima City",
        "236 6 1345 15 1235 24 134 1 / 6 14 24 2345 13456 356",
        "Nerima City",
        "外国語引用符236…356; 大文字符6",
    ),
    # 句読点, 記号とマスあけ
    ("はい、そうです。", "136 12 56 / 2456 25 5 12345 1456 256", "ハイ、 ソーデス。", "読点56の後は1マス; 句点256"),
    ("雨。風。", "1 123456 256 / / 16 5 12456 256", "アメ。  カゼ。", "句点の後は2マスあけ"),
    ("本当？", "2346 356 2345 25 26", "ホントー?", "疑問符26は前に続ける"),
    ("火事だ！", "16 5 1256 5 135 235", "カジダ!", "感嘆符235は前に続ける"),
    ("「はい」と言う", "36 136 12 36 2345 / 12 14", "「ハイ」ト イウ", "第1カギ36…36; 「言う」はイウ"),
    ("防災・防犯", "5 2346 25 156 12 5 / 5 2346 25 136 356", "ボーサイ・ ボーハン", "中点5の後は1マス"),
    ("10時〜12時", "3456 1 245 5 1256 36 36 3456 1 12 5 1256", "10ジ~12ジ", "波線36 36は前後に続け, 数符を繰り返す"),
    ("続く", "1345 5 1345 146", "ツヅク", "同音の連呼の「づ」はヅ"),
    # 読みの辞書: the ward's reading wins, a blank in it is 切れ続き
    ("光が丘で", "1236 16 125 5 16 24 16 5 12345", "ヒカリガオカデ", "辞書の読み; 助詞は続ける"),
    ("石神井公園", "4 156 146 5 1256 12 / 246 25 124 356", "シャクジイ コーエン", "辞書の読みの切れ目で区切る"),
    ("練馬区役所", "1234 125 1356 146 / 34 146 4 2456", "ネリマク ヤクショ", "辞書の語の後の3拍以上の語は区切る"),
]


@pytest.mark.parametrize(("text", "dots", "print_form", "rule"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden(text: str, dots: str, print_form: str, rule: str) -> None:
    tokens = read(text, DICTIONARY)
    assert written(tokens) == print_form, rule
    assert braille(tokens) == _dots(dots), rule
    assert back_translate(braille(tokens)) == print_form, rule


def test_golden_set_covers_every_rule() -> None:
    assert len(GOLDEN) >= 60
    assert len({g[0] for g in GOLDEN}) == len(GOLDEN)


def test_back_translation_equals_the_reading_for_every_sample_article() -> None:
    corpus = read_corpus(CONTENT, load_site(CONTENT))
    dictionary, errors = load_reading_dictionary(CONTENT)
    assert not errors and dictionary.readings
    blocks = 0
    for article in sorted(corpus.articles.values(), key=lambda a: a.id):
        for _level, tokens in read_blocks(article_blocks(article), dictionary):
            assert back_translate(braille(tokens)) == written(tokens), article.id
            blocks += 1
    assert blocks > 100


def test_pages_are_32_cells_by_22_lines_with_page_numbers() -> None:
    paragraph = read("区役所は11月15日に防災訓練を行います。" * 40, DICTIONARY)
    edition = build([(1, read("防災訓練のお知らせ", DICTIONARY)), (0, paragraph), (2, read("問い合わせ", DICTIONARY))])
    assert len(edition.pages) >= 2
    for number, page in enumerate(edition.pages, start=1):
        assert len(page) == LINES_PER_PAGE
        assert all(len(line) == CELLS_PER_LINE for line in page)
        label = _dots("3456 " + " ".join({"1": "1", "2": "12", "3": "14"}[d] for d in str(number)))
        assert page[0].endswith(label) and page[0][: -len(label)].strip("\u2800") == ""
    first = edition.pages[0]
    assert first[1].startswith("\u2800" * 6) and not first[1][6] == "\u2800"  # a 大見出し at the 7th cell
    assert first[2].startswith("\u2800" * 2) and first[2][2] != "\u2800"  # a paragraph at the 3rd
    text_lines = [line for page in edition.pages for line in page[1:] if line.strip("\u2800")]
    # Lines break between words: no line ends inside a word that the next line continues.
    joined = "\u2800".join(line.strip("\u2800") for line in text_lines[1:-1])
    assert back_translate(joined).replace(" ", "") == written(paragraph).replace(" ", "")


def test_heading_is_never_alone_at_the_foot_of_a_page() -> None:
    filler = [Block("paragraph", _dots("1 " * 30)) for _ in range(20)]  # 20 one-line paragraphs
    pages = paginate([*filler, Block("heading", _dots("16 " * 5), 2), Block("paragraph", _dots("1 " * 30))])
    assert pages[1][1].startswith("\u2800" * 4)  # the heading moved to page 2 with its paragraph


def test_brf_is_north_american_ascii_braille() -> None:
    pages = paginate([Block("paragraph", _dots("3456 1 / 56 1 12 / 256"))])
    data = brf(pages)
    assert data.startswith(b"                              #A\r\n")
    assert b"  #A ;AB 4\r\n" in data  # 数符 #, a A, 外字符 ;, 句点 4 (dots 256)
    assert data.count(b"\r\n") == LINES_PER_PAGE


def _issue() -> tuple[BulletinIssue, PlanContext]:
    """The latest sample issue at the pinned test time, and a planning context for it."""
    corpus = read_corpus(CONTENT, load_site(CONTENT))
    issue = issues_of(corpus.articles.values(), corpus.site, PINNED_NOW)[-1]
    return issue, PlanContext(corpus.site, PINNED_NOW, {a.id: a for a in issue.articles})


def test_the_channel_writes_brf_and_unicode_braille_per_issue(tmp_path: Path) -> None:
    from channels.braille import BrailleChannel

    issue, ctx = _issue()
    channel = BrailleChannel(f"file://{tmp_path}/public", CONTENT)
    plan = channel.plan_issue(issue, ctx)
    day = issue.day.isoformat()
    assert [d.target for d in plan] == [f"braille/{day}/kuho-{day}.brf", f"braille/{day}/kuho-{day}.txt"]
    assert {(d.article_id, d.revision, d.language) for d in plan} == {(issue.id, issue.revision, "ja")}
    assert plan == channel.plan_issue(issue, ctx)  # pure: the same plan twice
    assert all(r.state == State.SENT for r in channel.deliver(plan))
    pages = (tmp_path / "public" / plan[1].target).read_text(encoding="utf-8").split("\f")
    assert len(pages) > 1 and all(len(p.splitlines()) == LINES_PER_PAGE for p in pages)
    assert (tmp_path / "public" / plan[0].target).read_bytes().isascii()
    assert channel.plan(issue.articles[0], ctx) == []  # per issue only
    english = BulletinIssue(issue.day, issue.appears_at, tuple(replace(a, language="en") for a in issue.articles))
    assert channel.plan_issue(english, ctx) == []  # the braille edition is Japanese


def test_without_the_extra_the_issue_is_skipped_with_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import channels.braille as braille_channel

    monkeypatch.setattr(braille_channel, "available", lambda: False)
    issue, ctx = _issue()
    channel = braille_channel.BrailleChannel(f"file://{tmp_path}/public", CONTENT)
    (row,) = channel.plan_issue(issue, ctx)
    assert row.revision != issue.revision  # once the extra is installed, the real edition is a new row
    (receipt,) = channel.deliver([row])
    assert receipt.state == State.SKIPPED and "pip install -e '.[accessible]'" in (receipt.detail or "")
    assert not (tmp_path / "public").exists() or not list((tmp_path / "public").rglob("*"))
