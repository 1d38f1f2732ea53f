"""Personal data (issue 12): provider texts lose the address, erasure leaves it nowhere in the
database file, files holding addresses are private."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from channels.mail.channel import MailChannel
from koho.channel import AudienceContext
from koho.clock import now as koho_now
from koho.ledger import Ledger
from koho.pipeline import TransientDeliveryError, deliver, plan_and_record
from koho.reader import read_corpus
from koho.site import load_site
from koho.subscribers import NewSubscriber, SubscriberStore, normalise_address, redact_addresses
from koho.tokens import Tokens
from tests.clock import TEST_SECRET
from tests.conftest import CONTENT
from tests.peers import free_port
from tests.test_mail_smtp import IDENTITY

ADDRESS = "gone.taro+news@example.jp"


class QuotingSink:
    """An MTA that quotes the recipient in its refusal, as many do."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown ({address.split('@')[0]})"


@pytest.fixture
def quoting_smtp():
    controller = Controller(QuotingSink(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


def test_redact_addresses():
    text = "550 <Taro@Example.JP> unknown; also taro, and hanako@example.jp (taro@example.jp)"
    out = redact_addresses(text, "taro@example.jp")
    assert "taro" not in out.lower() and "hanako" not in out and "550" in out


def test_smtp_refusal_detail_and_erasure_leave_no_address(quoting_smtp, tmp_path):
    db = tmp_path / "state" / "koho.db"
    ledger = Ledger(f"sqlite:///{db}")
    store = SubscriberStore(ledger.engine)
    shown, key = normalise_address(ADDRESS)
    store.upsert([NewSubscriber(shown, key, ("bousai",))], "confirmed", "test")
    # Confirmed long before the article appeared (the channel mails only those).
    subscriber = replace(store.find(ADDRESS), confirmed_at=datetime(2026, 1, 1, tzinfo=UTC))
    corpus = read_corpus(CONTENT, load_site(CONTENT))
    article = next(a for a in corpus.articles.values() if a.urgent)
    channel = MailChannel(f"smtp://127.0.0.1:{quoting_smtp.port}", IDENTITY, Tokens(TEST_SECRET))
    ctx = AudienceContext(site=corpus.site, now=koho_now(), live={}, audience=[subscriber])
    planned, _ = plan_and_record(channel, article, ctx, ledger)
    try:
        deliver(channel, ledger, planned)
    except TransientDeliveryError:
        pass
    channel.close()
    [row] = ledger.rows(channel="mail")
    assert row["state"] == "failed" and "550" in row["detail"]
    assert "gone.taro" not in row["detail"].lower(), row["detail"]

    store.set_state(subscriber.id, "unsubscribed")
    assert store.erase_expired(timedelta(days=30), now=koho_now() + timedelta(days=31)) == [subscriber.id]
    ledger.close()
    # Neither a table nor a freed page of the file (nor its WAL) keeps the address.
    for path in db.parent.iterdir():
        assert b"gone.taro" not in path.read_bytes().lower(), path.name


def test_state_folder_and_database_are_private(tmp_path):
    os.umask(0o000)  # the loosest umask a service could run under
    try:
        db = tmp_path / "state" / "koho.db"
        Ledger(f"sqlite:///{db}").close()
    finally:
        os.umask(0o022)
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    for path in db.parent.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name


def test_outbox_mail_files_are_private(tmp_path):
    from channels.mail.transports import OutboxTransport

    transport = OutboxTransport(tmp_path / "outbox", "outbox://outbox")
    transport.send("a@example.jp", "taro@example.jp", b"To: taro@example.jp\r\n\r\nx\r\n", "a/1")
    [eml] = (tmp_path / "outbox").rglob("*.eml")
    assert stat.S_IMODE(eml.stat().st_mode) == 0o600


def test_generated_secret_key_lives_in_a_private_folder(tmp_path):
    from koho.settings import Settings

    os.umask(0o000)
    try:
        Settings(state_dir=tmp_path / "fresh").secret()
    finally:
        os.umask(0o022)
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "fresh" / "secret_key").stat().st_mode) == 0o600


def _secret_after(barrier, state_dir: str, results) -> None:
    """In a child process: wait for the others, then ask for the state folder's secret."""
    from koho.settings import Settings

    settings = Settings(state_dir=Path(state_dir))
    barrier.wait()
    try:
        results.put(settings.secret())
    except Exception as exc:  # reported to the test, which names it
        results.put(f"{type(exc).__name__}: {exc}")


def test_commands_starting_at_once_on_a_fresh_state_folder_share_one_whole_key(tmp_path):
    """Two overlapping commands on a fresh machine (the chaos tests do it) must not read a key
    the other is still writing, nor fail because it created the file first."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # no fork of a process running threads
    count = 6
    barrier, results = context.Barrier(count), context.Queue()
    children = [
        context.Process(target=_secret_after, args=(barrier, str(tmp_path / "fresh"), results)) for _ in range(count)
    ]
    for child in children:
        child.start()
    keys = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=60)
    assert len(set(keys)) == 1 and len(keys[0]) >= 32, keys
    assert (tmp_path / "fresh" / "secret_key").read_text() == keys[0]
    assert [p.name for p in (tmp_path / "fresh").iterdir()] == ["secret_key"]  # no temporary file left


async def _prefect_records(flow_runs: set[str]) -> str:
    """Every artifact, log line and event the Prefect server holds, as one text. Events reach the
    server's store in batches: wait (bounded) until the end of each of ``flow_runs`` is there."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    ends = EventFilter(
        event=EventNameFilter(name=["prefect.flow-run.Completed", "prefect.flow-run.Failed"]),
        resource=EventResourceFilter(id=[f"prefect.flow-run.{run}" for run in flow_runs]),
    )
    async with get_client() as client:
        deadline = time.monotonic() + 30
        while len((await client.read_events(filter=ends, limit=50)).events) < len(flow_runs):
            assert time.monotonic() < deadline, "the flow runs' events never reached the server"
            await asyncio.sleep(0.2)
        artifacts = await client.read_artifacts()
        logs = await client.read_logs(log_filter=LogFilter())
        page = await client.read_events(filter=EventFilter(), limit=50)
        events = list(page.events)
        while page.next_page:
            page = await client.read_events_page(page.next_page)
            events += page.events
    return "\n".join(
        [
            *(repr(a.data) + repr(a.description) for a in artifacts),
            *(log.message for log in logs),
            *(e.model_dump_json() for e in events),
        ]
    )


@pytest.mark.usefixtures("prefect_harness", "cli_env")
def test_after_erase_expired_the_address_is_nowhere(workspace, quoting_smtp, monkeypatch, clock):
    """The whole path an address takes: imported, mailed through SMTP (refused, the refusal
    quoting it) and through the outbox, unsubscribed, erased by the command after the retention
    period. Then no ledger table, database file, outbox file, Prefect artifact, log or event
    and no output of the commands run holds it."""
    from typer.testing import CliRunner

    from koho.cli import app
    from koho.settings import Settings

    runner, outputs = CliRunner(), []

    def koho(*args: str) -> None:
        result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
        assert "Traceback" not in result.output, result.output
        outputs.append(result.output)

    articles = workspace / "content" / "articles" / "2026"
    (workspace / "people.csv").write_text(f"address,topics\n{ADDRESS},bousai\n", encoding="utf-8")
    clock.set(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))  # subscribed long before the news
    koho("subscribers", "import", "people.csv", "--state", "confirmed")
    clock.advance(days=330)
    monkeypatch.setenv("KOHO_MAIL_URL", f"smtp://127.0.0.1:{quoting_smtp.port}")
    koho("publish", "-c", "mail", str(articles / "ooame-jishu-hinanjo-kaisetsu.md"))
    monkeypatch.setenv("KOHO_MAIL_URL", "outbox://outbox")
    koho("publish", "-c", "mail", str(articles / "sogo-bousai-kunren-2026.md"))
    koho("status", "ooame-jishu-hinanjo-kaisetsu")

    ledger = Ledger(Settings().db_url())
    failed = [r for r in ledger.rows(channel="mail") if r["state"] == "failed"]
    assert failed and "550" in failed[0]["detail"]  # the refusal happened, and quoted the address
    outbox = sorted((workspace / "outbox").rglob("*.eml"))
    assert outbox and any(b"gone.taro" in p.read_bytes() for p in outbox)  # the outbox had it
    flow_runs = {r["run_id"] for r in ledger.rows(channel="mail")}
    assert len(flow_runs) == 2 and None not in flow_runs
    store = SubscriberStore(ledger.engine)
    store.set_state(store.find(ADDRESS).id, "unsubscribed")
    ledger.close()
    clock.advance(days=31)
    koho("subscribers", "erase-expired")
    assert "Erased 1 address(es)" in outputs[-1], outputs[-1]

    needle = "gone.taro"
    db = Settings().state_dir / "koho.db"
    with sqlite3.connect(db) as conn:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            rows = repr(conn.execute(f'SELECT * FROM "{table}"').fetchall()).lower()
            assert needle not in rows, table
    assert "deliveries" in tables and "subscribers" in tables
    for path in db.parent.glob("koho.db*"):  # freed pages and the WAL too
        assert needle.encode() not in path.read_bytes().lower(), path.name
    for path in (workspace / "outbox").rglob("*"):
        assert not path.is_file() or needle.encode() not in path.read_bytes().lower(), path
    for said in outputs:
        assert needle not in said.lower(), said
    records = asyncio.run(_prefect_records(flow_runs)).lower()
    assert "550 5.1.1" in records and "prefect.flow-run.completed" in records  # the refusal reached them
    assert needle not in records
