"""Subscription links belong to one generation of a subscription (issue 12, ADR 0013).

A link carries the subscriber's current ``link_nonce``; unsubscribing, or signing up again after
unsubscribing, starts a new generation, so a link from an earlier mail (the one an attacker kept,
or a forwarded newsletter's) opens nothing. A signed id without the nonce opens nothing either.
"""

from __future__ import annotations

from datetime import timedelta

from itsdangerous import URLSafeTimedSerializer

from tests.mail_peers import SECRET
from tests.test_mail_web import link, seed

REFUSED = "このリンクは無効です"


def refused(service, path: str) -> bool:
    answers = [service.http.request(method, path) for method in ("GET", "POST")]
    return all(a.status_code == 400 and REFUSED in a.text for a in answers)


def test_old_links_stop_working_after_unsubscribe_and_signing_up_again(service):
    service.signup("hanako@example.jp", "bousai")
    first_confirm = link(service.mails(1)[0], "confirm")
    service.http.post(first_confirm)
    subscriber = service.store.find("hanako@example.jp")
    assert subscriber.state == "confirmed"
    tokens = service.app.state.tokens
    old = {
        purpose: tokens.issue(purpose, subscriber.id, subscriber.link_nonce)
        for purpose in ("preferences", "unsubscribe")
    }
    assert service.http.get(f"preferences/{old['preferences']}").status_code == 200

    assert service.http.post(f"unsubscribe/{old['unsubscribe']}").status_code == 200
    assert service.store.get(subscriber.id).state == "unsubscribed"
    for path in (
        f"preferences/{old['preferences']}",
        f"unsubscribe/{old['unsubscribe']}",
        f"one-click/{old['unsubscribe']}",
    ):
        assert refused(service, path), path

    # The address is signed up again (by its owner, or by anyone): a new generation.
    service.clock.advance(minutes=11)
    service.signup("hanako@example.jp", "kusei")
    second_confirm = link(service.mails(2)[1], "confirm")
    assert refused(service, first_confirm.split("/mail/", 1)[1])
    for path in (f"preferences/{old['preferences']}", f"one-click/{old['unsubscribe']}"):
        assert refused(service, path), path
    assert service.store.get(subscriber.id).state == "pending"  # the captured links changed nothing
    assert "登録が完了しました" in service.http.post(second_confirm).text
    assert service.store.get(subscriber.id).state == "confirmed"


def test_a_signed_id_without_the_current_nonce_opens_nothing(service):
    sid = seed(service, "taro@example.jp", "confirmed")
    tokens = service.app.state.tokens
    # What links looked like before generations: the bare id, validly signed with the real secret.
    for purpose, route in (
        ("confirm", "confirm"),
        ("preferences", "preferences"),
        ("unsubscribe", "unsubscribe"),
        ("unsubscribe", "one-click"),
    ):
        bare = URLSafeTimedSerializer(SECRET, salt=f"koho.{purpose}").dumps(sid)
        assert refused(service, f"{route}/{bare}"), route
        guessed = tokens.issue(purpose, sid, "A" * 22)
        assert refused(service, f"{route}/{guessed}"), route
    assert service.store.get(sid).state == "confirmed"


def test_a_pending_sign_up_typed_again_keeps_the_owner_s_confirmation_link(service):
    service.signup("jiro@example.jp", "bousai")
    confirm = link(service.mails(1)[0], "confirm")
    service.clock.advance(minutes=11)
    service.signup("jiro@example.jp", "kusei")  # anyone can type an address into the form
    service.mails(2)
    assert "登録が完了しました" in service.http.post(confirm).text


def test_nonces_are_distinct_and_erased_with_the_address(service):
    ids = [seed(service, f"user{i}@example.jp", "confirmed") for i in range(20)]
    nonces = {service.store.get(i).link_nonce for i in ids}
    assert len(nonces) == 20 and all(len(n) >= 22 for n in nonces)
    service.store.set_state(ids[0], "unsubscribed")
    assert service.store.get(ids[0]).link_nonce not in nonces
    service.store.erase_expired(timedelta(0), now=service.clock.now + timedelta(days=1))
    assert service.store.get(ids[0]).link_nonce == "" and service.store.get(ids[1]).link_nonce in nonces
