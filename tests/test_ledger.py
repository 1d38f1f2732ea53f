"""The delivery ledger on a SQLite file: pending-first recording, idempotency, receipts, queries.

The tests take a ``ledger_url`` fixture; tests/test_ledger_postgres.py imports them and runs the
same behaviours against a real PostgreSQL server by overriding that one fixture.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from koho.delivery import Delivery, Receipt, State
from koho.ledger import MIGRATIONS, Ledger, utcnow
from koho.ledger_schema import deliveries

T0 = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)


def page(
    target: str = "articles/a/index.html",
    article: str = "a",
    revision: str = "r1",
    channel: str = "archive",
    language: str | None = "ja",
) -> Delivery:
    """A planned archive page (the payload does not matter to the ledger)."""
    return Delivery(channel, target, article, revision, language, b"<html></html>", "text/html")


def by_key(ledger: Ledger) -> dict[str, dict]:
    return {row["key"]: row for row in ledger.rows()}


def head_revision() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def test_record_writes_pending_rows_before_anything_is_sent(ledger):
    plan = [page(), page("index.html"), page("sitemap.xml", language=None)]
    keys = [d.key for d in plan]

    got = ledger.record(plan, run_id="run-1")

    assert got.new == frozenset(keys)
    assert got.states == {k: State.PENDING.value for k in keys}
    assert sorted(got.to_deliver()) == sorted(keys)
    rows = by_key(ledger)
    assert set(rows) == set(keys)
    for delivery in plan:
        row = rows[delivery.key]
        assert (row["channel"], row["target"], row["article_id"], row["revision"], row["language"]) == (
            delivery.channel,
            delivery.target,
            delivery.article_id,
            delivery.revision,
            delivery.language,
        )
        assert (row["state"], row["attempts"], row["run_id"]) == ("pending", 0, "run-1")
        assert row["provider_ref"] is None and row["detail"] is None and row["sent_at"] is None
        assert row["created_at"].tzinfo is not None
        assert abs(row["created_at"] - utcnow()) < timedelta(minutes=1)


def test_recording_the_same_deliveries_again_inserts_nothing(ledger):
    plan = [page(), page("index.html")]
    ledger.record(plan, run_id="run-1")
    ledger.apply([Receipt.sent(plan[0].key, "etag-1")])

    again = ledger.record(plan, run_id="run-2")

    assert again.new == frozenset()
    assert again.states == {plan[0].key: "sent", plan[1].key: "pending"}
    assert again.to_deliver() == [plan[1].key]  # a crashed run's pending row is still owed
    rows = by_key(ledger)
    assert len(rows) == 2
    assert {r["run_id"] for r in rows.values()} == {"run-1"}

    extra = page("topics/bousai/index.html")
    grown = ledger.record(plan + [extra], run_id="run-3")
    assert grown.new == frozenset({extra.key})
    assert len(ledger.rows()) == 3


def test_plans_larger_than_one_chunk_are_recorded_once(ledger):
    plan = [page(f"articles/a/{n}.html") for n in range(1234)]

    first = ledger.record(plan)
    second = ledger.record(plan)

    assert len(first.new) == 1234 and second.new == frozenset()
    assert len(ledger.rows(keys=[d.key for d in plan])) == 1234


def test_begin_attempt_counts_attempts_of_the_given_keys_only(ledger):
    a, b = page("a.html"), page("b.html")
    ledger.record([a, b])

    ledger.begin_attempt([a.key])
    ledger.begin_attempt([a.key, b.key, "archive:unknown.html:zz:r9:ja"])

    rows = by_key(ledger)
    assert {k: r["attempts"] for k, r in rows.items()} == {a.key: 2, b.key: 1}
    assert {r["state"] for r in rows.values()} == {"pending"}
    assert len(rows) == 2  # an unknown key creates nothing


def test_apply_stores_each_outcome_and_stamps_sent_at_only_when_sent(ledger):
    sent, failed, skipped, retry, untouched = (page(f"{n}.html") for n in range(5))
    ledger.record([sent, failed, skipped, retry, untouched])

    ledger.apply([])  # nothing to store is fine
    ledger.apply(
        [
            Receipt.sent(sent.key, "etag-abc"),
            Receipt.failed(failed.key, "403 AccessDenied"),
            Receipt.skipped(skipped.key, "unchanged: identical bytes already stored", "etag-old"),
            Receipt.transient(retry.key, "503 SlowDown", retry_after=2.0),
        ]
    )

    rows = by_key(ledger)
    got = {k: (r["state"], r["provider_ref"], r["detail"]) for k, r in rows.items()}
    assert got == {
        sent.key: ("sent", "etag-abc", None),
        failed.key: ("failed", None, "403 AccessDenied"),
        skipped.key: ("skipped", "etag-old", "unchanged: identical bytes already stored"),
        retry.key: ("pending", None, "503 SlowDown"),
        untouched.key: ("pending", None, None),
    }
    assert rows[sent.key]["sent_at"] is not None
    assert abs(rows[sent.key]["sent_at"] - utcnow()) < timedelta(minutes=1)
    assert [k for k, r in rows.items() if r["sent_at"] is not None] == [sent.key]
    assert rows[sent.key]["updated_at"] >= rows[sent.key]["created_at"]


def test_settled_needs_rows_on_every_channel_and_none_pending(ledger):
    archive, feed = page(channel="archive"), page("atom.xml", channel="feeds")
    both = ["archive", "feeds"]
    assert ("a", "r1") not in ledger.settled(both)  # nothing recorded yet

    ledger.record([archive, feed])
    assert ("a", "r1") not in ledger.settled(both)  # recorded, but not marked planned yet
    ledger.mark_planned("a", "r1", "archive", 1)
    ledger.mark_planned("a", "r1", "feeds", 1)
    assert ("a", "r1") not in ledger.settled(both)  # both pending

    ledger.apply([Receipt.sent(archive.key, "etag")])
    assert ("a", "r1") not in ledger.settled(both)  # the feed is still pending

    ledger.apply([Receipt.failed(feed.key, "bad feed")])
    assert ("a", "r1") in ledger.settled(both)
    assert ("a", "r1") not in ledger.settled(both + ["mail"])  # no rows for mail yet
    assert ("a", "r2") not in ledger.settled(both)  # another revision
    assert ("b", "r1") not in ledger.settled(both)  # another article
    ledger.mark_planned("b", "r1", "archive", 0)
    ledger.mark_planned("b", "r1", "feeds", 0)
    assert ("b", "r1") in ledger.settled(both)  # an empty plan is settled too

    # Mail rows carry the fixed revision "once": a pending one still leaves the article unsettled.
    mail = Delivery("mail", "subscriber-1", "a", "once", "ja", b"")
    ledger.record([mail])
    ledger.mark_planned("a", "r1", "mail", 1)
    assert ("a", "r1") not in ledger.settled(["archive", "feeds", "mail"])
    ledger.apply([Receipt.sent(mail.key, "250")])
    assert ("a", "r1") in ledger.settled(["archive", "feeds", "mail"])


def test_a_plan_closes_only_its_own_languages_pending_rows(ledger):
    ja, th = (
        Delivery("mail", "subscriber-1", "a", "once", "ja", b""),
        Delivery("mail", "subscriber-2", "a", "once", "th", b""),
    )
    media = Delivery("archive", "media/x.png", "a", "r1", None, b"")
    ledger.record([ja, th, media])
    assert ledger.close_unplanned("mail", "a", [ja.key], "gone", "ja") == 0  # th is the Thai plan's
    assert ledger.close_unplanned("archive", "a", [], "gone", "en", unlabelled=False) == 0
    assert ledger.close_unplanned("archive", "a", [], "gone", "ja") == 1  # the original's media
    assert ledger.close_unplanned("mail", "a", [], "gone", "th") == 1


def test_previous_targets_are_this_channels_targets_of_other_revisions(ledger):
    ledger.record(
        [
            page("articles/a/index.html", revision="r1"),
            page("topics/bousai/index.html", revision="r1"),
            page("articles/a/index.html", revision="r2"),
            page("topics/kusei/index.html", revision="r2"),
            page("atom.xml", revision="r1", channel="feeds"),
            page("articles/b/index.html", article="b", revision="r1"),
        ]
    )

    assert ledger.previous_targets("archive", "a", "r2") == frozenset(
        {"articles/a/index.html", "topics/bousai/index.html"}
    )
    assert ledger.previous_targets("archive", "a", "r1") == frozenset(
        {"articles/a/index.html", "topics/kusei/index.html"}
    )
    assert ledger.previous_targets("feeds", "a", "r2") == frozenset({"atom.xml"})
    assert ledger.previous_targets("archive", "c", "r1") == frozenset()


def test_published_ids_are_articles_with_a_sent_or_skipped_delivery(ledger):
    plan = {name: page(article=name) for name in ("sent", "skipped", "failed", "pending", "mixed")}
    mixed_failed = page("index.html", article="mixed")
    feed = page("atom.xml", article="in-feeds", channel="feeds")
    ledger.record(list(plan.values()) + [mixed_failed, feed])

    ledger.apply(
        [
            Receipt.sent(plan["sent"].key, "etag"),
            Receipt.skipped(plan["skipped"].key, "unchanged"),
            Receipt.failed(plan["failed"].key, "denied"),
            Receipt.sent(plan["mixed"].key, "etag"),
            Receipt.failed(mixed_failed.key, "denied"),
            Receipt.sent(feed.key, "etag"),
        ]
    )

    assert ledger.published_ids("archive") == {"sent", "skipped", "mixed"}
    assert ledger.published_ids("feeds") == {"in-feeds"}
    assert ledger.published_ids("mail") == set()


def test_first_seen_is_recorded_once_and_stays_stable(ledger):
    assert ledger.first_seen("a", "r1", when=T0) == T0
    assert ledger.first_seen("a", "r1", when=T0 + timedelta(days=3)) == T0
    assert ledger.first_seen("a", "r1") == T0

    now = ledger.first_seen("a", "r2")
    assert now.tzinfo is not None and abs(now - utcnow()) < timedelta(minutes=1)
    assert ledger.first_seen("a", "r2") == now
    assert ledger.revision_times() == {("a", "r1"): T0, ("a", "r2"): now}


def test_first_seen_keeps_the_instant_of_a_non_utc_time(ledger):
    tokyo = datetime(2026, 11, 1, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))

    ledger.first_seen("a", "r1", when=tokyo)

    assert ledger.first_seen("a", "r1") == tokyo
    assert ledger.revision_times()[("a", "r1")] == tokyo


def test_migrations_run_on_open_and_reopening_is_idempotent(ledger, ledger_url):
    tables = set(inspect(ledger.engine).get_table_names())
    assert {"deliveries", "article_revisions", "alembic_version"} <= tables
    delivery = page()
    ledger.record([delivery])
    ledger.first_seen("a", "r1", when=T0)
    ledger.close()

    reopened = Ledger(ledger_url)
    try:
        reopened.migrate()  # running the migrations yet again changes nothing either
        with reopened.engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert versions == [head_revision()]
        assert list(by_key(reopened)) == [delivery.key]
        assert reopened.first_seen("a", "r1") == T0
        assert reopened.record([delivery]).new == frozenset()
    finally:
        reopened.close()


def test_the_unique_index_on_the_key_rejects_a_raw_duplicate(ledger):
    delivery = page()
    ledger.record([delivery])
    uniques = inspect(ledger.engine).get_unique_constraints("deliveries")
    assert ["key"] in [u["column_names"] for u in uniques]

    duplicate = dict(
        key=delivery.key,
        channel="archive",
        target="elsewhere.html",
        article_id="a",
        revision="r1",
        language="ja",
        state="pending",
        attempts=0,
        created_at=T0,
        updated_at=T0,
    )
    with pytest.raises(IntegrityError):
        with ledger.engine.begin() as conn:
            conn.execute(insert(deliveries).values(**duplicate))

    with ledger.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(deliveries)).scalar() == 1


def test_clock_refreshes_say_since_when_the_sites_clock_pages_are_current(ledger):
    """``current_since``: the newest ``clock-`` plan of the site, else the channel's first plan;
    closing by revision prefix leaves the site's other rows (furniture) alone."""
    from koho.ledger import SITE_ID

    assert ledger.current_since("archive", "clock-") is None
    ledger.mark_planned("a", "r1", "archive", 3, when=T0)
    ledger.mark_planned("b", "r1", "archive", 3, when=T0 + timedelta(hours=1))
    ledger.mark_planned("a", "r1", "feeds", 1, when=T0 - timedelta(hours=1))
    assert ledger.current_since("archive", "clock-") == T0
    ledger.mark_planned(SITE_ID, "clock-2", "archive", 2, when=T0 + timedelta(days=2))
    ledger.mark_planned(SITE_ID, "clock-1", "archive", 2, when=T0 + timedelta(days=1))
    ledger.mark_planned(SITE_ID, "furniture-x", "archive", 1, when=T0 + timedelta(days=3))
    assert ledger.current_since("archive", "clock-") == T0 + timedelta(days=2)

    old, furniture = page("index.html", SITE_ID, "clock-1"), page("robots.txt", SITE_ID, "furniture-x")
    new = page("index.html", SITE_ID, "clock-2")
    ledger.record([old, furniture, new])
    assert ledger.close_unplanned("archive", SITE_ID, [new.key], "superseded", revision_prefix="clock-") == 1
    assert {k: r["state"] for k, r in by_key(ledger).items()} == {
        old.key: "skipped",
        furniture.key: "pending",
        new.key: "pending",
    }
