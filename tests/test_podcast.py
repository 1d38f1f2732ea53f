"""The podcast feed of the audio edition: parsed by feedparser, with Apple's required tags."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import feedparser
from lxml import etree

from channels.audio.podcast import Episode, Show, feed

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
SHOW = Show(
    title="練馬区報 声の広報",
    description="練馬区報の各号を合成音声で読み上げます。",
    site_url="https://example.test/",
    feed_url="https://example.test/audio/podcast.xml",
    artwork_url="https://example.test/audio/artwork.png",
    publisher="練馬区",
    owner_email="koho@example.test",
)
EPISODES = [
    Episode(
        f"区報 2026年11月{day}日号",
        f"https://example.test/issues/2026-11-{day:02d}/",
        f"https://example.test/audio/2026-11-{day:02d}/kuho-2026-11-{day:02d}.mp3",
        1_234_567 + day,
        754.4 + day,
        datetime(2026, 11, day, 7, 0, tzinfo=UTC),
        f"issue-2026-11-{day:02d}",
    )
    for day in (1, 11)
]


def test_the_feed_parses_and_carries_the_tags_apple_requires() -> None:
    data = feed(SHOW, EPISODES)
    assert feed(SHOW, EPISODES) == data  # no wall clock in it: an unchanged feed is written once
    parsed = feedparser.parse(data)
    assert not parsed.bozo
    assert parsed.feed.title == SHOW.title and parsed.feed.language == "ja"
    assert [e.title for e in parsed.entries] == ["区報 2026年11月11日号", "区報 2026年11月1日号"]  # newest first
    first = parsed.entries[0]
    (enclosure,) = first.enclosures
    assert enclosure.href.endswith("kuho-2026-11-11.mp3") and enclosure.length == "1234578"
    assert enclosure.type == "audio/mpeg" and first.id == "issue-2026-11-11"
    assert first.itunes_duration == "0:12:45"
    root = etree.fromstring(data)
    channel = root.find("channel")
    assert channel is not None
    for tag in ("image", "category", "explicit", "author", "owner"):
        assert channel.find(f"{{{ITUNES}}}{tag}") is not None, tag
    image = channel.find(f"{{{ITUNES}}}image")
    assert image is not None and image.get("href") == SHOW.artwork_url
    assert channel.findtext("description") and channel.findtext("title")
    for item in channel.findall("item"):
        assert item.findtext("title") and item.findtext("guid") and item.find("enclosure") is not None


def test_episodes_are_read_back_from_the_feed() -> None:
    from channels.audio.podcast import episodes

    assert episodes(None) == []
    again = sorted(episodes(feed(SHOW, EPISODES)), key=lambda e: e.published)
    # All a later feed keeps: the duration as written (whole seconds), the summary as the title.
    assert again == [replace(e, seconds=float(round(e.seconds)), summary=e.title) for e in EPISODES]
