"""The audio edition through real Prefect flows, on a short issue of its own (two articles of a
title and a sentence or two: seconds of speech, where the whole sample content takes minutes;
tests/channel_lists.py). Real speech (pyopenjtalk-plus), loudness and MP3 (lameenc), read back
by independent parsers (mutagen, feedparser).

What a resident sees: a player with the download link and the length on each article page and
on the issue page, the issue's audio, DAISY, EPUB-with-audio and braille files listed with size
and format, a podcast feed with Apple's required tags. A withdrawn article's MP3 is taken down
and the issue read again without it, once, recorded like any delivery.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
from datetime import date
from pathlib import Path

import feedparser
import pytest
from lxml import etree, html

pytest.importorskip("pyopenjtalk", reason="the accessible extra: pip install -e '.[accessible]'")
pytest.importorskip("lameenc", reason="the accessible extra: pip install -e '.[accessible]'")

from channels.archive.downloads import clock as player_clock  # noqa: E402
from channels.archive.downloads import size_text  # noqa: E402
from koho.editions import PODCAST, PODCAST_ARTWORK, article_audio_path, issue_audio_path, mp3_seconds  # noqa: E402
from koho.ledger import Ledger  # noqa: E402
from koho.settings import Settings  # noqa: E402
from tests.conftest import CONTENT  # noqa: E402

pytestmark = pytest.mark.usefixtures("prefect_harness")

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
DAY = "2026-11-21"  # an issue that has appeared at the pinned moment (2026-11-28)
ARTICLES = {
    "madoguchi-donichi": (
        "練馬区役所の土・日曜日窓口",
        "4月1日から、土・日曜日も窓口を開きます。",
    ),
    "kenshin-oshirase": (
        "健診のお知らせ",
        "11月14日まで受け付けます。",
    ),
}


def _article(content: Path, article_id: str, title: str, body: str, status: str = "ready") -> None:
    text = (
        f"---\ntitle: {title}\npublish_at: 2026-11-10 09:00\ntopics: [kusei]\nbulletin: {DAY}\n"
        f"status: {status}\n---\n\n{body}\n"
    )
    (content / "articles" / f"{article_id}.md").write_text(text, encoding="utf-8")


@pytest.fixture
def site(content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The short issue's content (with the sample glossary's readings), published with the
    audio edition on; returns the archive's folder."""
    shutil.copy(CONTENT / "glossary.yaml", content / "glossary.yaml")
    for article_id, (title, body) in ARTICLES.items():
        _article(content, article_id, title, body)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KOHO_CONTENT_DIR", str(content))
    monkeypatch.setenv("KOHO_STATE_DIR", str(tmp_path / ".koho"))
    monkeypatch.setenv("KOHO_ARCHIVE_URL", f"file://{tmp_path / 'public'}")
    monkeypatch.setenv("KOHO_LANGUAGES", "")
    monkeypatch.setenv("KOHO_CHANNELS", "archive,feeds,braille,audio")
    return tmp_path / "public"


def publish():
    from flows.publish import publish_article

    return publish_article(paths=[os.environ["KOHO_CONTENT_DIR"] + "/articles"])


def _page(public: Path, path: str) -> html.HtmlElement:
    return html.fromstring((public / path).read_bytes())


def _player(page: html.HtmlElement, public: Path, page_path: str, mp3: str) -> None:
    """The page plays ``mp3`` and links it with its size and length, as the store holds it."""
    (audio,) = page.xpath("//section[@class='audio']/audio")
    assert audio.get("controls") is not None and audio.get("aria-labelledby") == "listen"
    assert (public / page_path).parent.joinpath(audio.get("src")).resolve() == (public / mp3).resolve()
    (link,) = page.xpath("//section[@class='audio']//a[@download]")
    assert link.get("type") == "audio/mpeg" and link.get("href") == audio.get("src")
    size = (public / mp3).stat().st_size
    said = link.getparent().text_content()
    assert size_text(size, "ja") in said and player_clock(mp3_seconds(size)) in said, said


def test_players_downloads_and_the_podcast_then_a_withdrawal(site: Path) -> None:
    from mutagen.mp3 import MP3

    publish()
    public = site
    first, second = ARTICLES
    for article_id in ARTICLES:
        mp3 = article_audio_path(article_id)
        info = MP3(io.BytesIO((public / mp3).read_bytes())).info
        assert info.channels == 1 and 1.0 < info.length < 30
        assert abs(mp3_seconds((public / mp3).stat().st_size) - info.length) < 0.2  # the page's length is true
        page_path = f"articles/{article_id}/index.html"
        _player(_page(public, page_path), public, page_path, mp3)

    # The issue page: its player, then every file of its audio and braille editions.
    issue_page = f"bulletin/{DAY}/index.html"
    page = _page(public, issue_page)
    _player(page, public, issue_page, issue_audio_path(date.fromisoformat(DAY)))
    links = page.xpath("//section[@class='downloads']//a")
    targets = [(public / "bulletin" / DAY).joinpath(a.get("href")).resolve() for a in links]
    assert all(t.is_file() for t in targets), targets
    names = [t.name for t in targets]
    assert names == [
        f"kuho-{DAY}.mp3",
        f"kuho-{DAY}.daisy.zip",
        f"kuho-{DAY}.audio.epub",
        f"kuho-{DAY}.brf",
        f"kuho-{DAY}.txt",
        "podcast.xml",
    ]
    texts = [a.getparent().text_content() for a in links]
    for target, text in zip(targets[:-1], texts[:-1], strict=True):
        assert size_text(target.stat().st_size, "ja") in text, text  # each with its size
    assert [a.text for a in links] == [
        "音声（MP3）",
        "DAISY 録音図書（ZIP）",
        "音声付き電子書籍（EPUB 3）",
        "点字データ（BRF、点字プリンター用）",
        "点字データ（Unicode 点字のテキスト）",
        "ポッドキャストで購読（RSS）",
    ]

    # The podcast: parsed by feedparser, Apple's required tags, the issue as an episode.
    issue_mp3 = public / issue_audio_path(date.fromisoformat(DAY))
    feed = feedparser.parse((public / PODCAST).read_bytes())
    assert not feed.bozo and feed.feed.language == "ja" and feed.feed.title and feed.feed.subtitle
    (episode,) = feed.entries
    (enclosure,) = episode.enclosures
    assert enclosure.type == "audio/mpeg" and int(enclosure.length) == issue_mp3.stat().st_size
    assert enclosure.href.endswith(f"audio/{DAY}/kuho-{DAY}.mp3") and episode.id == f"issue-{DAY}"
    channel = etree.fromstring((public / PODCAST).read_bytes()).find("channel")
    for tag in ("image", "category", "explicit"):  # what Apple requires besides title, description, language
        assert channel.find(f"{{{ITUNES}}}{tag}") is not None, tag
    assert feed.feed.image.href.endswith(PODCAST_ARTWORK) and feed.feed.tags[0].term == "Government"
    artwork = (public / PODCAST_ARTWORK).read_bytes()
    assert artwork[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", artwork[16:24]) == (1400, 1400)

    # Again: nothing new is recorded, nothing written.
    ledger = Ledger(Settings().db_url())
    rows = len(ledger.rows())
    again = publish()
    assert sum(len(o.receipts) for o in again) == 0 and len(ledger.rows()) == rows

    # Withdrawn: its MP3 is taken down, the issue read again without it, the feed says so.
    before = issue_mp3.read_bytes()
    title, body = ARTICLES[first]
    _article(Path(os.environ["KOHO_CONTENT_DIR"]), first, title, body, status="withdrawn")
    publish()
    assert not (public / article_audio_path(first)).exists()
    assert (public / article_audio_path(second)).is_file()
    assert issue_mp3.read_bytes() != before and issue_mp3.stat().st_size < len(before)
    (episode,) = feedparser.parse((public / PODCAST).read_bytes()).entries
    assert int(episode.enclosures[0].length) == issue_mp3.stat().st_size
    assert not _page(public, f"articles/{first}/index.html").xpath("//audio")  # the notice has no player
    _player(_page(public, issue_page), public, issue_page, issue_mp3.relative_to(public).as_posix())
    removal = [r for r in ledger.rows() if r["channel"] == "audio" and r["target"] == article_audio_path(first)]
    assert [r["state"] for r in removal if r["state"] == "sent"] == ["sent", "sent"]  # written, then removed
    rows = len(ledger.rows())
    again = publish()  # the removal is not made again
    assert sum(len(o.receipts) for o in again) == 0 and len(ledger.rows()) == rows
