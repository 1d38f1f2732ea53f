"""``koho redrive``: failed deliveries sent again once, with who and why recorded; a dry run by
default; racing redrives move each row once; end to end against a loopback fake X whose
credentials were wrong and then fixed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from koho.delivery import Receipt
from koho.ledger import Ledger
from koho.redrive import failed, history, redrive
from koho.settings import Settings
from tests.fakes.x_api import CREDENTIALS, FakeX
from tests.test_ledger import page
from tests.test_ledger_postgres import race


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    return request.getfixturevalue("fresh_postgres_db")


def fail(ledger: Ledger, deliveries, why: str = "X 401: Unauthorized") -> None:
    ledger.record(deliveries)
    ledger.apply([Receipt.failed(d.key, why) for d in deliveries])


def test_only_failed_rows_are_listed_and_filters_narrow_them(ledger_url, clock):
    ledger = Ledger(ledger_url)
    try:
        x = [page(f"post-{n}", article=f"a{n}", channel="x") for n in range(3)]
        fail(ledger, x[:2])
        clock.advance(hours=2)
        fail(ledger, [page("m", article="a9", channel="mail")], "550 no such mailbox")
        ledger.record(x[2:])  # pending: not failed, never listed
        assert [r.article_id for r in failed(ledger)] == ["a0", "a1", "a9"]
        assert [r.article_id for r in failed(ledger, ["x"])] == ["a0", "a1"]
        assert [r.article_id for r in failed(ledger, article_id="a1")] == ["a1"]
        since = clock.now - timedelta(hours=1)
        assert [(r.article_id, r.detail) for r in failed(ledger, since=since)] == [("a9", "550 no such mailbox")]
    finally:
        ledger.close()


def test_a_redrive_makes_rows_pending_once_and_records_who_why_and_the_failure(ledger_url):
    ledger = Ledger(ledger_url)
    try:
        plan = [page(f"post-{n}", article="a", channel="x") for n in range(3)]
        fail(ledger, plan)
        moved = redrive(ledger, failed(ledger), "tanaka", "token renewed")
        assert len(moved) == 3 and failed(ledger) == []
        states = {r["key"]: (r["state"], r["detail"]) for r in ledger.rows()}
        assert set(states.values()) == {("pending", "redriven by tanaka: token renewed")}
        (entry,) = history(ledger, plan[0].key)
        assert (entry["actor"], entry["reason"], entry["failure"]) == ("tanaka", "token renewed", "X 401: Unauthorized")
        assert entry["at"].tzinfo is not None
        assert redrive(ledger, moved, "suzuki", "again") == []  # no longer failed: nothing moved
        assert len(history(ledger, plan[0].key)) == 1
        assert ledger.claim([d.key for d in plan], "run", 60).keys  # the next run sends them
        with pytest.raises(ValueError):
            redrive(ledger, moved, "", "no one")
    finally:
        ledger.close()


def test_two_redrives_at_once_move_each_row_once(ledger_url):
    setup = Ledger(ledger_url)
    plan = [page(f"post-{n}", article="a", channel="x") for n in range(20)]
    fail(setup, plan)
    rows = failed(setup)
    setup.close()
    moved = race(ledger_url, "deliveries", lambda each: redrive(each, rows, "a", "race"), verb="UPDATE")
    assert sorted(len(m) for m in moved) == [0, 20]
    check = Ledger(ledger_url)
    try:
        assert all(len(history(check, d.key)) == 1 for d in plan)
    finally:
        check.close()


# -- end to end ---------------------------------------------------------------------------------

ARTICLE = "sogo-bousai-kunren-2026"


@pytest.fixture
def x_env(workspace, monkeypatch):
    fake = FakeX().start()
    monkeypatch.setenv("KOHO_CHANNELS", "x")
    monkeypatch.setenv("KOHO_X_URL", fake.url)
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(f"KOHO_X_{name.upper()}", value)
    yield fake
    fake.stop()


def ledger_rows() -> list[dict]:
    ledger = Ledger(Settings().db_url())
    try:
        return ledger.rows(channel="x")
    finally:
        ledger.close()


@pytest.mark.usefixtures("prefect_harness")
def test_failed_posts_wait_for_a_person_then_go_out_once(x_env, workspace, monkeypatch):
    from koho.cli import app

    runner = CliRunner()
    env = {"COLUMNS": "250", "LANG": "C.UTF-8"}
    monkeypatch.setenv("KOHO_X_CONSUMER_SECRET", "revoked")
    first = runner.invoke(app, ["publish-due"], env=env)
    assert first.exit_code != 0, first.output
    rows = ledger_rows()
    assert len(rows) > 3 and {r["state"] for r in rows} == {"failed"} and not x_env.posts
    assert all(r["detail"].startswith("X 401") for r in rows)

    again = runner.invoke(app, ["publish-due"], env=env)  # failed is final for the runs
    assert {r["state"] for r in ledger_rows()} == {"failed"} and not x_env.posts, again.output

    monkeypatch.setenv("KOHO_X_CONSUMER_SECRET", CREDENTIALS["consumer_secret"])  # a person fixed it
    dry = runner.invoke(app, ["redrive"], env=env)
    assert dry.exit_code == 0, dry.output
    assert ARTICLE in dry.output and "X 401" in dry.output and f"Dry run: {len(rows)} failed deliveries" in dry.output
    assert {r["state"] for r in ledger_rows()} == {"failed"}

    unexplained = runner.invoke(app, ["redrive", "--yes"], env=env)
    assert unexplained.exit_code == 2 and "--reason" in unexplained.output
    assert {r["state"] for r in ledger_rows()} == {"failed"}

    one = runner.invoke(
        app, ["redrive", "--article", ARTICLE, "--yes", "--reason", "X keys renewed", "--by", "tanaka"], env=env
    )
    assert one.exit_code == 0, one.output
    assert "1 deliveries are pending again (by tanaka: X keys renewed)" in one.output
    states = {r["article_id"]: r["state"] for r in ledger_rows()}
    assert states.pop(ARTICLE) == "sent" and set(states.values()) == {"failed"} and len(x_env.posts) == 1

    rest = runner.invoke(app, ["redrive", "-c", "x", "--yes", "--reason", "X keys renewed"], env=env)
    assert rest.exit_code == 0, rest.output
    rows = ledger_rows()
    assert {r["state"] for r in rows} == {"sent"}
    assert sorted(r["provider_ref"] for r in rows) == sorted(x_env.posts)  # each post once
    ledger = Ledger(Settings().db_url())
    try:
        (entry,) = history(ledger, next(r["key"] for r in rows if r["article_id"] == ARTICLE))
    finally:
        ledger.close()
    assert (entry["actor"], entry["reason"]) == ("tanaka", "X keys renewed") and entry["failure"].startswith("X 401")

    nothing = runner.invoke(app, ["redrive", "--yes", "--reason", "again"], env=env)
    assert nothing.exit_code == 0 and "No failed deliveries match" in nothing.output
    assert len(x_env.posts) == len(rows)


def test_since_must_be_a_date(workspace):
    from koho.cli import app

    result = CliRunner().invoke(app, ["redrive", "--since", "yesterday"], env={"LANG": "C.UTF-8"})
    assert result.exit_code == 2 and "yesterday is not a date or time" in result.output


def test_japanese_words(workspace, monkeypatch):
    from koho.cli import app

    for name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["redrive"], env={"LANG": "ja_JP.UTF-8"})
    assert result.exit_code == 0 and "再送するものはありません" in result.output
