"""A DAISY 2.02 talking book of one issue: ncc.html, one SMIL 1.0 file and one MP3 per part.

DAISY 2.02 (DAISY Consortium recommendation, 2001) is what Japanese DAISY players and the ward's
CD edition play. The book is an "audio with NCC only" book (``ncc:multimediaType`` audioNcc):
the NCC lists every heading (the issue, each article's title as h1, its headings as h2/h3); each
heading links to a ``par`` of its part's SMIL file, whose ``text`` points back at the heading and
whose ``seq`` of ``audio`` clips says the heading and the sentences up to the next heading.

Written from templates: no maintained Python library writes DAISY 2.02 (daisy-dtb, used by the
tests, only reads it), and the format needs fixed DOCTYPEs and metadata names.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape, quoteattr

from channels.audio.render import Clip, Programme

GENERATOR = "koho (channels/audio/daisy.py)"


@dataclass(frozen=True)
class Part:
    """One part of the book (the issue's announcement, an article): its programme and audio."""

    programme: Programme
    mp3: bytes


def _clock(seconds: float) -> str:
    """``h:mm:ss`` for ``ncc:totalTime`` and the SMIL elapsed-time metadata."""
    whole = round(seconds)
    return f"{whole // 3600:d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _npt(seconds: float) -> str:
    return f"npt={seconds:.3f}s"


def _sections(clips: Sequence[Clip]) -> list[list[Clip]]:
    """The clips cut at each heading: a section is a heading and the sentences after it."""
    sections: list[list[Clip]] = []
    for clip in clips:
        if clip.sentence.level or not sections:
            sections.append([])
        sections[-1].append(clip)
    return sections


def book(title: str, identifier: str, day: date, publisher: str, parts: Sequence[Part]) -> bytes:
    """The DAISY 2.02 book as a ZIP (the files at its root, as on a CD)."""
    files: dict[str, bytes] = {}
    headings: list[str] = []
    elapsed = 0.0
    depth = 1
    for number, part in enumerate(parts, start=1):
        smil, audio = f"part{number:03d}.smil", f"part{number:03d}.mp3"
        pars: list[str] = []
        for index, section in enumerate(_sections(part.programme.clips), start=1):
            heading = section[0].sentence
            level = 1 if number == 1 or heading.level <= 1 else min(heading.level, 6)
            depth = max(depth, level)
            anchor, par = f"h{number:03d}_{index:03d}", f"p{number:03d}_{index:03d}"
            css = ' class="title"' if number == 1 and index == 1 else ""
            text = escape(heading.text if heading.level else title)
            headings.append(f'<h{level}{css} id="{anchor}"><a href="{smil}#{par}">{text}</a></h{level}>')
            clips = "".join(
                f'<audio src="{audio}" clip-begin="{_npt(c.start)}" clip-end="{_npt(c.end)}" id="a{par}_{i:03d}"/>'
                for i, c in enumerate(section)
            )
            text_ref = f'<text src="ncc.html#{anchor}" id="t{par}"/>'
            pars.append(f'<par endsync="last" id="{par}">{text_ref}<seq>{clips}</seq></par>')
        length = part.programme.seconds
        files[smil] = _smil(title, identifier, elapsed, length, pars).encode("utf-8")
        files[audio] = part.mp3
        elapsed += length
    meta = {
        "dc:title": title,
        "dc:creator": publisher,
        "dc:publisher": publisher,
        "dc:date": day.isoformat(),
        "dc:format": "Daisy 2.02",
        "dc:identifier": identifier,
        "dc:language": "ja",
        "ncc:charset": "utf-8",
        "ncc:generator": GENERATOR,
        "ncc:narrator": "Open JTalk (synthetic speech)",
        "ncc:multimediaType": "audioNcc",
        "ncc:setInfo": "1 of 1",
        "ncc:totalTime": _clock(elapsed),
        "ncc:tocItems": str(len(headings)),
        "ncc:depth": str(depth),
        "ncc:files": str(len(files) + 1),
        "ncc:kByteSize": str(sum(len(b) for b in files.values()) // 1024),
        "ncc:pageFront": "0",
        "ncc:pageNormal": "0",
        "ncc:pageSpecial": "0",
        "ncc:maxPageNormal": "0",
        "ncc:footnotes": "0",
        "ncc:sidebars": "0",
        "ncc:prodNotes": "0",
    }
    files = {"ncc.html": _ncc(title, meta, headings).encode("utf-8"), **files}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(day.year, day.month, day.day, 0, 0, 0))  # reproducible
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".mp3") else zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out.getvalue()


def _ncc(title: str, meta: dict[str, str], headings: list[str]) -> str:
    metas = "\n".join(f"<meta name={quoteattr(k)} content={quoteattr(v)}/>" for k, v in meta.items())
    body = "\n".join(headings)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" lang="ja" xml:lang="ja">\n<head>\n'
        '<meta http-equiv="Content-type" content="text/html; charset=utf-8"/>\n'
        f"<title>{escape(title)}</title>\n{metas}\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _smil(title: str, identifier: str, elapsed: float, length: float, pars: list[str]) -> str:
    body = "\n".join(pars)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<!DOCTYPE smil PUBLIC "-//W3C//DTD SMIL 1.0//EN" "http://www.w3.org/TR/REC-smil/SMIL10.dtd">\n'
        "<smil>\n<head>\n"
        '<meta name="dc:format" content="Daisy 2.02"/>\n'
        f'<meta name="dc:title" content={quoteattr(title)}/>\n'
        f'<meta name="dc:identifier" content={quoteattr(identifier)}/>\n'
        f'<meta name="ncc:generator" content="{GENERATOR}"/>\n'
        f'<meta name="ncc:totalElapsedTime" content="{_clock(elapsed)}"/>\n'
        f'<meta name="ncc:timeInThisSmil" content="{_clock(length)}"/>\n'
        '<layout><region id="txtView"/></layout>\n'
        f'</head>\n<body>\n<seq dur="{length:.3f}s">\n{body}\n</seq>\n</body>\n</smil>\n'
    )
