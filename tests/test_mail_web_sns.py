"""POST /sns over real HTTP: SES notifications signed by the loopback SNS (``tests/sns_fixtures``)
reach the uvicorn-served service, which changes subscribers as ``channels/mail/sns.py`` decides."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from koho.settings import Settings
from tests.mail_peers import Clock, start
from tests.sns_fixtures import OTHER_TOPIC, TOPIC, bounce, complaint, loopback_verifier, serve_cert, signed
from tests.test_mail_web import seed


@pytest.fixture
def service(settings, sink):
    running, stop = start(settings, Clock(), sink, sns_verifier=loopback_verifier())
    yield running
    stop()


def notify(url: str, message: dict) -> httpx.Response:
    """POST an envelope the way SNS does: JSON as text/plain, its type in a header."""
    return httpx.post(
        url,
        content=json.dumps(message, indent=2).encode(),
        timeout=10,
        headers={"content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": message["Type"]},
    )


def with_headers(notification: str, size: int) -> str:
    """An SES notification carrying the bounced mail's headers, as SES sends when asked to."""
    event = json.loads(notification)
    event["mail"]["headers"] = [{"name": f"X-Header-{i}", "value": "v" * 1000} for i in range(size // 1024)]
    return json.dumps(event)


def test_signed_bounce_suppresses_and_complaint_unsubscribes(service, peer, keys, caplog):
    caplog.set_level(logging.INFO)
    watched = [logging.getLogger(name) for name in ("koho", "uvicorn")]  # they do not propagate
    for logger in watched:
        logger.addHandler(caplog.handler)
    hard = seed(service, "hard.bounce@example.jp", "confirmed")
    spam = seed(service, "complainer@example.jp", "confirmed")
    stays = seed(service, "stays@example.jp", "confirmed")
    url = serve_cert(peer, keys[0])
    try:
        # With the original headers the envelope is far above the forms' 16 KiB cap.
        message = signed(
            "Notification",
            keys[0],
            url,
            "2",
            Message=with_headers(bounce("Permanent", "Hard.Bounce@example.jp"), 80 * 1024),
        )
        assert len(json.dumps(message)) > 80 * 1024
        answer = notify(service.base + "sns", message)
        assert (answer.status_code, answer.text) == (200, "notification")
        assert answer.headers["content-type"].startswith("text/plain")
        assert (
            answer.headers["cache-control"] == "no-store"
            and "default-src 'none'" in answer.headers["content-security-policy"]
        )
        # Behind a proxy that strips the /mail prefix, the same route and the same cap apply.
        stripped = service.base.replace("/mail/", "/") + "sns"
        spammed = notify(
            stripped,
            signed(
                "Notification", keys[0], url, "1", Message=with_headers(complaint("complainer@example.jp"), 40 * 1024)
            ),
        )
        assert (spammed.status_code, spammed.text) == (200, "notification")
    finally:
        for logger in watched:
            logger.removeHandler(caplog.handler)
    assert service.store.get(hard).state == "suppressed"
    assert service.store.get(spam).state == "unsubscribed"
    assert service.store.get(stays).state == "confirmed"
    logs = "\n".join(
        f"{r.levelname} {r.getMessage()}"
        for r in caplog.records
        if r.name.split(".")[0] in ("koho", "channels", "uvicorn")
    )
    assert "POST /sns 200" in logs and f"subscriber {hard}: confirmed -> suppressed" in logs
    assert "hard.bounce" not in logs.lower() and "complainer" not in logs and "@example.jp" not in logs


def test_bad_signatures_oversized_and_malformed_bodies_change_nothing(service, peer, keys):
    victim = seed(service, "victim@example.jp", "confirmed")
    url = serve_cert(peer, keys[0])
    tampered = signed("Notification", keys[0], url, Message=bounce("Transient", "victim@example.jp"))
    tampered["Message"] = bounce("Permanent", "victim@example.jp")
    forged = signed("Notification", keys[1], url, "2", Message=complaint("victim@example.jp"))
    for message in (tampered, forged):
        answer = notify(service.base + "sns", message)
        assert (answer.status_code, answer.text) == (403, "refused")
        assert answer.headers["content-type"].startswith("text/plain")
    malformed = httpx.post(service.base + "sns", content=b"{not json", timeout=10)
    assert (malformed.status_code, malformed.text) == (400, "refused")
    huge = signed(
        "Notification", keys[0], url, Message=with_headers(bounce("Permanent", "victim@example.jp"), 600 * 1024)
    )
    assert notify(service.base + "sns", huge).status_code == 413
    assert service.store.get(victim).state == "confirmed"
    assert service.http.get("sns").status_code == 405  # a person who opens it gets the page, not SNS's text


@pytest.mark.parametrize(
    "arns, reason", [("", "is not one of ours"), (f"{OTHER_TOPIC}, {TOPIC}", "scheme 'http' is not allowed")]
)
def test_the_default_verifier_is_strict(settings, sink, peer, keys, monkeypatch, caplog, arns, reason):
    """Without an injected verifier: only KOHO_MAIL_SNS_TOPIC_ARNS (none set: no topic at all),
    and certificates only from SNS over HTTPS, never fetched from anywhere else."""
    caplog.set_level(logging.INFO, logger="channels.mail.sns")
    monkeypatch.setenv("KOHO_MAIL_SNS_TOPIC_ARNS", arns)
    running, stop = start(Settings(), Clock(), sink)
    try:
        victim = seed(running, "victim@example.jp", "confirmed")
        url = serve_cert(peer, keys[0])
        answer = notify(
            running.base + "sns", signed("Notification", keys[0], url, Message=bounce("Permanent", "victim@example.jp"))
        )
        assert (answer.status_code, answer.text) == (403, "refused")
        assert url.removeprefix(peer.base) not in peer.seen
        assert running.store.get(victim).state == "confirmed"
    finally:
        stop()
    assert "SNS message refused (403): " in caplog.text and reason in caplog.text
