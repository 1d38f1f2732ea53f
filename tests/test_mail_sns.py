"""SNS bounce and complaint notifications, signed for real and checked against a loopback peer.

The test is its own SNS (``tests/sns_fixtures.py``): an RSA key and a self-signed certificate
made with ``cryptography``, the PEM and the SubscribeURL served by a small ``http.server`` on
127.0.0.1, and messages signed the way AWS documents it (string to sign written there
independently of the module under test).
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from channels.mail.sns import SnsVerifier, handle_sns
from koho.cli import app
from koho.ledger import Ledger
from koho.subscribers import NewSubscriber, SubscriberStore, normalise_address
from tests.sns_fixtures import OTHER_TOPIC, TOPIC, bounce, complaint, loopback_verifier, serve_cert, signed

PEOPLE = ("a@example.jp", "b@example.jp", "c@example.jp")


def post(message: dict, store, verifier, header: str | None = "same"):
    body = json.dumps(message, ensure_ascii=False, indent=2).encode()
    return handle_sns(body, message["Type"] if header == "same" else header, store, verifier)


# -- the store -----------------------------------------------------------------------------------


def confirmed(store, *addresses):
    rows = [NewSubscriber(*normalise_address(a), ("bousai",)) for a in addresses]
    store.upsert(rows, "confirmed", "test")


@pytest.fixture
def store(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'koho.db'}")
    subscribers = SubscriberStore(ledger.engine)
    confirmed(subscribers, *PEOPLE)
    yield subscribers
    ledger.close()


def states(store) -> dict[str, str]:
    return {a: store.find(a).state for a in PEOPLE}


@pytest.fixture
def verifier():
    return loopback_verifier()


# -- notifications -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_permanent_bounce_suppresses_transient_only_records(peer, keys, store, verifier, version):
    url = serve_cert(peer, keys[0])
    hard = post(
        signed(
            "Notification",
            keys[0],
            url,
            version,
            Message=bounce("Permanent", "A@example.jp"),
            Subject="Amazon SES Email Event Notification",
        ),
        store,
        verifier,
    )
    soft = post(
        signed("Notification", keys[0], url, version, Message=bounce("Transient", "b@example.jp")), store, verifier
    )
    maybe = post(
        signed("Notification", keys[0], url, version, Message=bounce("Undetermined", "c@example.jp")), store, verifier
    )
    assert (hard.status, hard.outcome, hard.suppressed) == (200, "notification", 1)
    assert (soft.status, soft.suppressed, soft.recorded) == (200, 0, 1)
    assert (maybe.status, maybe.recorded) == (200, 1)
    assert states(store) == {"a@example.jp": "suppressed", "b@example.jp": "confirmed", "c@example.jp": "confirmed"}
    assert [s.address for b in store.confirmed_for(["bousai"]) for s in b] == ["b@example.jp", "c@example.jp"]
    assert peer.seen.count(url.removeprefix(peer.base)) == 1  # the certificate is fetched once


def test_complaint_unsubscribes_and_never_downgrades_suppressed(peer, keys, store, verifier):
    url = serve_cert(peer, keys[0])
    post(signed("Notification", keys[0], url, Message=bounce("Permanent", "a@example.jp")), store, verifier)
    result = post(
        signed("Notification", keys[0], url, "2", Message=complaint("a@example.jp", "b@example.jp")), store, verifier
    )
    assert (result.status, result.unsubscribed, result.unchanged) == (200, 1, 1)
    assert states(store) == {"a@example.jp": "suppressed", "b@example.jp": "unsubscribed", "c@example.jp": "confirmed"}


def test_event_publishing_shape(peer, keys, store, verifier):
    url = serve_cert(peer, keys[0])
    hard = post(
        signed("Notification", keys[0], url, "2", Message=bounce("Permanent", '"A" <a@example.jp>', field="eventType")),
        store,
        verifier,
    )
    spam = post(
        signed("Notification", keys[0], url, "2", Message=complaint("c@example.jp", field="eventType")), store, verifier
    )
    delivered = post(
        signed("Notification", keys[0], url, "2", Message=json.dumps({"eventType": "Delivery"})), store, verifier
    )
    assert (hard.suppressed, spam.unsubscribed) == (1, 1)
    assert (delivered.status, delivered.outcome) == (200, "ignored")
    assert states(store) == {"a@example.jp": "suppressed", "b@example.jp": "confirmed", "c@example.jp": "unsubscribed"}


def test_unknown_addresses_and_non_ses_messages_are_ignored(peer, keys, store, verifier):
    url = serve_cert(peer, keys[0])
    result = post(
        signed("Notification", keys[0], url, Message=bounce("Permanent", "nobody@example.jp", "not an address")),
        store,
        verifier,
    )
    setup = post(
        signed(
            "Notification", keys[0], url, Message="Successfully validated SNS topic for Amazon SES event destination."
        ),
        store,
        verifier,
    )
    assert (result.status, result.unknown, result.suppressed) == (200, 2, 0)
    assert (setup.status, setup.outcome) == (200, "ignored")
    assert set(states(store).values()) == {"confirmed"}


# -- subscriptions -------------------------------------------------------------------------------


def test_subscription_confirmation_calls_subscribe_url(peer, keys, store, verifier):
    url = serve_cert(peer, keys[1])
    token = uuid.uuid4().hex
    peer.files["/confirm"] = (200, b"<ConfirmSubscriptionResponse/>")
    subscribe = f"{peer.base}/confirm?Action=ConfirmSubscription&TopicArn={TOPIC}&Token={token}"
    message = signed(
        "SubscriptionConfirmation",
        keys[1],
        url,
        "2",
        Token=token,
        SubscribeURL=subscribe,
        Message=f"You have chosen to subscribe to the topic {TOPIC}.",
    )
    result = post(message, store, verifier)
    assert (result.status, result.outcome) == (200, "subscription-confirmed")
    assert any(token in path for path in peer.seen if path.startswith("/confirm"))

    gone = post(
        signed(
            "UnsubscribeConfirmation",
            keys[1],
            url,
            Token=token,
            SubscribeURL=subscribe,
            Message="You have unsubscribed.",
        ),
        store,
        verifier,
    )
    assert (gone.status, gone.outcome) == (200, "unsubscribe-confirmed")
    assert sum(token in path for path in peer.seen) == 1  # not re-subscribed behind the operator's back


def test_forged_confirmation_does_not_call_subscribe_url(peer, keys, store, verifier):
    url = serve_cert(peer, keys[0])
    token = uuid.uuid4().hex
    message = signed(
        "SubscriptionConfirmation",
        keys[1],
        url,
        Token=token,
        Message="hello",
        SubscribeURL=f"{peer.base}/confirm?Token={token}",
    )
    assert post(message, store, verifier).status == 403
    assert not any(token in path for path in peer.seen)


# -- refusals ------------------------------------------------------------------------------------


def _tampered(peer, keys):
    message = signed("Notification", keys[0], serve_cert(peer, keys[0]), Message=bounce("Transient", "a@example.jp"))
    message["Message"] = bounce("Permanent", "a@example.jp")
    return message


REFUSALS = {
    "tampered": (_tampered, True),
    "wrong key": (
        lambda peer, keys: signed(
            "Notification", keys[1], serve_cert(peer, keys[0]), "2", Message=bounce("Permanent", "a@example.jp")
        ),
        True,
    ),
    "expired certificate": (
        lambda peer, keys: signed(
            "Notification", keys[0], serve_cert(peer, keys[0], expired=True), Message=complaint("a@example.jp")
        ),
        True,
    ),
    "disallowed host": (
        lambda peer, keys: signed(
            "Notification",
            keys[0],
            serve_cert(peer, keys[0]).replace("127.0.0.1", "localhost"),
            Message=bounce("Permanent", "a@example.jp"),
        ),
        False,
    ),
    "wrong topic": (
        lambda peer, keys: signed(
            "Notification",
            keys[0],
            serve_cert(peer, keys[0]),
            topic=OTHER_TOPIC,
            Message=bounce("Permanent", "a@example.jp"),
        ),
        False,
    ),
    "unknown signature version": (
        lambda peer, keys: signed(
            "Notification", keys[0], serve_cert(peer, keys[0]), "3", Message=complaint("a@example.jp")
        ),
        False,
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused_messages_change_nothing(peer, keys, store, verifier, case):
    build, fetches_cert = REFUSALS[case]
    message = build(peer, keys)
    cert_path = urlsplit(message["SigningCertURL"]).path
    result = post(message, store, verifier)
    assert (result.status, result.outcome) == (403, "refused"), result.detail
    assert set(states(store).values()) == {"confirmed"}
    assert (cert_path in peer.seen) == fetches_cert


def test_strict_defaults_refuse_http_and_foreign_hosts_without_fetching(peer, keys, store):
    strict = SnsVerifier([TOPIC])
    url = serve_cert(peer, keys[0])
    result = post(signed("Notification", keys[0], url, Message=bounce("Permanent", "a@example.jp")), store, strict)
    assert result.status == 403 and "scheme" in result.detail
    assert url.removeprefix(peer.base) not in peer.seen
    for bad in (
        "http://sns.ap-northeast-1.amazonaws.com/x.pem",
        "https://sns.ap-northeast-1.amazonaws.com.evil.example/x.pem",
        "https://sns.ap-northeast-1.amazonaws.com@evil.example/x.pem",
        "https://evil.example/sns.ap-northeast-1.amazonaws.com/x.pem",
        "https://sns.ap-northeast-1.amazonaws.com/x.txt",
    ):
        message = signed("Notification", keys[0], bad, Message=complaint("a@example.jp"))
        assert post(message, store, strict).status == 403, bad
    assert strict.check_url("https://sns.ap-northeast-1.amazonaws.com/SimpleNotificationService-1.pem", "cert", ".pem")
    assert strict.check_url("https://SNS.cn-north-1.amazonaws.com.cn/x.pem", "cert", ".pem")
    assert set(states(store).values()) == {"confirmed"}


def test_malformed_bodies_are_400(peer, keys, store, verifier):
    good = signed("Notification", keys[0], serve_cert(peer, keys[0]), Message=complaint("a@example.jp"))
    for body, header in (
        (b"{not json", "Notification"),
        (b"\xff\xfe", None),
        (b"[1, 2]", None),
        (json.dumps({**good, "Type": "Surprise"}).encode(), None),
        (json.dumps(good).encode(), "SubscriptionConfirmation"),
        (json.dumps({k: v for k, v in good.items() if k != "MessageId"}).encode(), None),
        (json.dumps({"notificationType": "Bounce"}).encode(), None),
    ):  # raw delivery
        result = handle_sns(body, header, store, verifier)
        assert (result.status, result.outcome) == (400, "refused"), body
    assert set(states(store).values()) == {"confirmed"}


# -- no way back ---------------------------------------------------------------------------------


def test_import_cannot_resurrect_a_suppressed_address(workspace, peer, keys, verifier):
    ledger = Ledger(f"sqlite:///{workspace / '.koho' / 'koho.db'}")
    store = SubscriberStore(ledger.engine)
    confirmed(store, "a@example.jp")
    url = serve_cert(peer, keys[0])
    post(signed("Notification", keys[0], url, "2", Message=bounce("Permanent", "a@example.jp")), store, verifier)
    csv = "address,topics\nA@example.jp,bousai\nnew@example.jp,bousai\n"
    (workspace / "again.csv").write_text(csv, encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(app, ["subscribers", "import", "again.csv", "--state", "confirmed"])
    assert refused.exit_code == 1 and "suppressed" in refused.output
    skipped = runner.invoke(app, ["subscribers", "import", "again.csv", "--state", "confirmed", "--skip-invalid"])
    assert skipped.exit_code == 0, skipped.output
    store.upsert([NewSubscriber(*normalise_address("a@example.jp"), ("bousai",))], "confirmed", "direct")
    assert store.find("a@example.jp").state == "suppressed"
    assert store.find("new@example.jp").state == "confirmed"
    ledger.close()
