"""Mail messages: correct MIME and Japanese encoding, list headers, footer links, no injection."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default

import pytest

from channels.mail.message import Identity, Recipient, address, render
from koho.reader import read_corpus
from koho.site import load_site
from tests.clock import TEST_SECRET
from tests.conftest import CONTENT

IDENTITY = Identity(
    "ねりま情報メール",
    "info-mail@koho.example.city.lg.jp",
    "info-mail.koho.example.city.lg.jp",
    "https://koho.example.city.lg.jp/mail/",
)
WHO = Recipient(1234, "taro@example.jp", "PREFS-TOKEN", "UNSUB-TOKEN")
WHEN = datetime(2026, 11, 10, 17, 30, tzinfo=timezone(timedelta(hours=9)))


@pytest.fixture(scope="module")
def corpus():
    return read_corpus(CONTENT, load_site(CONTENT))


def build(corpus, article_id: str) -> bytes:
    article = corpus.articles[article_id]
    return address(render(article, corpus.site, IDENTITY), IDENTITY, WHO, WHEN)


def test_headers_are_ascii_on_the_wire_and_japanese_when_read(corpus):
    raw = build(corpus, "conbini-kofu-service")
    head = raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # every header is 7-bit: encoded words for Japanese
    message = message_from_bytes(raw, policy=default)
    assert message["Subject"] == corpus.articles["conbini-kofu-service"].title
    assert message.defects == []
    assert message["From"].addresses[0].display_name == "ねりま情報メール"
    assert message["To"] == "taro@example.jp"
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith("@koho.example.city.lg.jp>")
    other = address(
        render(corpus.articles["conbini-kofu-service"], corpus.site, IDENTITY),
        IDENTITY,
        Recipient(1235, "hanako@example.jp", "P", "U"),
        WHEN,
    )
    assert message_from_bytes(other, policy=default)["Message-ID"] != message["Message-ID"]
    assert message["List-Id"].endswith("<info-mail.koho.example.city.lg.jp>")
    assert message["List-Unsubscribe"] == "<https://koho.example.city.lg.jp/mail/one-click/UNSUB-TOKEN>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Date"] == "Tue, 10 Nov 2026 17:30:00 +0900"


def test_list_unsubscribe_is_a_plain_uri_on_the_wire_even_with_a_real_length_token(corpus):
    """Providers read List-Unsubscribe as a bare <URI>: a folded, encoded-word header would hide
    their unsubscribe button, so the header line must be the URI exactly as issued."""
    from koho.tokens import Tokens

    token = Tokens(TEST_SECRET).issue("unsubscribe", 123456, "g3n3rat10n")
    who = replace(WHO, unsubscribe_token=token)
    raw = address(render(corpus.articles["conbini-kofu-service"], corpus.site, IDENTITY), IDENTITY, who, WHEN)
    line = f"List-Unsubscribe: <https://koho.example.city.lg.jp/mail/one-click/{token}>\r\n".encode()
    assert line in raw and len(line) > 80
    assert b"=?utf-8?q?=3Chttps" not in raw


def test_a_non_ascii_unsubscribe_link_is_refused_not_sent_encoded(corpus):
    identity = replace(IDENTITY, web_url="https://区役所.example.jp/mail/")
    with pytest.raises(ValueError, match="plain ASCII URL"):
        address(render(corpus.articles["conbini-kofu-service"], corpus.site, identity), identity, WHO, WHEN)


def test_text_and_html_parts_with_footer_links(corpus):
    message = message_from_bytes(build(corpus, "conbini-kofu-service"), policy=default)
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (text, html):
        assert "https://koho.example.city.lg.jp/mail/preferences/PREFS-TOKEN" in part
        assert "https://koho.example.city.lg.jp/mail/unsubscribe/UNSUB-TOKEN" in part
        assert "https://koho.example.city.lg.jp/articles/conbini-kofu-service/" in part
    assert "コンビニ" in text and "<p>" not in text
    assert "<style" not in html and 'style="' in html  # CSS inlined for mail clients


def test_urgent_subject_is_marked(corpus):
    urgent = next(a for a in corpus.articles.values() if a.urgent)
    message = message_from_bytes(build(corpus, urgent.id), policy=default)
    assert message["Subject"] == "【緊急】" + urgent.title


def test_message_id_is_stable_per_revision_and_recipient(corpus):
    assert build(corpus, "conbini-kofu-service") == build(corpus, "conbini-kofu-service")


@pytest.mark.parametrize(
    "field, value",
    [
        ("title", "お知らせ\r\nBcc: everyone@example.jp"),
        ("title", "お知らせ\nX-Injected: yes"),
    ],
)
def test_header_injection_is_impossible(corpus, field, value):
    article = replace(corpus.articles["conbini-kofu-service"], **{field: value})
    with pytest.raises(ValueError):
        address(render(article, corpus.site, IDENTITY), IDENTITY, WHO, WHEN)


def test_recipient_address_cannot_inject_either(corpus):
    rendered = render(corpus.articles["conbini-kofu-service"], corpus.site, IDENTITY)
    with pytest.raises(ValueError):
        address(rendered, IDENTITY, replace(WHO, address="a@example.jp\r\nBcc: b@example.jp"), WHEN)


def test_the_fast_path_gives_the_bytes_the_email_package_gives(corpus):
    """``address`` fills a per-article skeleton; ``compose`` builds the whole message with the
    email package. They must agree byte for byte, for every sample and a Japanese digest, and
    for translations and translated digests in every language (their footers differ)."""
    from channels.mail.message import compose, render_digest
    from koho.bulletin import issues_of
    from koho.i18n import TARGET_LANGUAGES
    from tests.translated import translate
    from translations.translator import translated_issue

    renders = [render(a, corpus.site, IDENTITY) for a in corpus.articles.values()]
    issue = issues_of(corpus.articles.values(), corpus.site, datetime(2026, 11, 27, tzinfo=UTC))[0]
    renders.append(render_digest(issue, issue.articles, corpus.site, IDENTITY))
    urgent = next(a for a in corpus.articles.values() if a.urgent)
    for language in TARGET_LANGUAGES:
        renders.append(render(translate(urgent, language), corpus.site, IDENTITY))
        edition = translated_issue(issue, {a.id: translate(a, language) for a in issue.articles})
        renders.append(render_digest(edition, edition.articles, corpus.site, IDENTITY))
    for rendered in renders:
        for who in (WHO, replace(WHO, subscriber_id=7, address="a.b+c@sub.example.jp")):
            assert address(rendered, IDENTITY, who, WHEN) == compose(rendered, IDENTITY, who, WHEN), rendered.key


def test_a_non_ascii_address_is_encoded_by_the_email_package(corpus):
    who = replace(WHO, address="たろう@example.jp")
    raw = build_for(corpus, who)
    message = message_from_bytes(raw, policy=default)
    assert message["To"] == "たろう@example.jp" and message.defects == []


def build_for(corpus, who) -> bytes:
    return address(render(corpus.articles["conbini-kofu-service"], corpus.site, IDENTITY), IDENTITY, who, WHEN)


# -- translations: the message in the reader's language ---------------------------------------


def test_a_translation_is_mailed_in_its_language_with_the_notice_and_the_original(corpus):
    from tests.translated import translate

    original = corpus.articles["conbini-kofu-service"]
    english = translate(original, "en")
    message = message_from_bytes(address(render(english, corpus.site, IDENTITY), IDENTITY, WHO, WHEN), policy=default)
    assert message["Subject"] == english.title and message.defects == []
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content()
    own = "https://koho.example.city.lg.jp/en/articles/conbini-kofu-service/"
    japanese = "https://koho.example.city.lg.jp/articles/conbini-kofu-service/"
    assert f"For details, see the ward's website:\n{own}\n" in text
    # The notice is wrapped like every paragraph of the text part (72 columns); its link is not.
    assert (
        "Machine-translated from Japanese. The translation may contain errors;\nthe Japanese original is "
        f"authoritative.\nRead the Japanese original: {japanese}\n"
    ) in text
    assert "Change delivery settings: https://koho.example.city.lg.jp/mail/preferences/PREFS-TOKEN" in text
    assert "Unsubscribe: https://koho.example.city.lg.jp/mail/unsubscribe/UNSUB-TOKEN" in text
    assert '<html lang="en">' in html and f'<a href="{own}"' in html
    assert f'<a href="{japanese}" hreflang="ja"' in html and "Read the Japanese original</a>" in html
    assert ">Change delivery settings</a> | <a " in html
    for japanese_word in ("区のホームページ", "配信設定の変更", "配信停止"):
        assert japanese_word not in text and japanese_word not in html


def test_urgent_and_reviewed_translations(corpus):
    from koho.i18n import TARGET_LANGUAGES
    from tests.translated import translate

    urgent = next(a for a in corpus.articles.values() if a.urgent)
    for language, mark in [("en", "[Urgent] "), ("zh", "【紧急】"), ("th", "[ด่วน] "), ("vi", "[Khẩn cấp] ")]:
        assert render(translate(urgent, language), corpus.site, IDENTITY).subject.startswith(mark)
    assert 'lang="zh-Hans"' in render(translate(urgent, "zh"), corpus.site, IDENTITY).html
    # A fully reviewed translation is not the machine's: no notice.
    reviewed = render(translate(urgent, "ko", machine=False), corpus.site, IDENTITY)
    assert "기계 번역" not in reviewed.text and "machine-translation" not in reviewed.html
    assert "https://koho.example.city.lg.jp/ko/articles/" in reviewed.text
    # Every language koho translates into has the mail's own words (none falls back to English or
    # to the Japanese msgid); that every catalog is complete is test_catalogs'.
    from channels.mail.words import mail_words

    for language in TARGET_LANGUAGES:
        if language != "en":  # written in the language, not left in English
            assert mail_words(language).see_site not in (mail_words("en").see_site, mail_words("ja").see_site)
    assert mail_words("xx") == mail_words("en")
