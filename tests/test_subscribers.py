"""The subscriber store and `koho subscribers` import/export/count/erase-expired, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from koho.cli import app
from koho.ledger import Ledger, utcnow
from koho.subscribers import NewSubscriber, SubscriberStore, normalise_address

runner = CliRunner()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = (
        f"sqlite:///{tmp_path / 'koho.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("fresh_postgres_db")
    )
    ledger = Ledger(url)
    yield SubscriberStore(ledger.engine)
    ledger.close()


def new(address: str, *topics: str) -> NewSubscriber:
    shown, key = normalise_address(address)
    return NewSubscriber(shown, key, topics or ("bousai",))


def test_upsert_counts_and_topic_queries(store):
    added, updated = store.upsert(
        [new(f"user{i}@example.jp", "bousai" if i % 2 else "kusei") for i in range(1, 1201)], "confirmed", "test"
    )
    assert (added, updated) == (1200, 0)
    assert store.upsert([new("USER1@example.jp", "kenkou", "bousai")], "confirmed", "test") == (0, 1)
    assert store.find("user1@EXAMPLE.jp").topics == ("bousai", "kenkou")
    batches = list(store.confirmed_for(["bousai"], batch=250))
    ids = [s.id for b in batches for s in b]
    assert len(ids) == 600 and ids == sorted(ids) and all(len(b) <= 250 for b in batches)
    states, topics, _languages = store.counts()
    assert states["confirmed"] == 1200 and topics["kusei"] == 600 and topics["kenkou"] == 1


def test_unconfirmed_and_unsubscribed_are_not_recipients(store):
    store.upsert([new("a@example.jp"), new("b@example.jp"), new("c@example.jp")], "confirmed", "test")
    store.upsert([new("p@example.jp")], "pending", "form")
    store.set_state(store.find("b@example.jp").id, "unsubscribed")
    store.set_state(store.find("c@example.jp").id, "suppressed")
    recipients = [s.address for b in store.confirmed_for(["bousai"]) for s in b]
    assert recipients == ["a@example.jp"]


def test_unsubscribed_addresses_are_erased_after_retention(store):
    store.upsert([new("gone@example.jp"), new("kept@example.jp")], "confirmed", "test")
    gone = store.find("gone@example.jp")
    store.set_state(gone.id, "unsubscribed")
    assert store.erase_expired(timedelta(days=30)) == []
    assert store.erase_expired(timedelta(days=30), now=utcnow() + timedelta(days=31)) == [gone.id]
    erased = store.get(gone.id)
    assert erased.address is None and erased.state == "unsubscribed"
    assert store.find("gone@example.jp") is None and store.find("kept@example.jp")
    assert [s.address for s in store.all()] == ["kept@example.jp"]


def test_sign_up_and_preferences_store_the_delivery_choice(store):
    shown, key = normalise_address("digest@example.jp")
    subscriber, before = store.subscribe(NewSubscriber(shown, key, ("bousai",), delivery="digest"), source="web")
    assert before == "new" and subscriber.delivery == "digest" and subscriber.state == "pending"
    again, before = store.subscribe(NewSubscriber(shown, key, ("kusei",)), source="web")  # the newest form wins
    assert before == "pending" and again.delivery == "immediate" and again.topics == ("kusei",)
    store.set_state(again.id, "unsubscribed")
    back, before = store.subscribe(NewSubscriber(shown, key, ("kusei",), delivery="digest"), source="web")
    assert before == "unsubscribed" and back.delivery == "digest"
    store.set_state(back.id, "confirmed")
    live, before = store.subscribe(NewSubscriber(shown, key, ("kusei",)), source="web")
    assert before == "confirmed" and live.delivery == "digest"  # anyone can type the address: no change

    store.set_preferences(back.id, ["bousai", "kenkou"], "ja", "immediate")
    changed = store.get(back.id)
    assert (changed.topics, changed.delivery) == (("bousai", "kenkou"), "immediate")
    store.set_preferences(back.id, ["bousai"], "ja", "digest")
    assert store.get(back.id).delivery == "digest"
    with pytest.raises(ValueError, match="unknown delivery"):
        store.set_preferences(back.id, ["bousai"], "ja", "weekly")
    assert store.get(back.id).delivery == "digest"


CSV = """address,topics,language
taro@example.jp,bousai bouhan,ja
Hanako@Example.JP,kusei;kenkou,
bad-address,bousai,ja
taro@example.jp,kusei,ja
x@example.jp,weather,ja
y@example.jp,,ja
z@example.jp,bousai,fr
"""


def test_import_is_all_or_nothing_with_line_numbers(workspace):
    (workspace / "s.csv").write_text(CSV, encoding="utf-8")
    result = runner.invoke(app, ["subscribers", "import", "s.csv"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    for expected in [
        "s.csv:4: address: 'bad-address'",
        "s.csv:5: address: duplicate of line 2",
        "s.csv:6: topics: unknown topic 'weather'",
        "s.csv:7: topics: choose at least one topic",
        "s.csv:8: language: 'fr' is not offered",
    ]:
        assert any(line.startswith(expected) for line in lines), (expected, lines)
    assert "nothing was imported" in result.output
    assert "confirmed    │     0" in runner.invoke(app, ["subscribers", "count"]).output

    partial = runner.invoke(app, ["subscribers", "import", "s.csv", "--skip-invalid", "--state", "confirmed"])
    assert partial.exit_code == 0 and "Imported 2 new" in partial.output
    exported = list(csv.DictReader(io.StringIO(runner.invoke(app, ["subscribers", "export"]).stdout)))
    assert [(r["address"], r["topics"], r["state"]) for r in exported] == [
        ("taro@example.jp", "bouhan bousai", "confirmed"),
        ("Hanako@example.jp", "kenkou kusei", "confirmed"),
    ]


def test_import_accepts_every_mail_language_and_nothing_else(workspace):
    (workspace / "l.csv").write_text(
        "address,topics,language\nsomchai@example.jp,bousai,th\nana@example.jp,kenkou,pt\n", encoding="utf-8"
    )
    assert runner.invoke(app, ["subscribers", "import", "l.csv", "--state", "confirmed"]).exit_code == 0
    exported = list(csv.DictReader(io.StringIO(runner.invoke(app, ["subscribers", "export"]).stdout)))
    assert [(r["address"], r["language"]) for r in exported] == [("somchai@example.jp", "th"), ("ana@example.jp", "pt")]


def test_readers_of_a_language_not_translated_into_are_pointed_out(workspace, monkeypatch):
    monkeypatch.setenv("KOHO_LANGUAGES", "en,th")
    (workspace / "l.csv").write_text(
        "address,topics,language\nsomchai@example.jp,bousai,th\n"
        "minji@example.jp,kenkou,ko\nhanako@example.jp,kenkou,ja\n",
        encoding="utf-8",
    )
    imported = runner.invoke(app, ["subscribers", "import", "l.csv", "--state", "confirmed"])
    assert imported.exit_code == 0
    assert "1 in ko: these languages are not in KOHO_LANGUAGES" in " ".join(imported.stderr.split())
    counted = " ".join(runner.invoke(app, ["subscribers", "count"], env={"COLUMNS": "200"}).output.split())
    assert "ja │ 1 │ yes" in counted and "th │ 1 │ yes" in counted
    assert "ko │ 1 │ none: not in KOHO_LANGUAGES" in counted

    (workspace / "fr.csv").write_text("address,topics,language\npierre@example.jp,bousai,fr\n", encoding="utf-8")
    refused = runner.invoke(app, ["subscribers", "import", "fr.csv"])
    assert refused.exit_code == 1
    assert "fr.csv:2: language: 'fr' is not offered; offered: ja, en, zh, ko, th, pt, es, id, vi" in refused.output


def test_import_never_resubscribes_withdrawn_consent(workspace):
    (workspace / "a.csv").write_text("address,topics\nleft@example.jp,bousai\n", encoding="utf-8")
    assert runner.invoke(app, ["subscribers", "import", "a.csv", "--state", "confirmed"]).exit_code == 0
    from koho.settings import Settings

    store = SubscriberStore(Ledger(Settings().db_url()).engine)
    store.set_state(store.find("left@example.jp").id, "unsubscribed")
    again = runner.invoke(app, ["subscribers", "import", "a.csv", "--state", "confirmed"])
    assert again.exit_code == 1 and "a.csv:2: address: left@example.jp: unsubscribed" in again.output
    assert store.find("left@example.jp").state == "unsubscribed"


def test_shift_jis_file_gets_a_hint(workspace):
    (workspace / "sjis.csv").write_bytes("address,topics\n練馬@example.jp,bousai\n".encode("cp932"))
    result = runner.invoke(app, ["subscribers", "import", "sjis.csv"])
    assert (
        result.exit_code == 1
        and "sjis.csv:2: file: not valid UTF-8; if Excel saved it, try --encoding cp932" in result.output
    )
    ok = runner.invoke(app, ["subscribers", "import", "sjis.csv", "--encoding", "cp932"])
    assert ok.exit_code == 0, ok.output


def test_erase_expired_command_applies_the_retention_setting(workspace, monkeypatch, clock):
    (workspace / "a.csv").write_text(
        "address,topics\nleft@example.jp,bousai\nstay@example.jp,bousai\n", encoding="utf-8"
    )
    assert runner.invoke(app, ["subscribers", "import", "a.csv", "--state", "confirmed"]).exit_code == 0
    (workspace / "p.csv").write_text("address,topics\nnever@example.jp,bousai\n", encoding="utf-8")
    assert runner.invoke(app, ["subscribers", "import", "p.csv"]).exit_code == 0  # pending, never confirmed
    from koho.settings import Settings

    store = SubscriberStore(Ledger(Settings().db_url()).engine)
    left = store.find("left@example.jp")
    store.set_state(left.id, "unsubscribed")
    kept = runner.invoke(app, ["subscribers", "erase-expired"])
    assert kept.exit_code == 0 and "Erased 0 address(es) kept longer than 30 days." in kept.output
    assert store.get(left.id).address == "left@example.jp"

    monkeypatch.setenv("KOHO_MAIL_RETENTION_DAYS", "0")
    clock.advance(minutes=1)  # "kept longer than 0 days": some time must pass
    erased = runner.invoke(app, ["subscribers", "erase-expired"])
    assert erased.exit_code == 0 and "Erased 2 address(es) kept longer than 0 days." in erased.output
    assert store.get(left.id).address is None and store.find("never@example.jp") is None
    assert store.find("stay@example.jp").state == "confirmed"
