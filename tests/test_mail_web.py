"""The subscription web service over real HTTP: uvicorn on loopback, httpx as the browser (or
the mail provider's one-click client), and a real aiosmtpd server receiving the mails whose
links the tests follow."""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from channels.mail.message import Recipient, address, render
from koho.reader import read_corpus
from koho.settings import Settings
from koho.site import load_site
from koho.subscribers import NewSubscriber, normalise_address
from tests.conftest import CONTENT
from tests.mail_peers import SECRET, Clock, Service, start
from tests.peers import free_port

SENT = "確認メールを送りました"


def link(mail: EmailMessage, path: str) -> str:
    body = mail.get_body(("plain",)).get_content()
    found = re.search(rf"(http://\S+/mail/{path}/\S+)", body)
    assert found, body
    return found.group(1)


def seed(service: Service, addr: str, state: str, *topics: str) -> int:
    shown, key = normalise_address(addr)
    service.store.upsert([NewSubscriber(shown, key, topics or ("bousai",))], "confirmed", "test")
    subscriber = service.store.find(addr)
    if state != "confirmed":
        service.store.set_state(subscriber.id, state)
    return subscriber.id


def generation(store, sid: int) -> str:
    """The subscriber's current link generation, which every valid link carries."""
    return store.get(sid).link_nonce


def old_token(purpose: str, value: list, age: timedelta) -> str:
    """A token signed with the service's secret, as if issued ``age`` ago."""

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - age.total_seconds())

    return URLSafeTimedSerializer(SECRET, salt=f"koho.{purpose}", signer=Past).dumps(value)


def test_sign_up_confirm_change_preferences_and_one_click_unsubscribe(service):
    form = service.http.get("")
    assert form.status_code == 200 and '<html lang="ja">' in form.text
    assert 'value="bousai"' in form.text and "防災" in form.text and "日本語" in form.text

    answer = service.signup("Hanako@Example.JP", "bousai", "kusei")
    assert answer.status_code == 200 and SENT in answer.text
    [mail] = service.mails(1)
    assert mail["Subject"] == "【ねりま情報メール】登録の確認"
    raw = service.sink.messages[0][2]
    assert b"Subject: =?utf-8?b?" in raw  # RFC 2047: the Japanese subject travels encoded
    assert mail["To"] == "Hanako@example.jp" and mail["From"].addresses[0].display_name == "ねりま情報メール"
    confirm = link(mail, "confirm")

    page = service.http.get(confirm)  # what a mail scanner's prefetch does: nothing changes
    assert page.status_code == 200 and "登録を完了する" in page.text and "防災、区政" in page.text
    subscriber = service.store.find("hanako@example.jp")
    assert subscriber.state == "pending" and subscriber.confirmed_at is None
    done = service.http.post(confirm)
    assert done.status_code == 200 and "登録が完了しました" in done.text
    subscriber = service.store.get(subscriber.id)
    assert subscriber.state == "confirmed" and subscriber.confirmed_at is not None
    assert service.http.post(confirm).status_code == 200  # a second click: still "done"

    # Signing up again later mails a preferences link instead, and changes nothing by itself.
    service.clock.advance(minutes=11)
    assert SENT in service.signup("hanako@example.jp", "event").text
    again = service.mails(2)[1]
    assert again["Subject"] == "【ねりま情報メール】登録済みのご案内"
    assert service.store.get(subscriber.id).topics == ("bousai", "kusei")
    preferences = link(again, "preferences")
    page = service.http.get(preferences)
    assert page.status_code == 200 and 'value="kusei" checked' in page.text and 'value="event">' in page.text
    refused = service.http.post(preferences, data={"language": "ja"})
    assert refused.status_code == 400 and "受け取る分野を1つ以上選んでください" in refused.text
    saved = service.http.post(preferences, data={"topics": ["kenkou", "event"], "language": "ja"})
    assert saved.status_code == 200 and "健康、イベント" in saved.text
    assert service.store.get(subscriber.id).topics == ("event", "kenkou")

    # The one-click header of a real article mail, POSTed the way RFC 8058 clients do.
    corpus = read_corpus(CONTENT, load_site(CONTENT))
    article = next(a for a in corpus.articles.values() if a.urgent)
    identity, tokens = service.app.state.identity, service.app.state.tokens
    current = generation(service.store, subscriber.id)
    recipient = Recipient(
        subscriber.id,
        subscriber.address,
        tokens.issue("preferences", subscriber.id, current),
        tokens.issue("unsubscribe", subscriber.id, current),
    )
    raw = address(render(article, corpus.site, identity), identity, recipient, datetime.now(UTC))
    one_click = re.search(r"<([^>]+)>", message_from_bytes(raw, policy=default)["List-Unsubscribe"]).group(1)
    assert "/mail/one-click/" in one_click
    gone = httpx.post(
        one_click, content=b"List-Unsubscribe=One-Click", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert gone.status_code == 200 and "配信を停止しました" in gone.text
    assert service.store.get(subscriber.id).state == "unsubscribed"
    # Unsubscribing ended this link generation: the mail's links now open nothing (ADR 0013).
    assert "このリンクは無効です" in service.http.get(one_click).text
    assert "このリンクは無効です" in service.http.get(preferences).text


def test_the_answer_never_tells_whether_an_address_is_known(service):
    seed(service, "member@example.jp", "confirmed", "kusei")
    seed(service, "left@example.jp", "unsubscribed")
    seed(service, "bounced@example.jp", "suppressed")
    answers = [
        service.signup(a, "bousai")
        for a in ("new@example.jp", "member@example.jp", "left@example.jp", "bounced@example.jp")
    ]
    assert {(r.status_code, r.text) for r in answers} == {(200, answers[0].text)}
    assert SENT in answers[0].text

    mails = service.mails(3)
    assert sorted((m["To"], m["Subject"]) for m in mails) == [
        ("left@example.jp", "【ねりま情報メール】登録の確認"),
        ("member@example.jp", "【ねりま情報メール】登録済みのご案内"),
        ("new@example.jp", "【ねりま情報メール】登録の確認"),
    ]
    assert service.store.find("bounced@example.jp").state == "suppressed"
    member = service.store.find("member@example.jp")
    assert member.state == "confirmed" and member.topics == ("kusei",)
    left = service.store.find("left@example.jp")
    assert left.state == "pending" and left.source == "web" and left.unsubscribed_at is None  # consent anew

    # At most one mail per address per ten minutes, whatever the form is sent.
    assert service.signup("new@example.jp", "bousai").text == answers[0].text
    service.mails(3)
    service.clock.advance(minutes=11)
    service.signup("new@example.jp", "bousai")
    assert service.mails(4)[3]["To"] == "new@example.jp"


def test_forged_altered_wrong_purpose_and_expired_links_are_refused(service):
    service.signup("taro@example.jp", "bousai")
    confirm = link(service.mails(1)[0], "confirm")
    token = confirm.rsplit("/", 1)[1]
    sid = service.store.find("taro@example.jp").id
    forged = URLSafeTimedSerializer("f" * 48, salt="koho.confirm").dumps(sid)
    altered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    unsubscribe = service.app.state.tokens.issue("unsubscribe", sid, generation(service.store, sid))
    for path in (
        f"confirm/{forged}",
        f"confirm/{altered}",
        f"confirm/{unsubscribe}",
        "confirm/x",
        f"one-click/{token}",
        f"preferences/{token}",
        f"confirm/{service.app.state.tokens.issue('confirm', 999999, 'x')}",
    ):
        for method in ("GET", "POST"):
            answer = service.http.request(method, path)
            assert answer.status_code == 400 and "このリンクは無効です" in answer.text, (method, path)
    assert service.store.get(sid).state == "pending"

    nonce = generation(service.store, sid)
    expired = old_token("confirm", [sid, nonce], timedelta(days=8))
    for method in ("GET", "POST"):
        answer = service.http.request(method, f"confirm/{expired}")
        assert answer.status_code == 400 and "有効期限が切れています" in answer.text
        assert "もう一度お申し込みください" in answer.text
    assert service.store.get(sid).state == "pending"
    stale = service.http.get(f"preferences/{old_token('preferences', [sid, nonce], timedelta(days=91))}")
    assert stale.status_code == 400 and "有効期限が切れています" in stale.text
    assert service.http.get(f"confirm/{old_token('confirm', [sid, nonce], timedelta(days=6))}").status_code == 200


def test_bad_form_input_is_shown_again_with_a_japanese_error(service):
    cases = [
        ({"address": "", "topics": ["bousai"]}, "メールアドレスを入力してください"),
        ({"address": "taro@", "topics": ["bousai"]}, "メールアドレスの形式が正しくありません"),
        ({"address": "taro@example.jp"}, "受け取る分野を1つ以上選んでください"),
        ({"address": "taro@example.jp", "topics": ["bousai", "nope"]}, "選べない分野が含まれています"),
        ({"address": "taro@example.jp", "topics": ["bousai"], "language": "xx"}, "選べない言語です"),
        ({"address": "taro@example.jp", "topics": ["bousai"], "delivery": "weekly"}, "選べない受け取り方です"),
    ]
    for data, message in cases:
        answer = service.http.post("", data=data)
        assert answer.status_code == 400 and message in answer.text and "入力内容を確認してください" in answer.text
    shown = service.http.post("", data={"address": '"><b>x', "topics": ["kusei"]})
    assert 'value="&#34;&gt;&lt;b&gt;x"' in shown.text and 'value="kusei" checked' in shown.text
    assert service.store.counts()[0] == {} and service.sink.messages == []


def test_delivery_choice_on_sign_up_and_preferences(service):
    form = service.http.get("").text
    assert 'type="radio" id="delivery-immediate" name="delivery" value="immediate" checked' in form
    assert (
        "記事ごとにすぐ受け取る" in form and "区報の発行日にまとめて受け取る（緊急のお知らせはすぐに届きます）" in form
    )
    assert SENT in service.signup("digest@example.jp", "bousai", delivery="digest").text
    confirm = link(service.mails(1)[0], "confirm")
    assert "区報の発行日にまとめて受け取る" in service.http.get(confirm).text
    service.http.post(confirm)
    subscriber = service.store.find("digest@example.jp")
    assert (subscriber.state, subscriber.delivery) == ("confirmed", "digest")

    preferences = f"preferences/{service.app.state.tokens.issue('preferences', subscriber.id, subscriber.link_nonce)}"
    page = service.http.get(preferences).text
    assert 'value="digest" checked' in page and 'value="immediate">' in page
    refused = service.http.post(preferences, data={"topics": ["bousai"], "language": "ja", "delivery": "weekly"})
    assert refused.status_code == 400 and "選べない受け取り方です" in refused.text
    assert 'href="#delivery-immediate"' in refused.text and 'aria-describedby="delivery-error"' in refused.text
    assert service.store.get(subscriber.id).delivery == "digest"
    saved = service.http.post(preferences, data={"topics": ["bousai"], "language": "ja", "delivery": "immediate"})
    assert saved.status_code == 200 and "記事ごとにすぐ受け取る" in saved.text
    assert service.store.get(subscriber.id).delivery == "immediate"


def test_the_form_offers_japanese_and_the_languages_the_deployment_translates_into(settings, sink):
    running, stop = start(settings.model_copy(update={"languages": "th,en"}), Clock(), sink)
    try:
        form = running.http.get("").text
        options = re.findall(r'<option value="(\w+)" lang="([\w-]+)"( selected)?>([^<]+)</option>', form)
        assert options == [("ja", "ja", " selected", "日本語"), ("en", "en", "", "English"), ("th", "th", "", "ไทย")]
        assert SENT in running.signup("alice@example.jp", "bousai", language="en").text
        assert running.store.find("alice@example.jp").language == "en"
        refused = running.signup("li@example.jp", "bousai", language="zh")  # koho has it; this ward does not
        assert refused.status_code == 400 and "選べない言語です" in refused.text
        assert running.store.find("li@example.jp") is None

        # Someone imported in a language no longer offered keeps it when saving other choices,
        # and may move to an offered one, but not to another that is not offered.
        sid = seed(running, "minh@example.jp", "confirmed")
        running.store.set_preferences(sid, ["bousai"], "vi", "immediate")
        current = generation(running.store, sid)
        preferences = f"preferences/{running.app.state.tokens.issue('preferences', sid, current)}"
        assert '<option value="vi" lang="vi" selected>Tiếng Việt</option>' in running.http.get(preferences).text
        kept = running.http.post(preferences, data={"topics": ["kenkou"], "language": "vi"})
        assert kept.status_code == 200 and "Tiếng Việt" in kept.text
        assert running.store.get(sid).language == "vi"
        assert running.http.post(preferences, data={"topics": ["kenkou"], "language": "ko"}).status_code == 400
        assert running.http.post(preferences, data={"topics": ["kenkou"], "language": "th"}).status_code == 200
        assert running.store.get(sid).language == "th"
    finally:
        stop()


def test_unsubscribed_and_lapsed_addresses_are_erased_after_retention(service, settings, sink):
    service.signup("stay@example.jp", "bousai")
    service.signup("leave@example.jp", "bousai")
    service.signup("never@example.jp", "bousai")
    mails = {m["To"]: m for m in service.mails(3)}
    for who in ("stay@example.jp", "leave@example.jp"):
        service.http.post(link(mails[who], "confirm"))
    leaving = service.store.find("leave@example.jp")
    unsubscribe = service.app.state.tokens.issue("unsubscribe", leaving.id, leaving.link_nonce)
    assert "配信の停止" in service.http.get(f"unsubscribe/{unsubscribe}").text
    assert service.store.get(leaving.id).state == "confirmed"
    service.http.post(f"unsubscribe/{unsubscribe}")
    assert service.store.get(leaving.id).state == "unsubscribed"
    assert service.app.state.retention.run_once() == 0

    # A service started 31 days later erases at start-up, without waiting a day.
    later = Clock()
    later.advance(days=31)
    restarted, stop = start(settings, later, sink, free_port())
    try:
        deadline = time.monotonic() + 10
        while restarted.store.get(leaving.id).address is not None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop()
    erased = restarted.store.get(leaving.id)
    assert erased.address is None and erased.state == "unsubscribed"
    assert restarted.store.find("never@example.jp") is None  # confirmation never came: erased too
    assert restarted.store.find("stay@example.jp").state == "confirmed"
    answer = service.http.post(f"one-click/{unsubscribe}")  # its generation ended with the subscription
    assert answer.status_code == 400 and "このリンクは無効です" in answer.text


def test_security_headers_and_japanese_error_pages(service):
    pages = [
        service.http.get(""),
        service.http.post("", data={"address": "x"}),
        service.http.get("confirm/x"),
        service.http.get("no/such/page"),
        service.http.delete(""),
        service.http.post("", data={"address": "x" * 20_000}),
    ]
    assert [p.status_code for p in pages] == [200, 400, 400, 404, 405, 413]
    for page in pages:
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["cache-control"] == "no-store" and "server" not in page.headers
        assert "<script" not in page.text and '<html lang="ja">' in page.text
    assert "ページが見つかりません" in pages[3].text
    assert "この操作はできません" in pages[4].text and pages[4].headers["allow"]
    assert "送信された内容が大きすぎます" in pages[5].text
    style = service.http.get("static/style.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert 'href="/mail/static/style.css"' in pages[0].text
    # Behind a proxy that strips the /mail prefix the same routes answer.
    assert (
        SENT
        in httpx.post(
            service.base.replace("/mail/", "/"), data={"address": "proxy@example.jp", "topics": ["bousai"]}
        ).text
    )


def test_logs_hold_no_tokens_and_no_addresses(service, caplog, monkeypatch):
    caplog.set_level(logging.INFO)
    watched = [logging.getLogger(name) for name in ("koho", "uvicorn")]  # they do not propagate
    for logger in watched:
        logger.addHandler(caplog.handler)
    # What a later dictConfig naming "uvicorn" (Prefect's, in a shared process) does to the access
    # logger: with a parent's handler, uvicorn would write an access line per request again.
    monkeypatch.setattr(logging.getLogger("uvicorn.access"), "propagate", True)
    try:
        service.signup("secret.person@example.jp", "bousai")
        confirm = link(service.mails(1)[0], "confirm")
        service.http.get(confirm)
        service.http.post(confirm)
        service.http.get(confirm + "x")
        service.http.get("nowhere/" + confirm.rsplit("/", 1)[1])
        service.signup("gone@example.jp", "bousai")  # the sink refuses it, quoting the address
        service.mails(1)  # waits for the refused one too: the mailer sends (and logs) in order

        victim = "crash.victim@example.jp"

        def broken(*_args, **_kwargs):  # a database error quotes its parameters, the address among them
            raise RuntimeError(f"UNIQUE constraint failed [parameters: ('{victim}',)]")

        # A sign-up is carried out after its answer: the failure is the worker's to log.
        monkeypatch.setattr(service.store, "subscribe", broken)
        quiet = service.signup(victim, "bousai")
        assert quiet.status_code == 200 and SENT in quiet.text
        monkeypatch.setattr(service.store, "set_state", broken)
        failed = service.http.post(confirm)
        assert failed.status_code == 500 and "エラーが発生しました" in failed.text and "crash" not in failed.text
    finally:
        for logger in watched:
            logger.removeHandler(caplog.handler)
    # The client (httpx) and the SMTP sink log what they see; what matters is what the server wrote.
    logs = "\n".join(
        f"{r.levelname} {r.getMessage()}"
        for r in caplog.records
        if r.name.split(".")[0] in ("koho", "channels", "uvicorn")
    )
    assert "POST /confirm/{token} 200" in logs and "GET /confirm/{token} 400" in logs
    assert "GET (no route) 404" in logs and "confirm mail to subscriber" in logs and "550" in logs
    assert "sign-up not carried out: RuntimeError" in logs
    assert "POST /confirm/{token} failed: RuntimeError" in logs and "in confirm" in logs  # type and code lines only
    token = confirm.rsplit("/", 1)[1]
    for secret in ("secret.person", "gone@", "crash.victim", token, token[:20], SECRET):
        assert secret not in logs
    assert "HTTP/1.1" not in logs  # uvicorn's access log is off


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"KOHO_MAIL_URL": "smtp://user:pw@127.0.0.1:25"}, "KOHO_SMTP_USER"),
        ({"KOHO_SECRET_KEY": "short"}, "KOHO_SECRET_KEY must be at least 32 characters"),
        ({"KOHO_MAIL_RETENTION_DAYS": "soon"}, "KOHO_MAIL_RETENTION_DAYS"),
        ({"KOHO_MAIL_WEB_URL": "mail.example.jp/mail/"}, "KOHO_MAIL_WEB_URL must be an absolute http(s) URL"),
    ],
)
def test_serve_refuses_bad_configuration_before_listening(workspace, monkeypatch, env, expected):
    from typer.testing import CliRunner

    from koho.cli import app

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["serve", "--port", str(free_port())], env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    assert "configuration error:" in result.output and expected in result.output
    assert "Traceback" not in result.output and "pw" not in result.output.replace("password", "")


def test_mail_channel_links_where_the_service_serves(service, settings, monkeypatch):
    from channels.registry import build
    from koho.errors import ConfigError

    [mail] = build(settings, only=["mail"])
    assert mail.identity == service.app.state.identity
    assert mail.identity.web_url == settings.mail_web_url
    # The channel refuses the same bad base URL as ``koho serve``, before any mail is planned.
    monkeypatch.setenv("KOHO_MAIL_WEB_URL", "mail.example.jp/mail/")
    with pytest.raises(ConfigError, match="KOHO_MAIL_WEB_URL must be an absolute http"):
        build(Settings(), only=["mail"])


def test_koho_serve_answers_and_stops_on_sigterm(workspace, monkeypatch):
    monkeypatch.setenv("KOHO_SECRET_KEY", SECRET)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "koho.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/mail/", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, process.stdout.read()
                time.sleep(0.1)
        assert answer.status_code == 200 and "に登録する" in answer.text
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0]
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells why.
    assert process.returncode in (0, -signal.SIGTERM) and "Application shutdown complete" in output, output
    assert "GET / 200" in output and "retention: erased 0 address(es)" in output
