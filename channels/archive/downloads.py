"""The accessible editions on the archive's pages: an article's MP3 in an ``<audio>`` player,
an issue's audio, DAISY, EPUB-with-audio and braille files as downloads with size and format.

The audio and braille channels write those files into the archive's store (``koho.editions``
names them); the archive links what the store holds, sizes read from it (a stat each, or one
listing of the editions' folders on S3), as it reads image sizes from content/. A page lists
nothing for a file not written yet: the archive renders the pages again at the end of the run
(``plan_finish``), after the run's editions were written, and a new file makes new bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from babel.units import format_unit

from koho.editions import MP3_TYPE, article_audio_path, issue_downloads, mp3_seconds
from koho.i18n import Words


@dataclass(frozen=True)
class File:
    """One file as a page shows it."""

    path: str
    label: str  # its format, in the page's words
    media_type: str
    size: str  # "1.2 MB", in the page's language
    duration: str = ""  # "12:34" for audio


def paths(article_ids: Iterable[str], days: Iterable[date]) -> list[str]:
    """The store paths whose sizes pages of ``article_ids`` and issues of ``days`` may show."""
    out = [article_audio_path(i) for i in article_ids]
    for day in days:
        out += [d.path for d in issue_downloads(day)]
    return out


def size_text(size: int, language: str) -> str:
    """A file size as people read it (CLDR's units, Babel): 850 kB, 1.2 MB."""
    if size < 1_000_000:
        return format_unit(max(1, round(size / 1000)), "digital-kilobyte", "short", locale=language)
    return format_unit(round(size / 1_000_000, 1), "digital-megabyte", "short", locale=language)


def clock(seconds: float) -> str:
    """A length as a player shows it: 4:05, 1:02:03."""
    whole = round(seconds)
    hours, minutes, rest = whole // 3600, whole // 60 % 60, whole % 60
    return f"{hours}:{minutes:02d}:{rest:02d}" if hours else f"{minutes}:{rest:02d}"


def article_audio(article_id: str, sizes: Mapping[str, int], t: Words, language: str) -> File | None:
    """The article's MP3, if the store holds it."""
    path = article_audio_path(article_id)
    if path not in sizes:
        return None
    return File(path, t.audio_mp3, MP3_TYPE, size_text(sizes[path], language), clock(mp3_seconds(sizes[path])))


def issue_files(day: date, sizes: Mapping[str, int], t: Words, language: str) -> list[File]:
    """The issue's files the store holds, audio first (its MP3 is the issue page's player)."""
    out = []
    for download in issue_downloads(day):
        if download.path in sizes:
            size = sizes[download.path]
            length = clock(mp3_seconds(size)) if download.media_type == MP3_TYPE else ""
            label = getattr(t, download.word)
            out.append(File(download.path, label, download.media_type, size_text(size, language), length))
    return out
