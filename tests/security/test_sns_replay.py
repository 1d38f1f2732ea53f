"""A captured SNS notification cannot be replayed (issue 12, ADR 0013).

SNS signs what it sends, but a signature does not expire: whoever captured a complaint for an
address (a log, a proxy, a misrouted request) could POST it again after the owner signed up
again and unsubscribe them. koho refuses messages whose ``Timestamp`` is over an hour before its
clock, and acts on each ``MessageId`` once (remembered in the database, so across restarts).
Real uvicorn, signed by the loopback SNS of ``tests/sns_fixtures``; the clock is the service's.
"""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

import pytest

from tests.mail_peers import Clock, start
from tests.sns_fixtures import TOPIC, complaint, loopback_verifier, serve_cert, signed
from tests.test_mail_web import link, seed
from tests.test_mail_web_sns import notify


@pytest.fixture
def service(settings, sink):
    running, stop = start(settings, Clock(), sink, sns_verifier=loopback_verifier())
    yield running
    stop()


def stamp(when) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_messages_older_than_an_hour_are_refused(service, peer, keys):
    sid = seed(service, "taro@example.jp", "confirmed")
    url = serve_cert(peer, keys[0])
    now = service.clock.now
    old = signed(
        "Notification",
        keys[0],
        url,
        "2",
        Message=complaint("taro@example.jp"),
        Timestamp=stamp(now - timedelta(minutes=61)),
    )
    answer = notify(service.base + "sns", old)
    assert answer.status_code == 400 and answer.text == "refused"
    assert service.store.get(sid).state == "confirmed"

    recent = signed(
        "Notification",
        keys[0],
        url,
        "2",
        Message=complaint("taro@example.jp"),
        Timestamp=stamp(now - timedelta(minutes=59)),
    )
    assert (notify(service.base + "sns", recent).status_code, service.store.get(sid).state) == (200, "unsubscribed")


def test_a_replayed_complaint_does_not_unsubscribe_the_new_subscription(service, peer, keys):
    sid = seed(service, "hanako@example.jp", "confirmed")
    url = serve_cert(peer, keys[0])
    captured = signed(
        "Notification", keys[0], url, "2", Message=complaint("hanako@example.jp"), Timestamp=stamp(service.clock.now)
    )
    assert notify(service.base + "sns", captured).text == "notification"
    assert service.store.get(sid).state == "unsubscribed"

    service.clock.advance(minutes=20)  # the owner signs up again and confirms
    service.signup("hanako@example.jp", "bousai")
    service.http.post(link(service.mails(1)[0], "confirm"))
    assert service.store.get(sid).state == "confirmed"

    replay = notify(service.base + "sns", captured)
    assert (replay.status_code, replay.text) == (200, "ignored")  # SNS must not retry it
    assert service.store.get(sid).state == "confirmed"


def test_the_memory_survives_a_restart(settings, sink, peer, keys):
    first, stop = start(settings, Clock(), sink, sns_verifier=loopback_verifier())
    try:
        sid = seed(first, "jiro@example.jp", "confirmed")
        url = serve_cert(peer, keys[0])
        captured = signed(
            "Notification", keys[0], url, "2", Message=complaint("jiro@example.jp"), Timestamp=stamp(first.clock.now)
        )
        assert notify(first.base + "sns", captured).text == "notification"
        first.store.set_state(sid, "confirmed")  # as if signed up and confirmed again
    finally:
        stop()
    again, stop = start(settings, Clock(), sink, sns_verifier=loopback_verifier())
    try:
        assert notify(again.base + "sns", captured).text == "ignored"
        assert again.store.get(sid).state == "confirmed"
    finally:
        stop()


def test_a_message_that_failed_is_acted_on_when_sns_retries_it(service, peer, keys):
    url = serve_cert(peer, keys[1])
    token = uuid.uuid4().hex
    path = f"/confirm-{token}"
    subscribe = f"{peer.base}{path}?Action=ConfirmSubscription&TopicArn={TOPIC}&Token={token}"
    message = signed(
        "SubscriptionConfirmation",
        keys[1],
        url,
        "2",
        Token=token,
        SubscribeURL=subscribe,
        Message="confirm",
        Timestamp=stamp(service.clock.now),
    )
    assert notify(service.base + "sns", message).status_code == 502  # SubscribeURL not reachable yet
    peer.files[path] = (200, b"<ConfirmSubscriptionResponse/>")
    answer = notify(service.base + "sns", message)
    assert (answer.status_code, answer.text) == (200, "subscription-confirmed")
