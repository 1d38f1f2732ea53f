"""SIGKILL a real mail fan-out at random points and run it again until it finishes.

The publishing process is the real console command sending over SMTP to an aiosmtpd sink on
loopback. After each kill the ledger must name the uncertain recipients (pending rows that were
attempted), and in the end the sink must have every recipient at least once, with duplicates
only among the recipients the ledger called uncertain: at most the one batch in flight.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from channels.mail import MailChannel
from koho.ledger import Ledger
from koho.settings import Settings
from koho.subscribers import NewSubscriber, SubscriberStore
from tests.peers import free_port

pytestmark = pytest.mark.usefixtures("prefect_harness")

SUBSCRIBERS = 1500  # three batches of MailChannel.limits.batch_size
BATCH = MailChannel.limits.batch_size


class CountingSink:
    """Counts accepted messages per recipient (a message counts only once its DATA completed)."""

    def __init__(self):
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.update(envelope.rcpt_tos)
        return "250 2.0.0 queued"

    def total(self) -> int:
        with self.lock:
            return sum(self.received.values())


@pytest.fixture
def sink():
    handler = CountingSink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


def _publish(path: str, api_url: str, channel: str = "mail") -> subprocess.Popen:
    env = {**os.environ, "PREFECT_API_URL": api_url, "COLUMNS": "200"}
    # Its own session, so the kill takes any helper processes with it, as a real crash would.
    return subprocess.Popen(
        [sys.executable, "-m", "koho.cli", "publish", path, "-c", channel],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 180) -> bool:
    """SIGKILL ``proc`` as soon as ``ready()`` holds; False if it finished first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if ready():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("publish did not progress")
        time.sleep(0.002)
    return False


def _uncertain(ledger: Ledger) -> set[str]:
    """Rows a killed run held (leased, no outcome stored): the only ones it may have sent
    without the ledger knowing."""
    return {
        r["target"]
        for r in ledger.rows(article_id="kinkyu", channel="mail")
        if r["state"] in ("pending", "uncertain") and r["lease_owner"] is not None
    }


def test_killed_fan_out_finishes_with_nobody_missing_and_duplicates_only_in_flight(workspace, sink, monkeypatch, clock):
    from prefect.settings import PREFECT_API_URL

    handler, port = sink
    monkeypatch.setenv("KOHO_MAIL_URL", f"smtp://127.0.0.1:{port}?connections=4")
    settings = Settings()
    store = SubscriberStore(Ledger(settings.db_url()).engine)
    rows = [
        NewSubscriber(f"resident{i:05d}@example.jp", f"resident{i:05d}@example.jp", ("bousai",))
        for i in range(SUBSCRIBERS)
    ]
    store.upsert(rows, "confirmed", "test")
    ids = {s.address: s.id for s in store.all()}

    when = clock.now + timedelta(minutes=1)  # after the subscribers confirmed
    article = workspace / "content" / "articles" / "kinkyu.md"
    article.write_text(
        f"---\ntitle: 大雨による避難指示\npublish_at: {when.isoformat()}\npriority: urgent\n"
        "topics: [bousai]\n---\n区内に避難指示が出ました。\n",
        encoding="utf-8",
    )
    clock.advance(minutes=2)

    seed = int(os.environ.get("KOHO_CRASH_SEED", random.randrange(1 << 30)))
    rnd = random.Random(seed)
    api = PREFECT_API_URL.value()
    ledger = Ledger(settings.db_url())
    uncertain_after_kills: set[str] = set()
    kills = 0
    # One kill at a random moment (often before anything is sent: reading, planning, recording),
    # then kills at random message counts inside the first, a middle and the last batch.
    started = time.monotonic()
    delay = rnd.uniform(0.5, 4.0)
    triggers = [lambda: time.monotonic() - started > delay]
    for low, high in ((1, BATCH), (BATCH, 2 * BATCH), (2 * BATCH, SUBSCRIBERS - 1)):
        goal = rnd.randrange(low, high)
        triggers.append(lambda goal=goal: handler.total() >= goal)
    for trigger in triggers:
        clock.advance(minutes=20)  # past the killed run's lease: the next run takes its rows over
        started = time.monotonic()
        proc = _publish(str(article), api)
        killed = _kill_when(proc, trigger)
        output = proc.stdout.read().decode("utf-8", "replace")
        if not killed:
            assert proc.returncode == 0, f"seed {seed}: {output}"
            continue
        kills += 1
        uncertain = _uncertain(ledger)
        assert len(uncertain) <= BATCH, f"seed {seed}: {len(uncertain)} uncertain after a kill"
        uncertain_after_kills |= uncertain

    assert kills >= 3, f"seed {seed}: the fan-out finished before it could be killed"
    clock.advance(minutes=20)
    final = _publish(str(article), api)
    output = final.communicate(timeout=300)[0].decode("utf-8", "replace")
    assert final.returncode == 0, f"seed {seed}: {output}"

    missing = [a for a in ids if handler.received[a] == 0]
    assert missing == [], f"seed {seed}: {len(missing)} subscribers never mailed"
    doubles = {a for a, n in handler.received.items() if n > 1}
    assert {f"subscriber-{ids[a]}" for a in doubles} <= uncertain_after_kills, f"seed {seed}"
    assert sum(handler.received.values()) - SUBSCRIBERS <= BATCH * (len(triggers)), f"seed {seed}"
    rows = ledger.rows(article_id="kinkyu", channel="mail")
    assert len(rows) == SUBSCRIBERS and {r["state"] for r in rows} == {"sent"}, f"seed {seed}"
    in_doubt = {r["target"] for r in rows if r["in_doubt"]}
    # The chaos figures, for the record (pytest -s shows them).
    print(
        f"chaos[crash] seed {seed}: runs {len(triggers) + 1}, kills {kills}, subscribers {SUBSCRIBERS}, "
        f"lost {len(missing)}, duplicated {len(doubles)}, uncertain after kills {len(uncertain_after_kills)}, "
        f"in doubt {len(in_doubt)}"
    )
    assert {f"subscriber-{ids[a]}" for a in doubles} <= in_doubt <= uncertain_after_kills, f"seed {seed}"
    # The operator's view of the same fact: koho status counts the rows in doubt.
    status = subprocess.run(
        [sys.executable, "-m", "koho.cli", "status", "kinkyu"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )
    mail_row = next(line for line in status.stdout.splitlines() if "│ mail" in line)
    cells = [c.strip() for c in mail_row.strip("│ ").split("│")]
    assert cells[0] == "mail" and cells[-1] == str(len(in_doubt)), status.stdout
    assert "too many deliveries to list" in status.stdout

    # A further run sends nothing at all.
    before = handler.total()
    again = _publish(str(article), api)
    assert again.wait(timeout=300) == 0
    assert handler.total() == before
