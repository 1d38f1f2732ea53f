"""The audio edition as a podcast: RSS 2.0 with enclosures and the iTunes tags Apple requires.

feedgen's podcast extension writes the ``itunes:`` namespace. Apple Podcasts requires on the
channel a title, description, artwork (``itunes:image``, 1400–3000 px square), language,
``itunes:category`` and ``itunes:explicit``; on each episode a title, an enclosure (URL, length
in bytes, type) and a GUID. Author, owner, duration and episode type are added as it recommends.

The channel makes the feed with each issue's audio: the episodes of earlier issues are read back
from the feed already in the store (``episodes``), the issue's own replaced or added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

CATEGORY = "Government"  # Apple's category list has no local-news subcategory under it


@dataclass(frozen=True)
class Episode:
    """One issue read aloud: its page, its MP3 and how long it lasts."""

    title: str
    page_url: str  # the page on the archive
    mp3_url: str
    mp3_bytes: int  # the enclosure's length: Apple requires it in bytes
    seconds: float  # itunes:duration
    published: datetime
    guid: str  # the ledger id: never changes when the audio is made again
    summary: str = ""


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600:d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


@dataclass(frozen=True)
class Show:
    """The podcast: who makes it and what it is."""

    title: str
    description: str
    site_url: str
    feed_url: str
    artwork_url: str
    publisher: str
    owner_email: str = ""  # itunes:owner is recommended, not required: left out without one
    language: str = "ja"


def feed(show: Show, episodes: Sequence[Episode]) -> bytes:
    """The podcast's RSS 2.0, newest episode first."""
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.load_extension("podcast")
    fg.title(show.title)
    fg.description(show.description)
    fg.language(show.language)
    fg.link(href=show.feed_url, rel="self")
    fg.link(href=show.site_url, rel="alternate")  # feedgen takes <link> from the last link given
    fg.podcast.itunes_image(show.artwork_url)
    fg.podcast.itunes_category(CATEGORY)
    fg.podcast.itunes_explicit("no")
    fg.podcast.itunes_author(show.publisher)
    if show.owner_email:
        fg.podcast.itunes_owner(name=show.publisher, email=show.owner_email)
    fg.podcast.itunes_type("episodic")
    if episodes:  # feedgen stamps the wall clock otherwise: the same episodes must give the same bytes
        fg.lastBuildDate(max(e.published for e in episodes))
    for episode in sorted(episodes, key=lambda e: e.published):  # feedgen prepends entries
        entry = fg.add_entry()
        entry.id(episode.guid)
        entry.guid(episode.guid, permalink=False)
        entry.title(episode.title)
        entry.link(href=episode.page_url)
        entry.description(episode.summary or episode.title)
        entry.published(episode.published)
        entry.enclosure(episode.mp3_url, str(episode.mp3_bytes), "audio/mpeg")
        entry.podcast.itunes_duration(_duration(episode.seconds))
        entry.podcast.itunes_explicit("no")
        entry.podcast.itunes_episode_type("full")
    return bytes(fg.rss_str(pretty=True))


def _seconds(duration: str) -> float:
    hours, minutes, seconds = (int(part) for part in duration.split(":"))
    return float(hours * 3600 + minutes * 60 + seconds)


def episodes(data: bytes | None) -> list[Episode]:
    """The episodes of a feed this module wrote (none for ``None``): what the next feed keeps."""
    if not data:
        return []
    from lxml import etree

    itunes = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
    out = []
    for item in etree.fromstring(data).iter("item"):
        enclosure = item.find("enclosure")
        if enclosure is None:
            continue
        out.append(
            Episode(
                title=item.findtext("title") or "",
                page_url=item.findtext("link") or "",
                mp3_url=enclosure.get("url", ""),
                mp3_bytes=int(enclosure.get("length", "0")),
                seconds=_seconds(item.findtext(f"{itunes}duration") or "0:00:00"),
                published=parsedate_to_datetime(item.findtext("pubDate") or ""),
                guid=item.findtext("guid") or "",
                summary=item.findtext("description") or "",
            )
        )
    return out
