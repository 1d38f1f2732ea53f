"""The run driver (flows/driver.py) with plain steps: what the dry run and the benchmarks use.

A dry run goes through the same driver as the flows, translations included, and leaves no
trace; a build rebuilds files and never sends an issue's digest or broadcast.
"""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from channels import registry
from flows import driver
from flows.steps import Steps
from koho.cli import app
from koho.ledger import Ledger
from koho.settings import Settings
from tests.test_translations_flow import Probe
from translations.memory import Memory

ARTICLE = "content/articles/2026/sogo-bousai-kunren-2026.md"


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_a_dry_run_lists_the_translations_it_would_publish_and_leaves_no_trace(workspace, argos_home, monkeypatch):
    monkeypatch.setenv("KOHO_LANGUAGES", "en,ko,fr")  # no tiny model translates into French
    # The probe takes French too, which no tiny model translates into: a skip it would record.
    monkeypatch.setitem(registry.REGISTRY, "probe", lambda settings, base: Probe(workspace))
    monkeypatch.setenv("KOHO_CHANNELS", "archive,feeds,probe")
    (workspace / "content" / "glossary.yaml").unlink()  # the sample has no French renderings
    state = workspace / ".koho"
    before = files(state)

    result = CliRunner().invoke(app, ["publish", ARTICLE, "--dry-run", "--details"], env={"COLUMNS": "300"})

    assert result.exit_code == 0, result.output
    for label in ("sogo-bousai-kunren-2026 (en)", "sogo-bousai-kunren-2026 (ko)"):
        assert label in result.output
    assert "would write: en/articles/sogo-bousai-kunren-2026/" in result.output
    assert re.search(r"sogo-bousai-kunren-2026 \(fr\) +│ probe +│ 0 .*│ would skip: .*translate-", result.output)
    assert "Dry run: would send" in result.output
    assert not (workspace / "public").exists() and not (workspace / "probe").exists()
    ledger = Ledger(Settings().db_url())
    try:
        assert ledger.rows() == []
        assert Memory(ledger.engine).count() == 0  # translated, but nothing kept for a later run
    finally:
        ledger.close()
    assert not (state / "cache" / "translations.sqlite3").exists()
    # What a dry run may leave: the parse cache and the (empty) ledger the pre-flight opened.
    assert files(state) - before <= {p for p in files(state) if p.startswith(("cache/articles", "koho.db"))}


def test_a_build_writes_e_books_and_sends_no_digest_or_broadcast(workspace, monkeypatch):
    monkeypatch.setenv("KOHO_CHANNELS", "archive,ebook,mail,line")
    outcomes = driver.run(Settings(), driver.Work(build=True), ["archive", "ebook", "mail", "line"], steps=Steps())

    assert {o.channel for o in outcomes} == {"archive", "ebook"}
    ledger = Ledger(Settings().db_url())
    try:
        assert ledger.rows(channel="ebook") and ledger.rows(channel="archive")
        assert ledger.rows(channel="mail") == [] and ledger.rows(channel="line") == []
    finally:
        ledger.close()
    assert not (workspace / "outbox").exists()
