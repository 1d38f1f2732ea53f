"""Press releases at ``koho check`` (ADR 0035): the contact and the PDFs a release needs, named
by file, line and field; attachments checked for type by their bytes, for size, and for staying
inside content/media; the embargo's label the media read; the press mail's plan."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime

import pytest

from channels.mail.press import PressMailChannel, embargo_label, press_text
from koho.channel import MediaContext
from koho.media import MAX_ATTACHMENT_BYTES
from koho.outlets import Outlet
from tests.clock import PINNED_NOW
from tests.pdfs import tiny_pdf
from tests.test_reader import messages, read

JST = PINNED_NOW.tzinfo

RELEASE = """---
title: 協定を締結します
publish_at: 2026-12-08 14:00
embargo_until: 2026-12-10 05:00
department: 防災計画課
contact:
  name: 防災計画係
  phone: 03-5984-1111
attachments:
  - src: media/kyotei.pdf
---
本文です。
"""


@pytest.fixture
def pdf(content):
    (content / "media" / "kyotei.pdf").write_bytes(tiny_pdf("kyotei"))
    return content / "media" / "kyotei.pdf"


def test_a_release_under_press_is_a_press_release_with_its_embargo(content, pdf):
    corpus = read(content, {"press/kyotei.md": RELEASE})
    assert corpus.errors == []
    article = corpus.articles["kyotei"]
    assert article.press is not None and article.press.contact_phone == "03-5984-1111"
    assert article.on_site_at == datetime(2026, 12, 10, 5, 0, tzinfo=JST)
    assert not article.on_site(datetime(2026, 12, 9, 12, 0, tzinfo=JST))
    assert article.on_site(datetime(2026, 12, 10, 5, 0, tzinfo=JST))


def test_a_release_without_contact_or_pdf_is_refused_with_line_and_field(content, pdf):
    source = RELEASE.replace("contact:\n  name: 防災計画係\n  phone: 03-5984-1111\n", "")
    source = source.replace("attachments:\n  - src: media/kyotei.pdf\n", "attachments: []\n")
    assert messages(read(content, {"press/kyotei.md": source})) == [
        "kyotei.md:1: contact: a press release needs a contact: 'contact:' with 'name:' (担当) and 'phone:' lines "
        "under it",
        "kyotei.md:6: attachments: a press release needs at least one PDF: 'attachments:' with a "
        "'- src: media/….pdf' line",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("phone: 03-5984-1111", "phone: 内線です"),
            "kyotei.md:8: contact.phone: '内線です' is not a telephone number such as 03-3993-1111 (内線1234)",
        ),
        (
            ("embargo_until: 2026-12-10 05:00", "embargo_until: 2026-12-01 05:00"),
            "kyotei.md:4: embargo_until: the embargo ends (2026-12-01 05:00:00+09:00) before the release goes to "
            "the media (publish_at 2026-12-08 14:00:00+09:00); remove embargo_until or make it later",
        ),
        (
            ("media/kyotei.pdf", "media/kyotei.docx"),
            "kyotei.md:10: attachments[0].src: 'media/kyotei.docx' is not an attachment type koho sends; use .pdf",
        ),
    ],
)
def test_field_errors_of_a_release(content, pdf, change, expected):
    assert messages(read(content, {"press/kyotei.md": RELEASE.replace(*change)})) == [expected]


def test_a_pdf_is_checked_by_its_bytes_its_size_and_that_it_stays_inside_content(content, tmp_path):
    (content / "media" / "kyotei.pdf").write_bytes(b"\x89PNG\r\n\x1a\n not a pdf")
    assert messages(read(content, {"press/kyotei.md": RELEASE})) == [
        "kyotei.md:10: attachments[0].src: content/media/kyotei.pdf is not a PDF file (its bytes say otherwise)"
    ]
    (content / "media" / "kyotei.pdf").write_bytes(b"%PDF-1.4\n" + b"0" * MAX_ATTACHMENT_BYTES)
    assert "at most 5,242,880 are read" in messages(read(content, {"press/kyotei.md": RELEASE}))[0]
    (content / "media" / "kyotei.pdf").unlink()
    outside = tmp_path / "secret.pdf"
    outside.write_bytes(tiny_pdf("secret"))
    os.symlink(outside, content / "media" / "kyotei.pdf")
    assert (
        "is a link; attachments must be real files inside content/media/"
        in messages(read(content, {"press/kyotei.md": RELEASE}))[0]
    )


def test_the_embargo_label_is_the_way_the_press_writes_it():
    assert embargo_label(datetime(2026, 12, 10, 5, 0, tzinfo=JST)) == "【解禁：12月10日(木)午前5時】"
    assert embargo_label(datetime(2026, 12, 12, 15, 30, tzinfo=JST)) == "【解禁：12月12日(土)午後3時30分】"
    assert embargo_label(None) == "【報道発表】"


def test_the_press_mail_plans_one_row_per_outlet_named_by_id(content, pdf, tmp_path):
    corpus = read(content, {"press/kyotei.md": RELEASE})
    article = corpus.articles["kyotei"]
    from channels.mail.message import Identity

    identity = Identity("練馬区 広聴広報課", "koho@example.jp", "koho.example.jp", "https://example.jp/mail/")
    channel = PressMailChannel("outbox://outbox", identity, content, tmp_path)
    outlets = (Outlet(2, "練馬新聞", "outlet", "desk@example.jp"), Outlet(1, "記者クラブ", "club", "club@example.jp"))
    ctx = MediaContext(site=corpus.site, now=PINNED_NOW, live={}, outlets=outlets)
    planned = channel.plan(article, ctx)
    assert [d.key for d in planned] == ["press_mail:outlet-1:kyotei:once:ja", "press_mail:outlet-2:kyotei:once:ja"]
    assert "@" not in repr(planned)
    assert press_text(article, corpus.site).splitlines()[0] == "【解禁：12月10日(木)午前5時】"
    assert channel.plan(replace(article, press=None), ctx) == []
    assert channel.plan(replace(article, status="withdrawn"), ctx) == []


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Before the release: its publish time, when the media get it.
        (
            datetime(2026, 11, 30, 10, 10, tzinfo=JST),
            ("bousai-kyotei-konbini", datetime(2026, 12, 8, 14, 0, tzinfo=JST)),
        ),
        # With the media, under embargo: the embargo's end, when the site gets it.
        (datetime(2026, 12, 9, 12, 0, tzinfo=JST), ("bousai-kyotei-konbini", datetime(2026, 12, 10, 5, 0, tzinfo=JST))),
        (datetime(2026, 12, 10, 5, 0, tzinfo=JST), None),
    ],
)
def test_nothing_due_names_the_next_moment_of_the_sample_content_at_fixed_times(now, expected):
    """Fixed moments around the sample release, never today's date: the sample content does not
    move under the test as the calendar does."""
    from koho.report import next_embargo
    from tests.translated import corpus

    found = next_embargo(corpus().articles.values(), now)
    assert (found if found is None else (found[0].id, found[1])) == expected
