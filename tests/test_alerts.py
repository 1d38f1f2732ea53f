"""Operators are told once (``koho/alerts.py``, ``flows/alerts.py``): failed deliveries, deliveries
pending too long and scheduled runs that did not happen; a telling that fails is told by the next
run; two runs at once tell each thing once. End to end through the real publish-due flow, a fake
X whose keys were revoked and an aiosmtpd server standing in for the office's mail relay."""

from __future__ import annotations

from datetime import UTC, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest

from koho.alerts import FAILED, MISSED, PENDING, message, note_start, problems, tell_once
from koho.delivery import Receipt
from koho.ledger import Ledger
from koho.settings import Settings
from tests.fakes.x_api import CREDENTIALS, FakeX
from tests.peers import free_port
from tests.test_ledger import page
from tests.test_ledger_postgres import race

TOKYO = ZoneInfo("Asia/Tokyo")
HOUR = timedelta(hours=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, tmp_path):
    url = (
        f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
        if request.param == "sqlite"
        else request.getfixturevalue("fresh_postgres_db")
    )
    opened = Ledger(url)
    yield opened
    opened.close()


def test_failed_and_long_pending_rows_are_told_once(ledger, clock):
    mails = [page(f"m{n}", article="a", channel="mail") for n in range(40)]
    ledger.record(mails)
    ledger.apply([Receipt.failed(d.key, "550 user unknown") for d in mails])
    ledger.record([page("post", article="b", channel="x")])  # pending, but only just planned
    assert {p.kind for p in problems(ledger, clock.now, HOUR)} == {FAILED}

    clock.advance(hours=2)
    found = problems(ledger, clock.now, HOUR)
    assert sorted({p.kind for p in found}) == [FAILED, PENDING] and len(found) == 41
    told: list[list] = []
    assert len(tell_once(ledger, found, clock.now, told.append)) == 41
    assert problems(ledger, clock.now, HOUR) == []  # told: not again
    assert tell_once(ledger, found, clock.now, told.append) == [] and len(told) == 1

    subject, text = message(told[0], TOKYO, "en", HOUR)
    assert subject == "koho: 40 failed, 1 pending too long"
    assert text.count("- a on mail: 40 deliveries since") == 1  # 40 refusals: one line
    assert "reason: 550 user unknown" in text and "koho redrive --article a --channel mail" in text
    assert "- b on x: 1 deliveries since" in text and "Still not delivered 60 minutes" in text
    ja_subject, ja_text = message(told[0], TOKYO, "ja", HOUR)
    assert ja_subject == "koho: 失敗 40 件, 長く未配信 1 件" and "理由: 550 user unknown" in ja_text


def test_a_telling_that_fails_is_told_by_the_next_run(ledger, clock):
    plan = [page("post", article="a", channel="x")]
    ledger.record(plan)
    ledger.apply([Receipt.failed(plan[0].key, "X 401")])

    def down(_told):
        raise ConnectionRefusedError("relay down")

    with pytest.raises(ConnectionRefusedError):
        tell_once(ledger, problems(ledger, clock.now, HOUR), clock.now, down)
    told: list[list] = []
    assert len(tell_once(ledger, problems(ledger, clock.now, HOUR), clock.now, told.append)) == 1


def test_two_runs_at_once_tell_each_thing_once(ledger, clock):
    plan = [page(f"post-{n}", article="a", channel="x") for n in range(10)]
    ledger.record(plan)
    ledger.apply([Receipt.failed(d.key, "X 401") for d in plan])
    found = problems(ledger, clock.now, HOUR)
    url = ledger.engine.url.render_as_string(hide_password=False)
    told: list[list] = []
    results = race(url, "alerts", lambda each: tell_once(each, found, clock.now, told.append))
    assert not [r for r in results if isinstance(r, Exception)]
    assert [len(t) for t in told] == [10]


def test_a_gap_between_scheduled_runs_is_reported_once(ledger, clock):
    allowed = timedelta(minutes=30)
    assert note_start(ledger, "publish-due", clock.now, allowed) is None  # the first run: no gap known
    assert note_start(ledger, "publish-due", clock.advance(minutes=10), allowed) is None
    start = clock.now
    gap = note_start(ledger, "publish-due", clock.advance(hours=3), allowed)
    assert gap is not None and gap.kind == MISSED and gap.since == start.astimezone(UTC)
    _, text = message([gap], TOKYO, "en", HOUR)
    assert "No scheduled publish-due run between" in text and "the worker may have been down" in text
    assert note_start(ledger, "publish-due", clock.advance(minutes=10), allowed) is None


# -- end to end ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("prefect_harness")
def test_publish_due_tells_the_operators_once_and_again_only_of_what_is_new(workspace, monkeypatch, relay, clock):
    from flows.publish import publish_due

    sink, port = relay
    fake = FakeX().start()
    try:
        monkeypatch.setenv("KOHO_CHANNELS", "x")
        monkeypatch.setenv("KOHO_X_URL", fake.url)
        for name, value in CREDENTIALS.items():
            monkeypatch.setenv(f"KOHO_X_{name.upper()}", value)
        monkeypatch.setenv("KOHO_X_CONSUMER_SECRET", "revoked")
        monkeypatch.setenv("KOHO_MAIL_URL", f"smtp://127.0.0.1:{port}?connections=1")
        monkeypatch.setenv("KOHO_OPS_MAIL", "ops@example.city.lg.jp,duty@example.city.lg.jp")
        monkeypatch.setenv("KOHO_OPS_LANGUAGE", "en")

        publish_due()
        assert sorted(to for _, (to,), _ in sink.messages) == ["duty@example.city.lg.jp", "ops@example.city.lg.jp"]
        alert = message_from_bytes(sink.messages[0][2], policy=policy.strict)
        ledger = Ledger(Settings().db_url())
        failed = [r for r in ledger.rows() if r["state"] == "failed"]
        ledger.close()
        assert failed and alert["Subject"] == f"koho: {len(failed)} failed"
        body = alert.get_content()
        assert "X 401" in body and "koho redrive --article" in body and alert["Content-Language"] == "en"
        assert "revoked" not in body  # the secret is never in what operators are told

        clock.advance(minutes=10)
        publish_due()  # nothing new: nobody is mailed again
        assert len(sink.messages) == 2

        clock.advance(hours=2)  # the worker was down
        publish_due()
        assert len(sink.messages) == 4
        missed = message_from_bytes(sink.messages[-1][2], policy=policy.strict)
        assert missed["Subject"] == "koho: scheduled runs missed"
        assert "No scheduled publish-due run between" in missed.get_content()
    finally:
        fake.stop()


@pytest.mark.usefixtures("prefect_harness")
def test_a_relay_that_is_down_delays_the_alert_not_the_run(workspace, monkeypatch, relay, clock):
    from flows.publish import publish_due

    sink, port = relay
    monkeypatch.setenv("KOHO_CHANNELS", "archive")
    monkeypatch.setenv("KOHO_OPS_MAIL", "ops@example.city.lg.jp")
    ledger = Ledger(Settings().db_url())
    plan = [page("post", article="a", channel="x")]
    ledger.record(plan)
    ledger.apply([Receipt.failed(plan[0].key, "X 401")])
    ledger.close()
    monkeypatch.setenv("KOHO_MAIL_URL", f"smtp://127.0.0.1:{free_port()}?connections=1")  # nobody listens
    outcomes = publish_due()
    assert outcomes and not sink.messages  # the run published; the alert waits
    monkeypatch.setenv("KOHO_MAIL_URL", f"smtp://127.0.0.1:{port}?connections=1")
    clock.advance(minutes=10)
    publish_due()
    ((_, (to,), raw),) = sink.messages
    told = message_from_bytes(raw, policy=policy.strict)
    assert to == "ops@example.city.lg.jp" and "X 401" in told.get_content()


def test_an_unknown_alert_language_is_a_configuration_error_not_a_traceback(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "KOHO_OPS_LANGUAGE": "fr", "KOHO_STATE_DIR": str(tmp_path / ".koho")}
    result = subprocess.run(
        [sys.executable, "-m", "koho.cli", "status"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "configuration error: KOHO_OPS_LANGUAGE: Input should be 'ja' or 'en'" in result.stderr
    assert "Traceback" not in result.stderr
