"""Sign-up abuse (issue 12, ADR 0013): one mailbox cannot be flooded through its ``+tag`` and
Gmail-dot variants, one client cannot sign up address after address, and neither limit resets
when the service restarts. Over a limit the answer is the same page; nothing is stored or mailed.
Real uvicorn and a real SMTP sink, as in tests/test_mail_web.py."""

from __future__ import annotations

from channels.mail.web.limits import CLIENT_LIMIT, MAILBOX_LIMIT, client_address, mailbox
from koho.ledger_schema import rate_limits
from tests.mail_peers import Clock, start
from tests.peers import free_port
from tests.test_mail_web import SENT

VARIANTS = [
    "taro.yamada@gmail.com",
    "Taro.Yamada+news@gmail.com",
    "t.a.r.o.y.a.m.a.d.a@googlemail.com",
    "taroyamada+1@GMAIL.com",
    "tarO.yamadA+x+y@gmail.com",
]


def test_mailbox_normalisation():
    assert {mailbox(a.lower()) for a in VARIANTS} == {"taroyamada@gmail.com"}
    assert mailbox("hanako.s+ward@example.jp") == "hanako.s@example.jp"  # dots matter elsewhere
    assert client_address("2001:db8::1", {}) == client_address("2001:db8::ffff", {}) == "2001:db8::/64"
    assert client_address("::ffff:192.0.2.7", {}) == "192.0.2.7"


def test_one_mailbox_gets_at_most_its_limit_of_mails_through_its_variants(service):
    answers = []
    for address in VARIANTS:
        answers.append(service.signup(address, "bousai"))
        service.clock.advance(minutes=11)  # past the per-subscriber interval of the mailer
    assert {(a.status_code, a.text) for a in answers} == {(200, answers[0].text)} and SENT in answers[0].text
    assert len(VARIANTS) > MAILBOX_LIMIT[0]
    assert len(service.mails(MAILBOX_LIMIT[0])) == MAILBOX_LIMIT[0]
    states, _, _ = service.store.counts()
    assert sum(states.values()) <= MAILBOX_LIMIT[0]  # the refused sign-ups stored nothing
    # The table names no mailbox: keys are HMACs.
    with service.store.engine.connect() as conn:
        keys = [row.key for row in conn.execute(rate_limits.select())]
    assert keys and not any("@" in k or "taro" in k for k in keys)

    service.clock.advance(hours=24)  # a new window
    service.signup("taro.yamada+later@gmail.com", "bousai")
    assert len(service.mails(MAILBOX_LIMIT[0] + 1)) == MAILBOX_LIMIT[0] + 1


def test_one_client_signs_up_at_most_its_limit_and_forged_forwarding_headers_do_not_help(service):
    most = CLIENT_LIMIT[0]
    for i in range(most + 5):
        # A client cannot pose as many by sending the header itself: it is not configured.
        answer = service.http.post(
            "",
            data={"address": f"user{i}@example.jp", "topics": ["bousai"]},
            headers={"x-forwarded-for": f"198.51.100.{i}", "forwarded": f"for=198.51.100.{i}"},
        )
        assert answer.status_code == 200 and SENT in answer.text
    assert len(service.mails(most)) == most
    states, _, _ = service.store.counts()
    assert sum(states.values()) == most


def test_limits_survive_a_restart(settings, sink):
    clock = Clock()
    first, stop = start(settings, clock, sink)
    try:
        for i in range(CLIENT_LIMIT[0]):
            first.signup(f"person{i}@example.jp", "bousai")
        first.mails(CLIENT_LIMIT[0])
    finally:
        stop()
    again, stop = start(settings, clock, sink, free_port())
    try:
        assert SENT in again.signup("one.more@example.jp", "bousai").text
        assert again.store.find("one.more@example.jp") is None
        again.mails(CLIENT_LIMIT[0])
    finally:
        stop()


def test_the_proxy_header_counts_only_when_configured(settings, sink):
    configured = settings.model_copy(update={"mail_trusted_proxy_header": "X-Forwarded-For"})
    running, stop = start(configured, Clock(), sink)
    try:
        most = CLIENT_LIMIT[0]
        for i in range(most + 2):  # the proxy appends the client's address after what the client sent
            running.http.post(
                "",
                data={"address": f"a{i}@example.jp", "topics": ["bousai"]},
                headers={"x-forwarded-for": f"10.9.9.{i}, 203.0.113.5"},
            )
        running.mails(most)
        # Another client behind the same proxy still can.
        running.http.post(
            "", data={"address": "other@example.jp", "topics": ["bousai"]}, headers={"x-forwarded-for": "203.0.113.77"}
        )
        assert running.mails(most + 1)[-1]["To"] == "other@example.jp"
    finally:
        stop()
