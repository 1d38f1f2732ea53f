"""Two `koho publish` runs of the same urgent article at once (a manual publish overlapping
another, or the schedule), on SQLite and on PostgreSQL, against an SMTP sink and the X and
Facebook fakes: every subscriber is mailed exactly once and each post is made exactly once.

Before leases (ADR 0012) both runs sent the whole fan-out: 2,000-3,000 extra mails per trial.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from koho.ledger import Ledger
from koho.settings import Settings
from koho.subscribers import NewSubscriber, SubscriberStore
from tests.e2e.test_mail_crash import CountingSink
from tests.fakes import graph_api, x_api
from tests.fakes.graph_api import FakeGraph
from tests.fakes.x_api import FakeX
from tests.peers import free_port

pytestmark = pytest.mark.usefixtures("prefect_harness")

SUBSCRIBERS = 2000


@pytest.fixture
def peers(workspace, monkeypatch):
    """An SMTP sink and the X and Facebook fakes, with KOHO_* pointing at them."""
    handler = CountingSink()
    smtp = Controller(handler, hostname="127.0.0.1", port=free_port())
    smtp.start()
    x, graph = FakeX().start(), FakeGraph().start()
    env = {
        "KOHO_CHANNELS": "mail,x,facebook",
        "KOHO_MAIL_URL": f"smtp://127.0.0.1:{smtp.port}?connections=4",
        "KOHO_X_URL": x.url,
        "KOHO_FACEBOOK_API_URL": f"{graph.url}/v21.0",
        "KOHO_FACEBOOK_PAGE_ID": graph_api.PAGE_ID,
        "KOHO_FACEBOOK_PAGE_TOKEN": graph_api.PAGE_TOKEN,
        **{f"KOHO_X_{k.upper()}": v for k, v in x_api.CREDENTIALS.items()},
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield handler, x, graph
    smtp.stop()
    x.stop()
    graph.stop()


def _article(workspace, clock) -> str:
    when = clock.now + timedelta(minutes=1)  # after the subscribers confirmed
    path = workspace / "content" / "articles" / "kinkyu.md"
    path.write_text(
        f"---\ntitle: 大雨による避難指示\npublish_at: {when.isoformat()}\npriority: urgent\n"
        "topics: [bousai]\n---\n区内に避難指示が出ました。\n",
        encoding="utf-8",
    )
    clock.advance(minutes=2)
    return str(path)


def _ledger_with_audience(database: str, workspace, clock, monkeypatch, request):
    """The ledger on ``database`` with SUBSCRIBERS confirmed bousai readers, and the urgent
    article published a minute after they confirmed: (ledger, article path)."""
    if database == "postgresql":
        monkeypatch.setenv("KOHO_DATABASE_URL", request.getfixturevalue("fresh_postgres_db"))
    ledger = Ledger(Settings().db_url())
    SubscriberStore(ledger.engine).upsert(
        [NewSubscriber(f"r{i:05d}@example.jp", f"r{i:05d}@example.jp", ("bousai",)) for i in range(SUBSCRIBERS)],
        "confirmed",
        "test",
    )
    return ledger, _article(workspace, clock)


def _run_two_at_once(path: str, folder, second: list[str] | None = None) -> list[tuple[int, str]]:
    """``koho publish PATH`` twice at once (or with ``second`` as the other command)."""
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "COLUMNS": "200"}
    commands = [["publish", path], second or ["publish", path]]
    logs = [folder / f"run-{n}.log" for n in range(2)]
    procs = []
    for command, log in zip(commands, logs, strict=True):  # output to files: a full pipe must not stall a run
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "koho.cli", *command], env=env, stdout=out, stderr=subprocess.STDOUT
                )
            )
    return [(p.wait(timeout=600), log.read_text("utf-8", "replace")) for p, log in zip(procs, logs, strict=True)]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_overlapping_publishes_send_everything_exactly_once(
    database, workspace, peers, clock, monkeypatch, request
):
    handler, x, graph = peers
    ledger, path = _ledger_with_audience(database, workspace, clock, monkeypatch, request)

    results = _run_two_at_once(path, workspace)
    # Each run ends 0 (all delivered) or 3 (it finished while the other still held rows).
    assert all(code in (0, 3) for code, _ in results), results

    print(
        f"chaos[overlap {database}]: runs 2, subscribers {SUBSCRIBERS}, mails {sum(handler.received.values())}, "
        f"lost {SUBSCRIBERS - len(handler.received)}, duplicated "
        f"{sum(n - 1 for n in handler.received.values())}, X posts {len(x.posts)}, Facebook posts {len(graph.posts)}"
    )
    assert len(handler.received) == SUBSCRIBERS and set(handler.received.values()) == {1}
    assert len(x.calls("POST", "/2/tweets")) == 1 and len(x.posts) == 1
    assert len(graph.calls("POST")) == 1 and len(graph.posts) == 1
    rows = ledger.rows(article_id="kinkyu")
    assert {r["state"] for r in rows} == {"sent"} and not any(r["in_doubt"] for r in rows)
    assert max(r["attempts"] for r in rows) == 1
    # Both runs did part of the work or one did it all; never both the same row.
    assert len({r["run_id"] for r in rows}) in (1, 2)

    # A later run finds nothing left.
    clock.advance(minutes=1)
    code, output = _run_two_at_once(path, workspace)[0]
    assert code == 0 and "Nothing new was sent" in output, output
    assert sum(handler.received.values()) == SUBSCRIBERS
    ledger.close()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_publish_overlapping_publish_due_sends_everything_exactly_once(
    database, workspace, peers, clock, monkeypatch, request
):
    """The manual publish of an urgent notice while the 10-minute schedule runs publish-due."""
    handler, x, graph = peers
    ledger, path = _ledger_with_audience(database, workspace, clock, monkeypatch, request)

    results = _run_two_at_once(path, workspace, second=["publish-due"])
    assert all(code in (0, 3) for code, _ in results), results
    print(
        f"chaos[publish+publish-due {database}]: runs 2, subscribers {SUBSCRIBERS}, lost "
        f"{SUBSCRIBERS - len(handler.received)}, duplicated {sum(n - 1 for n in handler.received.values())}, "
        f"X posts {len(x.posts)} ({len(x.calls('POST', '/2/tweets'))} requests)"
    )
    # Every recipient once; every due article (the samples too) posted once on X and Facebook.
    assert len(handler.received) == SUBSCRIBERS and set(handler.received.values()) == {1}
    texts = [p["text"] for p in x.posts.values()]
    assert len(texts) == len(set(texts)) == len(x.calls("POST", "/2/tweets"))
    assert len(graph.posts) == len(graph.calls("POST"))
    kinkyu = ledger.rows(article_id="kinkyu")
    assert {r["state"] for r in kinkyu} == {"sent"} and max(r["attempts"] for r in kinkyu) == 1
    ledger.close()
