"""What `koho publish`, `publish-due` and `build` print: one row per channel, each reason once,
and "Nothing new was sent" only when it is true (ISSUE 11 §4)."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter

import pytest
from typer.testing import CliRunner

from koho.cli import app
from koho.delivery import Receipt, State
from koho.pipeline import Outcome
from koho.report import summarize

runner = CliRunner()
MISSING_TH = (
    "no ja→th translation model is installed: install translate-ja_en and translate-en_th "
    "(pip install -e '.[translate]')"
)


def _rows(output: str) -> dict[str, list[str]]:
    """The summary table's rows by channel: the cells of each line starting with '│ <channel>'."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if line.lstrip().startswith("│") and cells[0] and not cells[0].startswith(("channel", "チャネル")):
            assert cells[0] not in rows, f"two rows for {cells[0]}:\n{output}"
            rows[cells[0]] = cells
    return rows


def test_summary_counts_skips_apart_from_unchanged_and_says_each_reason_once():
    outcomes = []
    for article in ("a", "b", "c"):
        for channel in ("archive", "feeds"):
            outcomes.append(
                Outcome(
                    channel,
                    f"{article} (th)",
                    planned=1,
                    new=1,
                    note=MISSING_TH,
                    receipts=[Receipt.skipped(f"{channel}:translation/th:{article}:r:th", MISSING_TH)],
                )
            )
            unchanged = Receipt.skipped(f"{channel}:x.html:{article}:r:ja", "unchanged: identical bytes already stored")
            outcomes.append(
                Outcome(
                    channel,
                    article,
                    planned=2,
                    new=2,
                    receipts=[Receipt.sent(f"{channel}:y:{article}:r:ja", "etag"), unchanged],
                    tally=Counter({State.SENT: 1, State.SKIPPED: 1}),
                )
            )
    summary = summarize(outcomes)
    assert [(r.channel, r.sent, r.unchanged, r.skipped) for r in summary.channels] == [
        ("archive", 3, 3, 3),
        ("feeds", 3, 3, 3),
    ]
    assert summary.skipped == {MISSING_TH: (6, ["archive", "feeds"])}


def _koho(workspace, *args: str):
    """The real command in a child process whose argostranslate has no package at all (a fresh
    machine), whatever tiny models earlier tests installed in this session's argos home."""
    import os
    import subprocess
    import sys
    from types import SimpleNamespace

    from prefect.settings import PREFECT_API_URL

    empty = workspace / "no-models"
    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "COLUMNS": "400",
        "XDG_DATA_HOME": str(empty / "data"),
        "XDG_CONFIG_HOME": str(empty / "config"),
        "XDG_CACHE_HOME": str(empty / "cache"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "koho.cli", *args], capture_output=True, text=True, env=env, timeout=600
    )
    return SimpleNamespace(exit_code=done.returncode, output=done.stdout + done.stderr)


@pytest.mark.usefixtures("prefect_harness")
def test_publish_prints_a_row_per_channel_and_a_missing_model_once_per_language(workspace, monkeypatch):
    monkeypatch.setenv("KOHO_LANGUAGES", "en,th")  # the child's argostranslate has no model
    monkeypatch.setenv("KOHO_CHANNELS", "archive,feeds")
    first = _koho(workspace, "publish")
    assert first.exit_code == 0, first.output
    rows = _rows(first.output)
    assert set(rows) == {"archive", "feeds"}, first.output
    header = ["channel", "sent", "unchanged", "skipped", "failed", "pending", "uncertain", "note"]
    archive = dict(zip(header, rows["archive"], strict=True))
    assert int(archive["sent"]) > 0 and int(archive["skipped"]) > 0, first.output
    # Nothing was on the site before, so the only file a first publish can find unchanged is the
    # sitemap index: each article's plan renders it, and it stays byte for byte the same for an
    # article that moves no sitemap file's lastmod.
    with sqlite3.connect(workspace / ".koho" / "koho.db") as db:
        unchanged = db.execute(
            "SELECT target FROM deliveries WHERE channel = 'archive' AND detail LIKE 'unchanged:%'"
        ).fetchall()
    assert {target for (target,) in unchanged} <= {"sitemap.xml"}, unchanged
    assert archive["unchanged"] == str(len(unchanged)), first.output
    for language in ("en", "th"):
        said = [line for line in first.output.splitlines() if f"no ja→{language} translation model" in line]
        assert len(said) == 1 and "Skipped" in said[0], first.output
    assert "pip install -e '.[translate]'" in first.output or "koho translations install" in first.output
    assert "Nothing new was sent" not in first.output

    details = _koho(workspace, "publish", "--details")
    assert details.exit_code == 0, details.output
    assert "conbini-kofu-service" in details.output and "nothing to send: already delivered" in details.output
    again = _koho(workspace, "publish")
    assert again.exit_code == 0 and "Nothing new was sent: every planned delivery" in again.output, again.output
    assert {row[3] for row in _rows(again.output).values()} == {"0"}, "the skips were said in the first run only"


def test_dry_run_says_what_it_would_send_never_nothing_new(workspace):
    result = runner.invoke(app, ["publish", "--dry-run"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    would = re.search(r"Dry run: would send (\d+) new deliveries; nothing was written\.", result.output)
    assert would and int(would.group(1)) > 0, result.output
    assert "Nothing new was sent" not in result.output
    rows = _rows(result.output)
    assert int(rows["archive"][2]) > 0 and len(rows) == len(set(rows)), result.output
    assert not (workspace / "public").exists()


@pytest.mark.usefixtures("prefect_harness")
def test_an_embargoed_article_says_when_it_goes_out(workspace, cli_env):
    embargoed = next((workspace / "content" / "articles").rglob("nerima-hotline-2026-12.md"))
    for args in (["publish", str(embargoed)], ["publish", "--dry-run", str(embargoed)]):
        result = runner.invoke(app, args, env={"COLUMNS": "300"})
        assert result.exit_code == 0, result.output
        assert (
            "nerima-hotline-2026-12: embargoed until 2026-11-30 09:00 JST; publish-due sends it then." in result.output
        ), result.output
        assert "Nothing new was sent" not in result.output
