"""The subscription service in the reader's language, over real HTTP as in ``test_mail_web``:
which language a page speaks (``?lang=``, the form's hidden field, the subscriber's own,
Accept-Language, Japanese) and the sign-up mails in the language chosen on the form. That the
catalogs translate every string the templates and the code mark: ``test_catalogs``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from channels.mail.web.language import preferred
from koho.errors import ContentInvalid
from koho.i18n import TARGET_LANGUAGES
from koho.site import load_site
from tests.mail_peers import Clock, start
from tests.peers import free_port
from tests.test_mail_web import SENT, generation, link, seed

EVERY = ",".join(TARGET_LANGUAGES)


@pytest.fixture
def service(settings, sink):
    """The service of a ward that translates into all eight languages."""
    running, stop = start(settings.model_copy(update={"languages": EVERY}), Clock(), sink)
    yield running
    stop()


def html_lang(page) -> str:
    return re.search(r'<html lang="([^"]+)">', page.text).group(1)


def test_lang_parameter_speaks_vietnamese_with_a_switcher_and_a_hidden_field(service):
    page = service.http.get("", params={"lang": "vi"})
    assert page.status_code == 200 and html_lang(page) == "vi"
    assert "<h1>Đăng ký nhận ねりま情報メール</h1>" in page.text and "Gửi email xác nhận" in page.text
    assert '<label for="topic-bousai">Phòng chống thiên tai</label>' in page.text  # site.yaml names.vi.topics
    # Every offered language by its own name; the current one is not a link.
    assert '<li><a href="?lang=ja" hreflang="ja" lang="ja">日本語</a></li>' in page.text
    assert '<li><a href="?lang=zh" hreflang="zh-Hans" lang="zh-Hans">中文（简体）</a></li>' in page.text
    assert '<li><span lang="vi" aria-current="page">Tiếng Việt</span></li>' in page.text
    assert page.text.count('hreflang="') == 8
    # The mail's language defaults to the page's; the form posts the page's language back.
    assert '<option value="vi" lang="vi" selected>Tiếng Việt</option>' in page.text
    assert '<input type="hidden" name="lang" value="vi"><button type="submit">' in page.text
    assert '<a href="/mail/?lang=vi">ねりま情報メール</a>' in page.text
    assert '<a href="https://koho.example.city.lg.jp/vi/">Lưu trữ Bản tin Nerima</a>' in page.text
    assert page.headers["vary"] == "accept-language" and "default-src 'none'" in page.headers["content-security-policy"]

    chinese = service.http.get("", params={"lang": "zh"})
    assert html_lang(chinese) == "zh-Hans" and "订阅ねりま情報メール" in chinese.text

    refused = service.http.post("", params={"lang": "vi"}, data={"address": "nope", "topics": ["bousai"], "lang": "vi"})
    assert refused.status_code == 400 and html_lang(refused) == "vi"
    assert "Địa chỉ email không đúng định dạng" in refused.text
    assert "Vui lòng kiểm tra lại nội dung đã nhập" in refused.text
    assert '<option value="vi" lang="vi" selected>' in refused.text


def test_accept_language_chooses_among_the_offered_languages(service):
    def spoken(header: str, **params) -> str:
        return html_lang(service.http.get("", params=params, headers={"accept-language": header}))

    thai = service.http.get("", headers={"accept-language": "th-TH,th;q=0.9,en;q=0.8"})
    assert html_lang(thai) == "th" and "สมัครรับ ねりま情報メール" in thai.text
    assert spoken("fr-FR,fr;q=0.9,pt-BR;q=0.5") == "pt"  # the first offered one, region or not
    assert spoken("en;q=0.2, ko;q=0.8") == "ko"  # by weight, not by order
    assert spoken("zh-Hans-CN") == "zh-Hans"
    assert spoken("vi;q=0, fr") == spoken("*") == spoken("") == "ja"
    assert spoken("th", lang="en") == "en"  # asking beats the browser
    assert preferred("th-TH, th;q=0.9, *;q=0.1, en;q=bad, vi;q=0") == ["th-TH", "th"]


def test_a_korean_sign_up_gets_a_korean_mail_whose_link_opens_korean_pages(service):
    answer = service.signup("minji@example.jp", "bousai", "kenkou", language="ko", lang="ko")
    assert answer.status_code == 200 and html_lang(answer) == "ko" and "확인 메일을 보냈습니다" in answer.text
    [mail] = service.mails(1)
    assert mail["Subject"] == "[ねりま情報メール] 구독 신청 확인"
    body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")  # SMTP line ends
    assert (
        body.startswith("ねりま情報メール 구독 신청을 접수했습니다.\n") and "이 링크의 유효 기간은 7일입니다." in body
    )
    assert body.endswith("https://koho.example.city.lg.jp/ko/\n")
    confirm = link(mail, "confirm")
    assert confirm.endswith("?lang=ko")

    page = service.http.get(confirm)
    assert html_lang(page) == "ko" and "<dd>방재, 건강</dd>" in page.text and "<dd>한국어</dd>" in page.text
    assert '<input type="hidden" name="lang" value="ko"><button type="submit">구독 완료하기</button>' in page.text
    done = service.http.post(confirm, data={"lang": "ko"})
    assert done.status_code == 200 and html_lang(done) == "ko" and "구독이 완료되었습니다" in done.text
    subscriber = service.store.find("minji@example.jp")
    assert (subscriber.state, subscriber.language) == ("confirmed", "ko")
    # Without the parameter the page still speaks the subscriber's own language.
    assert html_lang(service.http.get(confirm.split("?")[0])) == "ko"


def test_sign_up_mails_speak_the_form_s_language_and_the_answer_the_page_s(service):
    seed(service, "member@example.jp", "confirmed", "kusei")  # stored language: Japanese
    for address in ("new@example.jp", "member@example.jp"):
        answer = service.signup(address, "bousai", language="en")  # a Japanese page, English mail
        assert html_lang(answer) == "ja" and SENT in answer.text
    mails = {m["To"]: m for m in service.mails(2)}
    assert mails["new@example.jp"]["Subject"] == "[ねりま情報メール] Confirm your subscription"
    registered = mails["member@example.jp"]
    assert registered["Subject"] == "[ねりま情報メール] You are already subscribed"
    body = registered.get_body(("plain",)).get_content()
    assert "This email address is already subscribed to ねりま情報メール." in body
    assert "This link is valid for 90 days." in body and "Your subscription stays as it is." in body
    # The link opens the pages in the mail's language, although the subscriber's own is Japanese.
    preferences = link(registered, "preferences")
    assert preferences.endswith("?lang=en") and html_lang(service.http.get(preferences)) == "en"
    assert service.store.find("member@example.jp").language == "ja"


def test_the_answer_in_a_language_never_tells_whether_an_address_is_known(service):
    seed(service, "member@example.jp", "confirmed")
    seed(service, "left@example.jp", "unsubscribed")
    seed(service, "bounced@example.jp", "suppressed")
    answers = [
        service.signup(a, "bousai", language="vi", lang="vi")
        for a in ("new@example.jp", "member@example.jp", "left@example.jp", "bounced@example.jp")
    ]
    assert {(r.status_code, r.text) for r in answers} == {(200, answers[0].text)}
    assert html_lang(answers[0]) == "vi" and "Đã gửi email xác nhận" in answers[0].text
    subjects = sorted(m["Subject"] for m in service.mails(3))
    assert subjects == ["[ねりま情報メール] Xác nhận đăng ký"] * 2 + ["[ねりま情報メール] Địa chỉ này đã được đăng ký"]


def test_token_pages_speak_the_subscriber_s_language_unless_another_is_asked_for(service):
    sid = seed(service, "alice@example.jp", "confirmed", "kusei")
    service.store.set_preferences(sid, ["kusei", "event"], "en", "digest")
    tokens = service.app.state.tokens
    current = generation(service.store, sid)
    preferences = f"preferences/{tokens.issue('preferences', sid, current)}"
    unsubscribe = f"unsubscribe/{tokens.issue('unsubscribe', sid, current)}"
    one_click = f"one-click/{tokens.issue('unsubscribe', sid, current)}"

    page = service.http.get(preferences, headers={"accept-language": "th"})  # hers beats the browser's
    assert html_lang(page) == "en" and "<h1>Change delivery settings</h1>" in page.text
    assert 'value="kusei" checked' in page.text and "City administration" in page.text
    assert "All articles together on the day each issue of Nerima City News comes out" in page.text
    assert html_lang(service.http.get(preferences, params={"lang": "th"})) == "th"

    # The saved page stays in the page's language while the mail's language changes.
    saved = service.http.post(
        preferences, data={"topics": ["event"], "language": "vi", "delivery": "immediate", "lang": "en"}
    )
    assert saved.status_code == 200 and html_lang(saved) == "en" and "Your settings have been saved" in saved.text
    assert "<dd>Events</dd>" in saved.text and "<dd>Tiếng Việt</dd>" in saved.text
    assert "<dd>Each article as soon as it is published</dd>" in saved.text
    assert service.store.get(sid).language == "vi"

    leave = service.http.get(unsubscribe)
    assert html_lang(leave) == "vi" and "<h1>Hủy đăng ký</h1>" in leave.text
    assert html_lang(service.http.get(one_click)) == "vi"
    gone = service.http.post(
        one_click, content=b"List-Unsubscribe=One-Click", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert gone.status_code == 200 and html_lang(gone) == "vi" and "Đã hủy đăng ký" in gone.text
    assert service.store.get(sid).state == "unsubscribed"
    # Unsubscribing ended the links' generation (ADR 0013): refused, in the language asked for.
    ended = service.http.get(preferences, params={"lang": "vi"})
    assert ended.status_code == 400 and html_lang(ended) == "vi"


def test_a_language_not_offered_falls_back_to_japanese(settings, sink):
    running, stop = start(settings.model_copy(update={"languages": "en,ko"}), Clock(), sink)
    try:
        for params, headers in (({"lang": "vi"}, {}), ({"lang": "xx"}, {}), ({}, {"accept-language": "vi-VN,vi"})):
            page = running.http.get("", params=params, headers=headers)
            assert html_lang(page) == "ja" and "に登録する" in page.text, (params, headers)
        switcher = re.findall(r'hreflang="([^"]+)"', running.http.get("").text)
        assert switcher == ["en", "ko"]
        # Someone imported in Vietnamese, which this ward does not translate into, reads Japanese.
        sid = seed(running, "minh@example.jp", "confirmed")
        running.store.set_preferences(sid, ["bousai"], "vi", "immediate")
        current = generation(running.store, sid)
        page = running.http.get(f"preferences/{running.app.state.tokens.issue('preferences', sid, current)}")
        assert html_lang(page) == "ja" and '<option value="vi" lang="vi" selected>Tiếng Việt</option>' in page.text
    finally:
        stop()


def test_japanese_words_stay_and_a_japanese_only_ward_gets_no_switcher(service, settings, sink):
    alone, stop = start(settings, Clock(), sink, free_port())  # KOHO_LANGUAGES empty: Japanese only
    try:
        only = alone.http.get("", params={"lang": "en"}, headers={"accept-language": "en"})
        assert html_lang(only) == "ja" and 'class="languages"' not in only.text and 'name="lang"' not in only.text
        translated = service.http.get("", params={"lang": "ja"}).text
        # With translations on, the Japanese form differs only by the switcher, the page language it
        # carries along and the mail languages offered: the same Japanese words, byte for byte.
        stripped = re.sub(r'  <nav class="languages".*?</nav>\n', "", translated, flags=re.S)
        stripped = re.sub(r'    <option value="(?!ja")[^\n]*\n', "", stripped)
        stripped = stripped.replace('<input type="hidden" name="lang" value="ja">', "").replace("/?lang=ja", "/")
        assert stripped == only.text
    finally:
        stop()


def test_error_pages_speak_the_page_s_language(service, monkeypatch):
    missing = service.http.get("no/such/page", params={"lang": "vi"})
    assert missing.status_code == 404 and html_lang(missing) == "vi" and "Không tìm thấy trang" in missing.text
    assert '<a href="/mail/?lang=vi">Đến mẫu đăng ký ねりま情報メール</a>' in missing.text
    wrong = service.http.delete("", headers={"accept-language": "ko"})
    assert wrong.status_code == 405 and html_lang(wrong) == "ko" and wrong.headers["allow"]
    large = service.http.post("", params={"lang": "es"}, data={"address": "x" * 20_000})
    assert large.status_code == 413 and html_lang(large) == "es" and "demasiado grande" in large.text
    refused = service.http.get("confirm/x", params={"lang": "th"})
    assert refused.status_code == 400 and html_lang(refused) == "th" and "ลิงก์นี้ใช้ไม่ได้" in refused.text
    for page in (missing, wrong, large, refused):
        assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"

    # A failure after the route chose the language from the form's hidden field: the guard's
    # 500 page speaks it too. (A sign-up's database work runs after its answer: a confirmation
    # is the form whose route writes before answering.)
    service.signup("pedro@example.jp", "bousai")
    confirm = link(service.mails(1)[0], "confirm")

    def broken(*_args, **_kwargs):
        raise RuntimeError("database is gone")

    monkeypatch.setattr(service.store, "set_state", broken)
    failed = service.http.post(confirm, data={"lang": "pt"})
    assert failed.status_code == 500 and html_lang(failed) == "pt" and "<h1>Ocorreu um erro</h1>" in failed.text


def test_topic_names_per_language_name_only_listed_topics(tmp_path):
    site = load_site(Path(__file__).resolve().parents[1] / "content")
    assert site.topics_in("en")["bousai"] == "Disaster preparedness" and site.topics_in("ja")["bousai"] == "防災"
    (tmp_path / "site.yaml").write_text(
        "name: x\nbase_url: https://x.example/\ntopics: {bousai: 防災, kusei: 区政}\n"
        "names:\n  en: {site: X, bulletin: Y, topics: {bousai: Disasters, nope: Nope}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ContentInvalid) as refused:
        load_site(tmp_path)
    [error] = refused.value.errors
    assert error.field == "names" and error.line == 4 and "nope" in error.message
    (tmp_path / "site.yaml").write_text(
        "name: x\nbase_url: https://x.example/\ntopics: {bousai: 防災, kusei: 区政}\n"
        "names:\n  en: {site: X, bulletin: Y, topics: {bousai: Disasters}}\n",
        encoding="utf-8",
    )
    assert load_site(tmp_path).topics_in("en") == {"bousai": "Disasters", "kusei": "区政"}
