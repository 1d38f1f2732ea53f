"""A fan-out bigger than one page (ADR 0039), published twice at once: the pages of both runs
interleave, and still every subscriber is mailed exactly once, the plan is marked only once all
pages are recorded, and a later run finds nothing left.
"""

from __future__ import annotations

import pytest

from tests.chaos.test_overlap import (  # noqa: F401  (peers: a fixture)
    SUBSCRIBERS,
    _ledger_with_audience,
    _run_two_at_once,
    peers,
)

pytestmark = pytest.mark.usefixtures("prefect_harness")

#: 2,000 subscribers (test_overlap's) in pages of 300: seven pages, the last one short.
PAGE = 300


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_overlapping_paged_fan_outs_send_everything_exactly_once(database, workspace, clock, monkeypatch, request):
    handler, _x, _graph = request.getfixturevalue("peers")  # test_overlap's SMTP sink and fakes
    monkeypatch.setenv("KOHO_CHANNELS", "mail")
    monkeypatch.setenv("KOHO_AUDIENCE_PAGE", str(PAGE))
    ledger, path = _ledger_with_audience(database, workspace, clock, monkeypatch, request)
    subscribers = SUBSCRIBERS
    assert subscribers > 6 * PAGE  # more than one page, and the last one not full

    results = _run_two_at_once(path, workspace)
    assert all(code in (0, 3) for code, _ in results), results

    print(
        f"chaos[overlap paged {database}]: runs 2, subscribers {subscribers}, page {PAGE}, mails "
        f"{sum(handler.received.values())}, lost {subscribers - len(handler.received)}, duplicated "
        f"{sum(n - 1 for n in handler.received.values())}"
    )
    assert len(handler.received) == subscribers and set(handler.received.values()) == {1}
    rows = ledger.rows(article_id="kinkyu", channel="mail")
    assert len(rows) == subscribers
    assert {r["state"] for r in rows} == {"sent"} and not any(r["in_doubt"] for r in rows)
    assert max(r["attempts"] for r in rows) == 1
    # Both runs went through every page: the plan is marked once, with every recipient.
    with ledger.engine.connect() as conn:
        planned = conn.exec_driver_sql("select deliveries from plans where article_id = 'kinkyu' and channel = 'mail'")
        assert [n for (n,) in planned] == [subscribers]

    # A later run finds nothing left.
    clock.advance(minutes=1)
    code, output = _run_two_at_once(path, workspace)[0]
    assert code == 0 and "Nothing new was sent" in output, output
    assert sum(handler.received.values()) == subscribers
    ledger.close()
