"""Sign-up timing (issue 12): the answer cannot depend on the address's state, so it is given
before any of the state-dependent work is done. Real uvicorn, a real SQLite ledger and a real
aiosmtpd sink; no timing is measured here (``bench/signup_timing.py`` prints the figure)."""

from __future__ import annotations

import sqlite3

import pytest

from koho.settings import Settings
from koho.subscribers import NewSubscriber, normalise_address
from tests.test_mail_web import SENT

KNOWN = {
    "confirmed": "kaku@example.jp",
    "pending": "machi@example.jp",
    "unsubscribed": "yame@example.jp",
    "suppressed": "bounce@example.jp",
}


def seed(store, address: str, state: str) -> None:
    shown, key = normalise_address(address)
    store.upsert([NewSubscriber(shown, key, ("bousai",))], "confirmed" if state == "confirmed" else "pending", "test")
    if state in ("unsubscribed", "suppressed"):
        store.set_state(store.find(address).id, state)


def test_the_answer_is_the_same_for_new_and_known_addresses(service):
    for state, address in KNOWN.items():
        seed(service.store, address, state)
    answers = {
        state: service.http.post("", data={"address": address, "topics": ["bousai"]})
        for state, address in {"new": "arata@example.jp", **KNOWN}.items()
    }
    service.settle()

    def shape(answer):
        # uvicorn's Date header is the second the answer left, the same for every state.
        return answer.status_code, answer.content, sorted((k, v) for k, v in answer.headers.items() if k != "date")

    first = shape(answers["new"])
    assert first[0] == 200 and SENT in answers["new"].text
    assert {state: shape(a) == first for state, a in answers.items()} == {state: True for state in answers}
    # And the work was done after the answers: a confirmation for the new, pending and
    # unsubscribed addresses, a preferences link for the confirmed one, nothing for suppressed.
    mails = {m["To"]: m for m in service.mails(4)}
    assert set(mails) == {"arata@example.jp", KNOWN["pending"], KNOWN["unsubscribed"], KNOWN["confirmed"]}


def test_the_answer_leaves_before_the_database_is_touched(service):
    # Another writer holds the ledger's write lock: a sign-up that wrote before answering would
    # wait for it (and for the client's timeout). The answer comes at once; the work follows.
    database = Settings().db_url().removeprefix("sqlite:///")
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        answer = service.http.post("", data={"address": "later@example.jp", "topics": ["bousai"]}, timeout=5)
        assert answer.status_code == 200 and SENT in answer.text
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    [mail] = service.mails(1)  # stored and mailed once the lock was released
    assert mail["To"] == "later@example.jp" and "/mail/confirm/" in mail.get_body(("plain",)).get_content()
    assert service.store.find("later@example.jp").state == "pending"


@pytest.mark.parametrize("address", ["", "not-an-address"])
def test_a_form_error_is_answered_from_the_request_alone(service, address):
    # What may differ is what the person typed, never what the database knows about it.
    answer = service.http.post("", data={"address": address, "topics": ["bousai"]})
    assert answer.status_code == 400 and SENT not in answer.text
