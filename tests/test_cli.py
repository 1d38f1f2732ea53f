"""The koho command as PR staff and operators use it: clear errors, exit codes, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from koho.cli import app

runner = CliRunner()


def test_check_passes_on_samples(workspace):
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "article(s) valid" in result.output


def test_check_lists_every_error_without_traceback(workspace):
    bad = workspace / "content" / "articles" / "bad.md"
    bad.write_text("---\ntitel: x\npublish_at: 2026-11-01\nbulletin: 2026-11-02\n---\n本文\n", encoding="utf-8")
    (workspace / "content" / "articles" / "sjis.md").write_bytes("---\ntitle: 防災\n".encode("shift_jis"))
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.endswith("bad.md:2: titel: unknown field; did you mean 'title'?") for line in lines), lines
    assert any("bad.md:4: bulletin: 2026-11-02 is not a 区報 issue date" in line for line in lines)
    assert any("sjis.md:2: file: not valid UTF-8" in line for line in lines)
    assert "Traceback" not in result.output


def test_check_of_one_path_reports_only_that_file(workspace):
    (workspace / "content" / "articles" / "bad.md").write_text("no front matter\n", encoding="utf-8")
    good = next((workspace / "content" / "articles").rglob("conbini-kofu-service.md"))
    assert runner.invoke(app, ["check", str(good)]).exit_code == 0
    assert runner.invoke(app, ["check"]).exit_code == 1


def test_publish_refuses_bad_content_before_starting(workspace):
    (workspace / "content" / "articles" / "bad.md").write_text("---\ntitle: x\n", encoding="utf-8")
    result = runner.invoke(app, ["publish"])
    assert result.exit_code == 1
    assert "bad.md:1: front matter: the front matter is not closed" in result.output
    assert "nothing was published" in result.output
    assert not (workspace / "public").exists()


def test_dry_run_writes_nothing(workspace):
    result = runner.invoke(app, ["publish", "--dry-run"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Dry run: would send" in result.output and "nothing was written" in result.output
    details = runner.invoke(app, ["publish", "--dry-run", "--details"], env={"COLUMNS": "200"})
    assert details.exit_code == 0, details.output
    assert "would write: articles/" in details.output
    assert not (workspace / "public").exists()


def test_status_of_empty_ledger_and_unknown_article(workspace):
    assert "The ledger is empty" in runner.invoke(app, ["status"]).output
    result = runner.invoke(app, ["status", "no-such-article"])
    assert result.exit_code == 1 and "No deliveries recorded" in result.output


def koho(*args: str, cwd, api_url: str | None = None) -> subprocess.CompletedProcess:
    """Run the real console command in a child process (as an operator would)."""
    env = {**os.environ, "COLUMNS": "250"}
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return subprocess.run(
        [sys.executable, "-m", "koho.cli", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


@pytest.mark.usefixtures("prefect_harness")
def test_publish_then_status(workspace):
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    result = koho("publish", cwd=workspace, api_url=api)
    assert result.returncode == 0, result.stderr
    assert (workspace / "public" / "index.html").is_file()
    assert "Traceback" not in result.stderr and "Site: file://" in result.stdout
    overview = koho("status", cwd=workspace).stdout
    assert "conbini-kofu-service" in overview and "archive" in overview and "feeds" in overview
    detail = koho("status", "conbini-kofu-service", cwd=workspace).stdout
    assert "articles/conbini-kofu-service/index.html" in detail and "sha256:" in detail
    again = koho("publish", cwd=workspace, api_url=api)
    assert again.returncode == 0 and "Nothing new was sent" in again.stdout, again.stdout + again.stderr


def test_unknown_channel_is_a_clear_error(workspace):
    result = koho("publish", "--dry-run", "-c", "fax", cwd=workspace)
    assert result.returncode == 2
    assert "unknown channel(s): fax" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "env, args, expected",
    [
        (
            {"KOHO_ARCHIVE_URL": "ftp://example.jp/site"},
            ["publish"],
            "configuration error: 'ftp://example.jp/site': unknown store",
        ),
        ({"KOHO_ARCHIVE_URL": "s3:///no-bucket"}, ["build"], "an s3:// URL needs a bucket"),
        ({"KOHO_MAIL_URL": "smtp://user:pw@127.0.0.1:25"}, ["publish-due"], "put SMTP credentials in KOHO_SMTP_USER"),
        (
            {"KOHO_MAIL_RETENTION_DAYS": "a month"},
            ["subscribers", "count"],
            "configuration error: KOHO_MAIL_RETENTION_DAYS: Input should be a valid integer",
        ),
        ({"KOHO_MAIL_URL": "smtp://127.0.0.1:port"}, ["publish"], "configuration error: 'smtp://127.0.0.1:port'"),
        ({"KOHO_DATABASE_URL": "not a url"}, ["publish"], "KOHO_DATABASE_URL is not a database URL"),
        (
            {"KOHO_DATABASE_URL": "postgresql://koho:pw@127.0.0.1:1/koho"},
            ["status"],
            "cannot open the ledger database postgresql+psycopg://koho:***@127.0.0.1:1/koho",
        ),
        ({}, ["publish", "content/articles/nope.md"], "error: no articles under content/articles/nope.md"),
    ],
)
def test_configuration_mistakes_stop_before_anything_is_written(workspace, monkeypatch, env, args, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = koho(*args, cwd=workspace)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.stderr and "pw@" not in result.stderr
    assert not (workspace / "public").exists() and not (workspace / "outbox").exists()
    if "KOHO_DATABASE_URL" not in env:
        from koho.ledger import Ledger
        from koho.settings import Settings

        monkeypatch.delenv("KOHO_MAIL_RETENTION_DAYS", raising=False)  # the mistake under test
        assert Ledger(Settings().db_url()).rows() == []


def test_a_damaged_ledger_is_one_line_and_exit_code_4(workspace):
    """A ledger database that fails under a command (damaged file, full disk, server gone) is
    one line in plain words with exit code 4, never a traceback."""
    import subprocess
    import sys

    state = workspace / ".koho"
    state.mkdir(exist_ok=True)
    (state / "koho.db").write_bytes(b"not a database " * 100)
    result = subprocess.run(
        [sys.executable, "-m", "koho.cli", "status"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "COLUMNS": "200"},
    )
    assert result.returncode == 4, result.stdout + result.stderr
    assert "ledger database error: file is not a database" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
