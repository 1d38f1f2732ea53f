"""The koho command speaks Japanese when the locale is Japanese and English otherwise, from the
gettext catalog koho/locale/ja/LC_MESSAGES/koho.po (English msgids, compiled in memory by Babel)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from koho import cli_words
from koho.cli import app

REPO = Path(__file__).resolve().parents[1]
PO = REPO / "koho" / "locale" / "ja" / "LC_MESSAGES" / "koho.po"
#: The modules whose words the command prints, and how they mark them (see the .po's header).
MARKED = (
    "koho/cli.py",
    "koho/cli_redrive.py",
    "koho/alerts.py",
    "koho/report.py",
    "koho/article.py",
    "koho/frontmatter.py",
    "koho/reader.py",
    "koho/cli_preview.py",
    "flows/preview.py",
    "flows/preview_page.py",
)
KEYWORDS = {"_": None, "N_": None, "phrase": None, "Phrase": None, "_failed": (4,), "said": (4,)}
BROKEN = '---\ntitle: "防災訓練\npublish_at: 2026-11-01 09:00\n---\n本文\n'
WRONG_TYPE = "---\ntitle: 防災訓練\npublish_at: 2026-11-01 09:00\ntopics: bousai\n---\n本文\n"


def _koho(*args: str, cwd: Path, lang: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANGUAGE")}
    env.update(LANG=lang, PYTHONPATH=str(REPO), COLUMNS="250")
    return subprocess.run(
        [sys.executable, "-m", "koho.cli", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def test_check_speaks_japanese_in_a_japanese_locale_and_english_otherwise(workspace):
    articles = workspace / "content" / "articles"
    (articles / "broken.md").write_text(BROKEN, encoding="utf-8")
    (articles / "typed.md").write_text(WRONG_TYPE, encoding="utf-8")

    ja = _koho("check", cwd=workspace, lang="ja_JP.UTF-8")
    assert ja.returncode == 1, ja.stderr
    assert "broken.md:2: フロントマター: YAML として読めません: ここで開いた引用符が閉じられていません" in ja.stderr, (
        ja.stderr
    )
    assert (
        "typed.md:4: topics: [bousai, kurashi] のような分野キーのリスト を書いてください。"
        "書かれているのは 文字列 'bousai' です"
    ) in ja.stderr, ja.stderr
    assert "2 件のエラー。" in ja.stderr and "error" not in ja.stderr and "Traceback" not in ja.stderr

    en = _koho("check", cwd=workspace, lang="C.UTF-8")
    assert en.returncode == 1, en.stderr
    assert "broken.md:2: front matter: this is not valid YAML: a quote opened here is never closed" in en.stderr
    assert (
        "typed.md:4: topics: expected a list of topic keys such as [bousai, kurashi]; got the text 'bousai'"
        in en.stderr
    ), en.stderr
    assert "2 error(s)." in en.stderr and not re.search("[ぁ-んァ-ン]", en.stderr.replace("防災訓練", ""))


def test_tables_and_run_messages_follow_the_locale(workspace, monkeypatch):
    for name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    ja = runner.invoke(app, ["publish", "--dry-run"], env={"LANG": "ja_JP.UTF-8", "COLUMNS": "250"})
    assert ja.exit_code == 0, ja.output
    assert "チャネル" in ja.output and "送信予定" in ja.output and "試行(dry run): 新しい配信" in ja.output
    assert "サイト: " in ja.output and "台帳: " in ja.output
    en = runner.invoke(app, ["publish", "--dry-run"], env={"LANG": "en_US.UTF-8", "COLUMNS": "250"})
    assert "would send" in en.output and "Dry run: would send" in en.output and "チャネル" not in en.output
    ok = runner.invoke(app, ["check"], env={"LC_ALL": "ja_JP.UTF-8", "LANG": "C"})
    assert ok.exit_code == 0 and "件の記事に問題はありません" in ok.output, ok.output


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"LANG": "ja_JP.UTF-8"}, "ja"),
        ({"LANG": "ja"}, "ja"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({}, "en"),
        ({"LANG": "ja_JP.UTF-8", "LC_ALL": "C"}, "en"),
        ({"LANG": "C", "LC_MESSAGES": "ja_JP.eucJP"}, "ja"),
        ({"LANG": "en_GB.UTF-8", "LC_ALL": "ja_JP.UTF-8"}, "ja"),
    ],
)
def test_language_comes_from_lc_all_then_lc_messages_then_lang(monkeypatch, env, expected):
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli_words.language() == expected


def test_every_marked_message_has_a_japanese_entry_with_the_same_placeholders():
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    found = set()
    for module in MARKED:
        for _line, message, _comments, _context in extract_from_file("python", REPO / module, keywords=KEYWORDS):
            if isinstance(message, str):
                found.add(message)
    assert found, "nothing extracted"
    missing = sorted(m for m in found if not catalog.get(m) or not catalog.get(m).string or catalog.get(m).fuzzy)
    assert missing == [], missing
    fields = re.compile(r"\{(\w+)\}")
    for message in catalog:
        if message.id and message.string:
            assert set(fields.findall(message.id)) == set(fields.findall(message.string)), message.id
