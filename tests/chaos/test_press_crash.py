"""The press mail is at most once (ADR 0035): no outlet ever gets a release twice.

A server that takes a mail and drops the connection before answering leaves that outlet's row
uncertain; the next run records it failed and in doubt and does not send it again. Then the real
console command, sending a release over SMTP to an aiosmtpd sink on loopback, is SIGKILLed at
random points and run again until it finishes: every outlet is mailed at most once, each one
never mailed is in doubt in the ledger (none is silently missing), and the doubt is never more
than the one mail in flight per kill.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from datetime import datetime

import pytest
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from channels.mail.press import IN_DOUBT, PressMailChannel
from koho.channel import MediaContext
from koho.cli import app
from koho.ledger import Ledger
from koho.outlets import Outlet, OutletStore
from koho.pipeline import deliver, plan_and_record
from koho.settings import Settings
from tests.chaos.test_smtp_lost_answer import DropsAfterData
from tests.clock import PINNED_NOW
from tests.e2e.test_mail_crash import CountingSink, _kill_when, _publish
from tests.peers import free_port
from tests.test_mail_smtp import IDENTITY
from tests.translated import corpus

JST = PINNED_NOW.tzinfo
RELEASE_ID = "bousai-kyotei-konbini"
RELEASE = f"content/articles/press/2026/{RELEASE_ID}.md"
#: The release time of the sample release: the media get it now, the site after its embargo.
AT_RELEASE = datetime(2026, 12, 8, 14, 1, tzinfo=JST)
OUTLETS = 60


def test_a_lost_answer_is_recorded_in_doubt_and_never_resent(tmp_path, content, clock):
    clock.set(AT_RELEASE)
    sink = DropsAfterData(drops=2)
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        release = corpus().articles[RELEASE_ID]
        outlets = tuple(Outlet(i, f"社{i}", "outlet", f"desk{i}@press.example.jp") for i in range(1, 7))
        channel = PressMailChannel(f"smtp://127.0.0.1:{controller.port}?connections=2", IDENTITY, content)
        ledger = Ledger(f"sqlite:///{tmp_path / 'koho.db'}")
        ctx = MediaContext(site=corpus().site, now=clock.now, live={}, outlets=outlets)
        planned, _ = plan_and_record(channel, release, ctx, ledger)
        deliver(channel, ledger, planned)
        uncertain = {r["target"] for r in ledger.rows(channel="press_mail") if r["state"] == "uncertain"}
        assert len(uncertain) == 2 and len(sink.messages) == 6

        clock.advance(minutes=30)  # a later run, past the uncertain rows' wait
        deliver(channel, ledger, planned)
        channel.close()
        rows = ledger.rows(channel="press_mail")
        assert len(sink.messages) == 6, "nothing was sent again"
        assert {r["target"] for r in rows if r["state"] == "failed"} == uncertain
        assert all(r["in_doubt"] and r["detail"] == IN_DOUBT for r in rows if r["state"] == "failed")
        assert sum(r["state"] == "sent" for r in rows) == 4
        recipients = Counter(to[0] for to, _ in sink.messages)
        assert set(recipients.values()) == {1}
    finally:
        controller.stop()


def _held(ledger: Ledger) -> set[str]:
    """Rows a killed run held (leased, no outcome stored): the only mails in doubt."""
    return {
        r["target"]
        for r in ledger.rows(article_id=RELEASE_ID, channel="press_mail")
        if r["state"] in ("pending", "uncertain") and r["lease_owner"] is not None
    }


@pytest.mark.usefixtures("prefect_harness")
def test_a_killed_press_run_never_mails_an_outlet_twice(workspace, monkeypatch, clock):
    from prefect.settings import PREFECT_API_URL

    handler = CountingSink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        monkeypatch.setenv("KOHO_MAIL_URL", f"smtp://127.0.0.1:{controller.port}?connections=2")
        media = "name,kind,address\n" + "".join(f"社{i},outlet,desk{i:03d}@press.example.jp\n" for i in range(OUTLETS))
        (workspace / "media.csv").write_text(media, encoding="utf-8")
        imported = CliRunner().invoke(app, ["media", "import", "media.csv"])
        assert imported.exit_code == 0, imported.output
        ledger = Ledger(Settings().db_url())
        ids = {o.address: o.id for o in OutletStore(ledger.engine).all()}
        clock.set(AT_RELEASE)

        seed = int(os.environ.get("KOHO_CRASH_SEED", random.randrange(1 << 30)))
        rnd = random.Random(seed)
        api = PREFECT_API_URL.value()
        held_after_kills: set[str] = set()
        kills = 0
        started = time.monotonic()
        delay = rnd.uniform(0.5, 4.0)
        # One kill at a random moment (often before anything is sent), then at random mail counts.
        triggers = [lambda: time.monotonic() - started > delay]
        for low, high in ((1, OUTLETS // 3), (OUTLETS // 3, 2 * OUTLETS // 3), (2 * OUTLETS // 3, OUTLETS - 1)):
            goal = rnd.randrange(low, high)
            triggers.append(lambda goal=goal: handler.total() >= goal)
        for trigger in triggers:
            clock.advance(minutes=20)  # past the killed run's lease: the next run takes its rows over
            started = time.monotonic()
            proc = _publish(RELEASE, api, "press_mail")
            killed = _kill_when(proc, trigger)
            output = proc.stdout.read().decode("utf-8", "replace")
            if not killed:
                assert proc.returncode in (0, 1), f"seed {seed}: {output}"  # 1: rows in doubt failed
                continue
            kills += 1
            held = _held(ledger)
            assert len(held) <= PressMailChannel.limits.batch_size, f"seed {seed}: {held}"
            held_after_kills |= held

        assert kills >= 2, f"seed {seed}: the run finished before it could be killed"
        clock.advance(minutes=20)
        final = _publish(RELEASE, api, "press_mail")
        output = final.communicate(timeout=300)[0].decode("utf-8", "replace")
        assert final.returncode in (0, 1), f"seed {seed}: {output}"

        assert max(handler.received.values()) == 1, f"seed {seed}: an outlet was mailed twice"
        rows = {r["target"]: r for r in ledger.rows(article_id=RELEASE_ID, channel="press_mail")}
        assert len(rows) == OUTLETS, f"seed {seed}"
        in_doubt = {t for t, r in rows.items() if r["state"] == "failed"}
        assert all(rows[t]["in_doubt"] and rows[t]["detail"] == IN_DOUBT for t in in_doubt), f"seed {seed}"
        assert in_doubt <= held_after_kills, f"seed {seed}: in doubt without a kill holding it"
        assert {t for t, r in rows.items() if r["state"] == "sent"} == set(rows) - in_doubt, f"seed {seed}"
        never = {f"outlet-{ids[a]}" for a in ids if handler.received[a] == 0}
        assert never <= in_doubt, f"seed {seed}: outlets never mailed and not in doubt: {never - in_doubt}"
        sent_rows = {f"outlet-{ids[a]}" for a in ids if handler.received[a] == 1}
        assert {t for t, r in rows.items() if r["state"] == "sent"} <= sent_rows, f"seed {seed}"
        print(
            f"chaos[press crash] seed {seed}: runs {len(triggers) + 1}, kills {kills}, outlets {OUTLETS}, "
            f"mailed twice 0, in doubt {len(in_doubt)} (of them mailed {len(in_doubt & sent_rows)})"
        )

        # A further run sends nothing at all.
        before = handler.total()
        clock.advance(minutes=20)
        again = _publish(RELEASE, api, "press_mail")
        again.communicate(timeout=300)
        assert again.returncode in (0, 1) and handler.total() == before
    finally:
        controller.stop()
