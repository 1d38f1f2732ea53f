"""A resident's whole journey with the info mail, every step over real sockets: sign up on the
web form, confirm from the mail, receive the next urgent notice published through the flow over
SMTP, and leave with the mail client's one-click unsubscribe; the next notice does not reach them."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.policy import default

import httpx
import pytest

from koho.ledger import Ledger
from koho.settings import Settings
from tests.test_mail_web import link

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _urgent(workspace, clock, name: str, title: str) -> str:
    """An urgent article published a minute after now (after the sign-ups), then due."""
    when = clock.now + timedelta(minutes=1)
    path = workspace / "content" / "articles" / f"{name}.md"
    path.write_text(
        f"---\ntitle: {title}\npublish_at: {when.isoformat()}\npriority: urgent\ntopics: [bousai]\n---\n"
        "区内の避難所を開設しました。\n",
        encoding="utf-8",
    )
    clock.advance(minutes=2)
    return str(path)


def test_sign_up_confirm_receive_and_one_click_unsubscribe(workspace, service, clock):
    from flows.publish import publish_article

    assert service.signup("hanako@example.jp", "bousai").status_code == 200
    confirm = link(service.mails(1)[0], "confirm")
    assert "確認" in httpx.get(confirm).text  # a button, not yet a change
    assert httpx.post(confirm).status_code == 200
    assert service.store.find("hanako@example.jp").state == "confirmed"

    publish_article(paths=[_urgent(workspace, clock, "hinanjo", "避難所を開設しました")], channels=["mail"])
    sender, recipients, raw = service.sink.messages[-1]
    notice = message_from_bytes(raw, policy=default)
    assert recipients == ["hanako@example.jp"] and notice["Subject"] == "【緊急】避難所を開設しました"
    assert notice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    one_click = notice["List-Unsubscribe"].strip("<>")
    assert f"List-Unsubscribe: <{one_click}>".encode() in raw  # a plain URI on the wire

    # What Gmail's or Yahoo's servers do when the resident presses "unsubscribe" (RFC 8058).
    answer = httpx.post(
        one_click, content=b"List-Unsubscribe=One-Click", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 200
    assert service.store.find("hanako@example.jp").state == "unsubscribed"

    before = len(service.sink.messages)
    publish_article(paths=[_urgent(workspace, clock, "teiden", "停電のお知らせ")], channels=["mail"])
    assert len(service.sink.messages) == before, "an unsubscribed resident is not mailed again"
    assert Ledger(Settings().db_url()).rows(article_id="teiden", channel="mail") == []
