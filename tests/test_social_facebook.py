"""Facebook Page: feed posts through a loopback fake Graph API, with honest receipts."""

from __future__ import annotations

import json

import pytest

from channels.facebook import FacebookChannel, FacebookSettings
from koho.ledger import Ledger
from koho.settings import Settings
from tests.fakes.graph_api import PAGE_ID, PAGE_TOKEN, FakeGraph
from tests.fakes.steps import edit_front_matter, publish, rows

ARTICLE = "sogo-bousai-kunren-2026"


@pytest.fixture
def graph(workspace):
    fake = FakeGraph().start()
    ledger = Ledger(Settings().db_url())
    yield fake, ledger
    ledger.close()
    fake.stop()


def channel(fake: FakeGraph, token: str = PAGE_TOKEN) -> FacebookChannel:
    return FacebookChannel(
        FacebookSettings(api_url=f"{fake.url}/v21.0", page_id=PAGE_ID, page_token=token, timeout=1.0)
    )


def test_feed_post_once_with_graph_id_then_comment_then_delete(graph, workspace):
    fake, ledger = graph
    receipts, transient = publish(channel(fake), ARTICLE, ledger)
    assert transient is None and receipts[0].state == "sent"
    ((post_id, form),) = fake.posts.items()
    assert receipts[0].provider_ref == post_id
    assert form["link"] == f"https://koho.example.city.lg.jp/articles/{ARTICLE}/" and "総合防災訓練" in form["message"]
    assert publish(channel(fake), ARTICLE, ledger)[0] == []  # a re-run posts nothing

    edit_front_matter(workspace, ARTICLE, change_note="受付時間を訂正しました。")
    receipts, _ = publish(channel(fake), ARTICLE, ledger)
    assert receipts[0].state == "sent" and fake.comments[post_id][0].startswith(
        "【訂正・変更】受付時間を訂正しました。"
    )

    edit_front_matter(workspace, ARTICLE, status="withdrawn")
    receipts, _ = publish(channel(fake), ARTICLE, ledger)
    assert (receipts[0].state, receipts[0].provider_ref) == ("sent", post_id) and not fake.posts


@pytest.mark.parametrize(
    "fault, state, detail",
    [
        (
            dict(
                status=400,
                body={"error": {"message": "(#32) Page request limit reached", "code": 32}},
                headers={
                    "X-Business-Use-Case-Usage": json.dumps({PAGE_ID: [{"estimated_time_to_regain_access": 0}]}),
                    "Retry-After": "1",
                },
            ),
            "pending",
            "Graph 400 (code 32)",
        ),
        (
            dict(status=503, body={"error": {"message": "Service temporarily unavailable", "code": 2}}),
            "pending",
            "Graph 503",
        ),
        (dict(timeout=1.5), "uncertain", "Graph API did not answer after the request was sent"),
        (
            dict(status=400, body={"error": {"message": "(#200) Permissions error", "code": 200}}),
            "failed",
            "Graph 400 (code 200): (#200) Permissions error",
        ),
    ],
)
def test_throttling_errors_and_timeouts(graph, fault, state, detail, clock):
    fake, ledger = graph
    fake.fail_next(**fault)
    receipts, transient = publish(channel(fake), ARTICLE, ledger)
    row = rows(ledger, "facebook")["post"]
    assert row["state"] == state and row["detail"].startswith(detail)
    assert (transient is not None) == (state == "pending")
    if state != "failed":  # a later run: the timed-out post was not made, so it is made now, once
        clock.advance(minutes=2)
        assert publish(channel(fake), ARTICLE, ledger)[0][0].state == "sent" and len(fake.posts) == 1


def test_a_post_accepted_but_unanswered_is_found_not_posted_twice(graph, clock):
    fake, ledger = graph
    fake.fail_next(accept=True, timeout=1.5)  # Graph makes the post, the answer never comes
    publish(channel(fake), ARTICLE, ledger)
    assert rows(ledger, "facebook")["post"]["state"] == "uncertain" and len(fake.posts) == 1
    clock.advance(minutes=2)
    receipts, transient = publish(channel(fake), ARTICLE, ledger)
    row = rows(ledger, "facebook")["post"]
    assert transient is None and row["state"] == "sent" and row["provider_ref"] == next(iter(fake.posts))
    assert len(fake.posts) == 1 and len(fake.calls("POST")) == 1 and row["in_doubt"]


def test_bad_token_fails_with_graph_message(graph):
    fake, ledger = graph
    receipts, _ = publish(channel(fake, token="expired"), ARTICLE, ledger)
    assert receipts[0].state == "failed" and "code 190" in receipts[0].detail and "expired" not in receipts[0].detail
