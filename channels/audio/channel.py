"""The ``audio`` channel: an MP3 per Japanese article and per issue in the archive's store.

Targets: ``audio/articles/<article id>.mp3`` and ``audio/<day>/kuho-<day>.mp3``. Speech is made
while planning (as the braille edition is), from the sentence cache in the state folder, so a
re-plan after a correction synthesises only the sentences that changed. Without the
``accessible`` extra each article and issue is planned once as a row that is recorded
``skipped`` with the install command, under another revision, so the audio is made on the first
run after the extra is installed.
"""

from __future__ import annotations

import importlib.util
from datetime import UTC, date
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from channels.common.editions import JapaneseEditionChannel, issue_file
from koho.article import Article
from koho.bulletin import BulletinIssue
from koho.channel import PlanContext, PlansIssues
from koho.delivery import Delivery
from koho.readings import INSTALL_HINT

if TYPE_CHECKING:
    from channels.audio.speech import SpeechCache
    from koho.reading_dictionary import ReadingDictionary

MP3_TYPE = "audio/mpeg"
ZIP_TYPE = "application/zip"
EPUB_TYPE = "application/epub+zip"
#: The revision suffix of a row planned when speech cannot be made.
UNAVAILABLE = "no-speech"


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
        """The article read aloud (Japanese articles only)."""
        if article.language != "ja" or article.withdrawn:  # a withdrawn article is not read aloud
            return []
        target = article_audio_path(article.id)
        if not available():
            return [Delivery(self.name, target, article.id, f"{article.revision}-{UNAVAILABLE}", "ja", b"", MP3_TYPE)]
        from channels.audio.edition import parts
        from channels.audio.render import mp3, programme

        cache, dictionary = self._speech()
        made = programme(parts([article], dictionary), cache)
        return [Delivery(self.name, target, article.id, article.revision, "ja", mp3(made.samples), MP3_TYPE)]

    def plan_issue(self, issue: BulletinIssue, ctx: PlanContext) -> list[Delivery]:
        """The issue read aloud: its name, then each article with a pause between them."""
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
        whole = programme(said, cache)
        # The DAISY book has a file per part (the announcement, each article), as players expect.
        parts = [Part(made, mp3(made.samples)) for made in (programme([part], cache) for part in said)]
        publisher = ctx.site.publisher or ctx.site.name
        title = f"{ctx.site.name} {issue.label}"
        daisy = book(title, issue.id, issue.day, publisher, parts)
        modified = issue.appears_at.astimezone(UTC)
        with_audio = epub.book(title, f"urn:koho:{issue.id}:audio", modified, publisher, parts)
        files = [
            (target, mp3(whole.samples), MP3_TYPE),
            (issue_audio_path(issue.day, "daisy.zip"), daisy, ZIP_TYPE),
            (issue_audio_path(issue.day, "audio.epub"), with_audio, EPUB_TYPE),
        ]
        return [Delivery(self.name, path, issue.id, issue.revision, "ja", data, kind) for path, data, kind in files]


def article_audio_path(article_id: str) -> str:
    """``audio/articles/<id>.mp3``: one article read aloud."""
    return f"audio/articles/{article_id}.mp3"


def issue_audio_path(day: date, suffix: str = "mp3") -> str:
    """``audio/2026-11-01/kuho-2026-11-01.mp3``: a file of an issue's audio edition."""
    return issue_file("audio", day, suffix)
