"""Where the editions for residents who cannot read print live in the archive's store (the
braille and audio channels write them; the archive links them, with sizes and formats; the
podcast feed encloses them): one list that both sides read, so a link never names a file under
another name than the one written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

#: The audio edition's MP3 bit rate (kbit/s): constant (lameenc, CBR), so a file's size in the
#: store gives its length without reading it.
MP3_KBPS = 64
MP3_TYPE = "audio/mpeg"


def issue_file(folder: str, day: date, suffix: str) -> str:
    """``<folder>/2026-11-01/kuho-2026-11-01.<suffix>``: one file of an issue's edition."""
    return f"{folder}/{day.isoformat()}/kuho-{day.isoformat()}.{suffix}"


def article_audio_path(article_id: str) -> str:
    """``audio/articles/<id>.mp3``: one article read aloud."""
    return f"audio/articles/{article_id}.mp3"


def issue_audio_path(day: date, suffix: str = "mp3") -> str:
    """``audio/2026-11-01/kuho-2026-11-01.mp3``: a file of an issue's audio edition."""
    return issue_file("audio", day, suffix)


def braille_path(day: date, suffix: str) -> str:
    """``braille/2026-11-01/kuho-2026-11-01.brf``: one file of an issue's braille edition."""
    return issue_file("braille", day, suffix)


#: The podcast feed of the audio edition (Japanese, the only language read aloud).
PODCAST = "audio/podcast.xml"
#: Its artwork (Apple: a square PNG or JPEG of 1400 to 3000 px).
PODCAST_ARTWORK = "audio/podcast.png"


def mp3_seconds(size: int) -> float:
    """The length of one of the audio edition's MP3 files from its size in bytes."""
    return size * 8 / (MP3_KBPS * 1000)


@dataclass(frozen=True)
class Download:
    """One file of an issue's accessible editions: where it is, which word names it, its type."""

    path: str
    word: str  # the name of a field of ``koho.i18n.Words``
    media_type: str


def issue_downloads(day: date) -> list[Download]:
    """Every file an issue's audio and braille editions may have, in the order a page lists them."""
    return [
        Download(issue_audio_path(day), "audio_mp3", MP3_TYPE),
        Download(issue_audio_path(day, "daisy.zip"), "audio_daisy", "application/zip"),
        Download(issue_audio_path(day, "audio.epub"), "audio_epub", "application/epub+zip"),
        Download(braille_path(day, "brf"), "braille_brf", "text/plain"),
        Download(braille_path(day, "txt"), "braille_text", "text/plain"),
    ]
