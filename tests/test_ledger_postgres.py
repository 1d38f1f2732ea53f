"""The delivery ledger on a real PostgreSQL server (tests/peers.py starts it on loopback).

The core behaviours are the SQLite tests of tests/test_ledger.py, imported and collected again
here with ``ledger_url`` pointing at a fresh PostgreSQL database per test. Added here: two ledgers
racing on the same keys, and a password never shown by ``Ledger.describe()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from koho.ledger import Ledger
from koho.ledger_schema import deliveries
from tests.test_ledger import (  # noqa: F401  (collected again, against PostgreSQL)
    page,
    test_apply_stores_each_outcome_and_stamps_sent_at_only_when_sent,
    test_begin_attempt_counts_attempts_of_the_given_keys_only,
    test_clock_refreshes_say_since_when_the_sites_clock_pages_are_current,
    test_first_seen_is_recorded_once_and_stays_stable,
    test_first_seen_keeps_the_instant_of_a_non_utc_time,
    test_migrations_run_on_open_and_reopening_is_idempotent,
    test_plans_larger_than_one_chunk_are_recorded_once,
    test_previous_targets_are_this_channels_targets_of_other_revisions,
    test_published_ids_are_articles_with_a_sent_or_skipped_delivery,
    test_record_writes_pending_rows_before_anything_is_sent,
    test_recording_the_same_deliveries_again_inserts_nothing,
    test_settled_needs_rows_on_every_channel_and_none_pending,
    test_the_unique_index_on_the_key_rejects_a_raw_duplicate,
)


@pytest.fixture
def ledger_url(fresh_postgres_db):
    return fresh_postgres_db


def race(
    url: str, table: str, action: Callable[[Ledger], object], verb: str = "INSERT INTO", first_only: bool = False
) -> list:
    """Run ``action`` on two Ledgers in two threads, both holding their first ``verb`` (INSERT
    INTO, UPDATE) on ``table`` until both got there: each has read the table before either
    writes, the interleaving that makes a race. ``first_only``: hold only that first statement
    (an action whose threads go on to write different numbers of them, as a claim and the
    receipts of only what it claimed). Returns each thread's result or exception."""
    ledgers = [Ledger(url), Ledger(url)]
    barrier = threading.Barrier(2, timeout=20)
    held = threading.local()

    def hold(_conn, _cursor, statement, _params, _context, _many):
        if statement.lstrip().upper().startswith(f"{verb} {table.upper()} "):
            if first_only and getattr(held, "done", False):
                return
            held.done = True
            barrier.wait()

    for each in ledgers:
        event.listen(each.engine, "before_cursor_execute", hold)

    def attempt(each: Ledger):
        try:
            return action(each)
        except Exception as exc:  # the race's outcome, reported to the test
            return exc

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            return list(pool.map(attempt, ledgers))
    finally:
        for each in ledgers:
            each.close()


def test_two_ledgers_racing_on_the_same_keys_store_one_row_per_key(ledger_url):
    plan = [page(f"articles/a/{n}.html") for n in range(50)]
    keys = {d.key for d in plan}

    results = race(ledger_url, "deliveries", lambda each: each.record(plan, run_id="race"))

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    for recorded in results:
        assert recorded.states == {k: "pending" for k in keys}
    check = Ledger(ledger_url)
    try:
        with check.engine.connect() as conn:
            total, distinct = conn.execute(select(func.count(), func.count(deliveries.c.key.distinct()))).one()
        assert (total, distinct) == (50, 50)
        assert {r["key"] for r in check.rows()} == keys
    finally:
        check.close()


def test_racing_ledgers_report_each_key_new_only_once(ledger_url):
    plan = [page(f"articles/a/{n}.html") for n in range(10)]

    first, second = race(ledger_url, "deliveries", lambda each: each.record(plan))

    assert first.new | second.new == {d.key for d in plan}
    assert first.new & second.new == frozenset()


def test_racing_ledgers_agree_on_first_seen(ledger_url):
    first, second = race(ledger_url, "article_revisions", lambda each: each.first_seen("a", "r1"))

    assert not isinstance(first, Exception), first
    assert not isinstance(second, Exception), second
    check = Ledger(ledger_url)
    try:
        stored = check.revision_times()[("a", "r1")]
    finally:
        check.close()
    assert stored in (first, second)


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_describe_masks_the_password(fresh_postgres_db, scheme):
    # The test server trusts loopback, so any password connects; it must never be shown.
    url = make_url(fresh_postgres_db).set(drivername=scheme, password="s3cr3t-Pw")
    ledger = Ledger(url.render_as_string(hide_password=False))
    try:
        shown = ledger.describe()
        assert "s3cr3t-Pw" not in shown
        assert shown == f"postgresql+psycopg://koho:***@127.0.0.1:{url.port}/{url.database}"
        assert ledger.record([page()]).new  # the URL really reached the server
    finally:
        ledger.close()
