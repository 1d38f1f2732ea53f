"""The mail channel end to end on the outbox transport: who gets mail, once, with working headers."""

from __future__ import annotations

from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default

import pytest
from typer.testing import CliRunner

from koho.cli import app
from koho.ledger import Ledger
from koho.settings import Settings
from koho.subscribers import SubscriberStore
from koho.tokens import Tokens

pytestmark = pytest.mark.usefixtures("prefect_harness")

SUBSCRIBERS = """address,topics
a@example.jp,bousai
b@example.jp,bousai kusei
c@example.jp,kenkou
left@example.jp,bousai
"""


def write_article(workspace, name: str, topics: str, when: datetime) -> str:
    path = workspace / "content" / "articles" / f"{name}.md"
    path.write_text(
        f"---\ntitle: 避難所を開設しました\npublish_at: {when.isoformat()}\npriority: urgent\n"
        f"topics: [{topics}]\n---\n区内の避難所を開設しました。\n",
        encoding="utf-8",
    )
    return str(path)


def test_urgent_article_is_mailed_once_to_confirmed_subscribers_of_its_topics(workspace, clock):
    (workspace / "subs.csv").write_text(SUBSCRIBERS, encoding="utf-8")
    assert CliRunner().invoke(app, ["subscribers", "import", "subs.csv", "--state", "confirmed"]).exit_code == 0
    store = SubscriberStore(Ledger(Settings().db_url()).engine)
    store.set_state(store.find("left@example.jp").id, "unsubscribed")

    from flows.publish import publish_article

    when = clock.now + timedelta(minutes=1)  # after the subscribers confirmed
    path = write_article(workspace, "hinanjo", "bousai", when)
    clock.advance(minutes=2)
    publish_article(paths=[path])
    outbox = workspace / "outbox" / "hinanjo"
    mails = {message_from_bytes(p.read_bytes(), policy=default)["To"]: p for p in outbox.glob("*.eml")}
    assert set(mails) == {"a@example.jp", "b@example.jp"}
    message = message_from_bytes(mails["a@example.jp"].read_bytes(), policy=default)
    assert message["Subject"] == "【緊急】避難所を開設しました"
    token = message["List-Unsubscribe"].strip("<>").rsplit("/", 1)[1]
    a = store.find("a@example.jp")
    assert Tokens(Settings().secret()).check("unsubscribe", token) == (a.id, a.link_nonce)
    rows = [r for r in Ledger(Settings().db_url()).rows(article_id="hinanjo", channel="mail")]
    assert len(rows) == 2 and {r["state"] for r in rows} == {"sent"}
    assert all(r["target"].startswith("subscriber-") and "@" not in repr(r) for r in rows)

    # Re-run and an edit of the article: nobody is mailed again.
    stamps = {p: p.stat().st_mtime_ns for p in outbox.glob("*.eml")}
    publish_article(paths=[path])
    text = (workspace / "content" / "articles" / "hinanjo.md").read_text(encoding="utf-8")
    (workspace / "content" / "articles" / "hinanjo.md").write_text(
        text.replace("開設しました。", "開設しました（追記あり）。"), encoding="utf-8"
    )
    publish_article(paths=[path])
    assert {p: p.stat().st_mtime_ns for p in outbox.glob("*.eml")} == stamps
    assert len(Ledger(Settings().db_url()).rows(article_id="hinanjo", channel="mail")) == 2


def test_smtp_refusals_do_not_stop_the_run_and_stay_pending(workspace, monkeypatch, clock):
    """An unreachable SMTP server: the flow finishes, every mail row stays pending with the reason."""

    from flows.publish import publish_article
    from flows.tasks import deliver_task
    from tests.peers import free_port

    (workspace / "subs.csv").write_text(SUBSCRIBERS, encoding="utf-8")
    assert CliRunner().invoke(app, ["subscribers", "import", "subs.csv", "--state", "confirmed"]).exit_code == 0
    monkeypatch.setenv("KOHO_MAIL_URL", f"smtp://127.0.0.1:{free_port()}")
    monkeypatch.setattr(deliver_task, "retry_delay_seconds", [0, 0, 0, 0])
    when = clock.advance(minutes=1)  # published after the subscribers confirmed
    path = write_article(workspace, "teiden", "bousai", when)
    outcomes = publish_article(paths=[path])
    mail = next(o for o in outcomes if o.channel == "mail")
    assert mail.note.startswith("3 still pending") and mail.count("pending") == 3
    rows = Ledger(Settings().db_url()).rows(article_id="teiden", channel="mail")
    assert len(rows) == 3 and {r["state"] for r in rows} == {"pending"}
    # Retried while the run lasts (Prefect's retries claim them again once the retry time passed),
    # then left for publish-due with a retry time.
    assert all(r["attempts"] >= 1 and r["not_before"] is not None and "SMTP 127.0.0.1" in r["detail"] for r in rows)
    assert (workspace / "public" / "articles" / "teiden" / "index.html").is_file(), "other channels went ahead"
