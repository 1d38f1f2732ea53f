"""The ``audio`` channel: an MP3 per Japanese article and per issue in the archive's store, the
issue's DAISY book and EPUB with Media Overlays, and the podcast feed of the issues.

Targets (``koho.editions``): ``audio/articles/<article id>.mp3``, ``audio/<day>/kuho-<day>.mp3``
(``.daisy.zip``, ``.audio.epub``) and ``audio/podcast.xml`` with its artwork. Speech is made
while planning (as the braille edition is), from the sentence cache in the state folder, so a
re-plan after a correction synthesises only the sentences that changed. A withdrawn article's
MP3 is taken down (one removal row of the withdrawn revision); its issue, whose revision changed,
is made again without it. Without the ``accessible`` extra each article and issue is planned
once as a row that is recorded ``skipped`` with the install command, under another revision, so
the audio is made on the first run after the extra is installed.
"""

from __future__ import annotations

import importlib.util
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from channels.common.editions import JapaneseEditionChannel
from koho.article import Article
from koho.bulletin import BulletinIssue
from koho.channel import PlanContext, PlansIssues
from koho.delivery import Delivery, by_bytes
from koho.editions import MP3_TYPE, PODCAST, PODCAST_ARTWORK, article_audio_path, issue_audio_path, mp3_seconds
from koho.ledger import SITE_ID
from koho.readings import INSTALL_HINT
from koho.storage import REMOVE

if TYPE_CHECKING:
    from channels.audio.speech import SpeechCache
    from koho.reading_dictionary import ReadingDictionary

ZIP_TYPE = "application/zip"
EPUB_TYPE = "application/epub+zip"
RSS_TYPE = "application/rss+xml"
#: The revision suffix of a row planned when speech cannot be made.
UNAVAILABLE = "no-speech"
#: The podcast's artwork: 1400 px square (Apple's smallest), the archive's icon.
ARTWORK = Path(__file__).with_name("podcast.png")


def available() -> bool:
    """Whether the ``accessible`` extra's speech parts are installed (Open JTalk, LAME, pyloudnorm)."""
    return all(importlib.util.find_spec(name) is not None for name in ("pyopenjtalk", "lameenc", "pyloudnorm"))


class AudioChannel(JapaneseEditionChannel, PlansIssues[PlanContext]):
    """声の広報: each Japanese article and bulletin issue read aloud, as MP3 in a byte store."""

    name: ClassVar[str] = "audio"
    unavailable: ClassVar[str] = UNAVAILABLE
    unavailable_detail: ClassVar[str] = f"audio needs the accessible extra: {INSTALL_HINT}"

    def __init__(self, url: str, content_dir: Path, base_dir: Path | None = None, cache_dir: Path | None = None):
        super().__init__(url, content_dir, base_dir)
        self.cache_dir = cache_dir
        self._cache: SpeechCache | None = None

    def _speech(self) -> tuple[SpeechCache, ReadingDictionary]:
        """The sentence cache and the readings dictionary, opened on first use."""
        from channels.audio.speech import SpeechCache
        from koho.reading_dictionary import load_reading_dictionary

        if self._cache is None:
            self._cache = SpeechCache(self.cache_dir)
        # Errors of the dictionary stop a run before planning (koho check, the preflight).
        return self._cache, load_reading_dictionary(self.content_dir)[0]

    def close(self) -> None:
        """Close the sentence cache's file (the store holds nothing open)."""
        if self._cache is not None:
            self._cache.close()
            self._cache = None
        super().close()

    def plan(self, article: Article, ctx: PlanContext) -> list[Delivery]:
        """The article read aloud (Japanese articles only); a withdrawn one's MP3 taken down."""
        if article.language != "ja":
            return []
        target = article_audio_path(article.id)
        if article.withdrawn:  # not read aloud; what was written for it goes, once
            if not ctx.previous_targets and article.id not in ctx.published:
                return []
            return [Delivery(self.name, target, article.id, article.revision, "ja", b"", REMOVE)]
        if not available():
            return [Delivery(self.name, target, article.id, f"{article.revision}-{UNAVAILABLE}", "ja", b"", MP3_TYPE)]
        from channels.audio.edition import parts
        from channels.audio.render import mp3, programme

        cache, dictionary = self._speech()
        made = programme(parts([article], dictionary), cache)
        return [Delivery(self.name, target, article.id, article.revision, "ja", mp3(made.samples), MP3_TYPE)]

    def plan_issue(self, issue: BulletinIssue, ctx: PlanContext) -> list[Delivery]:
        """The issue read aloud (its name, then each article with a pause between them), its
        DAISY book and EPUB with Media Overlays, and the podcast feed with it as an episode."""
        if not issue.articles or issue.language != "ja":
            return []
        target = issue_audio_path(issue.day)
        if not available():
            revision = f"{issue.revision}-{UNAVAILABLE}"
            return [Delivery(self.name, target, issue.id, revision, "ja", b"", MP3_TYPE)]
        from channels.audio import epub
        from channels.audio.daisy import Part, book
        from channels.audio.edition import issue_parts
        from channels.audio.render import mp3, programme

        cache, dictionary = self._speech()
        said = issue_parts(issue, dictionary)
        whole = mp3(programme(said, cache).samples)
        # The DAISY book has a file per part (the announcement, each article), as players expect.
        parts = [Part(made, mp3(made.samples)) for made in (programme([part], cache) for part in said)]
        publisher = ctx.site.publisher or ctx.site.name
        title = f"{ctx.site.name} {issue.label}"
        daisy = book(title, issue.id, issue.day, publisher, parts)
        modified = issue.appears_at.astimezone(UTC)
        with_audio = epub.book(title, f"urn:koho:{issue.id}:audio", modified, publisher, parts)
        files = [
            (target, whole, MP3_TYPE),
            (issue_audio_path(issue.day, "daisy.zip"), daisy, ZIP_TYPE),
            (issue_audio_path(issue.day, "audio.epub"), with_audio, EPUB_TYPE),
        ]
        out = [Delivery(self.name, path, issue.id, issue.revision, "ja", data, kind) for path, data, kind in files]
        return out + self._podcast(issue, len(whole), ctx)

    def _podcast(self, issue: BulletinIssue, mp3_bytes: int, ctx: PlanContext) -> list[Delivery]:
        """The podcast feed with ``issue`` as an episode (replacing its earlier one), and its
        artwork: files of the site, keyed by their bytes, so an unchanged feed is written once.
        The earlier issues' episodes are read back from the feed in the store: an issue
        context holds that issue only."""
        from channels.audio.podcast import Episode, Show, episodes, feed

        site = ctx.site
        episode = Episode(
            title=issue.label,
            page_url=site.url(site.issue_path(issue.day) + "index.html"),
            mp3_url=site.url(issue_audio_path(issue.day)),
            mp3_bytes=mp3_bytes,
            seconds=mp3_seconds(mp3_bytes),
            published=issue.appears_at,
            guid=issue.id,
            summary=" / ".join(a.title for a in issue.articles),
        )
        earlier = [e for e in episodes(self.store.read(PODCAST)) if e.guid != issue.id]
        show = Show(
            title=f"{site.name}（声の広報）",
            description=site.description or site.name,
            site_url=site.url(""),
            feed_url=site.url(PODCAST),
            artwork_url=site.url(PODCAST_ARTWORK),
            publisher=site.publisher or site.name,
            language="ja",
        )
        data = feed(show, [*earlier, episode])
        artwork = ARTWORK.read_bytes()
        return [
            Delivery(self.name, PODCAST, SITE_ID, by_bytes(data, "podcast-"), "ja", data, RSS_TYPE),
            Delivery(self.name, PODCAST_ARTWORK, SITE_ID, by_bytes(artwork, "artwork-"), "ja", artwork, "image/png"),
        ]
