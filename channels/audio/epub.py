"""An EPUB 3 of one issue with Media Overlays: the text, and the speech synchronised with it.

Each part (the issue's name, each article) is an XHTML document whose headings and sentences
carry ids, a SMIL 3.0 overlay that pairs each id with its clip of the part's MP3 (EPUB Media
Overlays 3.3), and the MP3. Reading systems that play overlays highlight each sentence as it is
said (``media:active-class``). Accessibility metadata (EPUB Accessibility 1.1) says the book is
textual and auditory, either sufficient, with synchronised audio.

Written from templates: EbookLib, which makes koho's other e-books, has no media-overlay support
(no SMIL items, no ``media:duration``), and an overlay must name the ids the XHTML carries.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import datetime
from xml.sax.saxutils import escape

from channels.audio.daisy import Part

CONFORMANCE = "EPUB Accessibility 1.1 - WCAG 2.1 Level AA"
SUMMARY = "本文の各文と合成音声が同期しています。見出しと目次から各記事へ移動できます。画像はありません。"
_HTML = (
    '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml"'
    ' xmlns:epub="http://www.idpf.org/2007/ops" lang="ja" xml:lang="ja">\n'
)
_CSS = (
    "body { font-family: sans-serif; line-height: 1.7; }\n"
    ".-epub-media-overlay-active { background-color: #ffef9f; color: #000; }\n"
)


def _clock(seconds: float) -> str:
    """A SMIL clock value, ``h:mm:ss.fff`` (media:duration)."""
    millis = round(seconds * 1000)
    return f"{millis // 3_600_000}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}.{millis % 1000:03d}"


def _xhtml(title: str, part: Part, number: int) -> str:
    body: list[str] = []
    for index, clip in enumerate(part.programme.clips, start=1):
        sentence = clip.sentence
        tag = "h1" if number == 1 or sentence.level == 1 else f"h{min(sentence.level, 6)}" if sentence.level else "p"
        body.append(f'<{tag} id="s{index:04d}">{escape(sentence.text)}</{tag}>')
    return (
        f'{_HTML}<head><meta charset="utf-8"/><title>{escape(title)}</title>'
        '<link rel="stylesheet" type="text/css" href="style.css"/></head>\n'
        f'<body><section epub:type="chapter" role="doc-chapter" aria-labelledby="s0001">\n'
        + "\n".join(body)
        + "\n</section></body>\n</html>\n"
    )


def _smil(number: int, part: Part) -> str:
    pars = "\n".join(
        f'<par id="par{index:04d}"><text src="part{number:03d}.xhtml#s{index:04d}"/>'
        f'<audio src="audio/part{number:03d}.mp3" clipBegin="{clip.start:.3f}s" clipEnd="{clip.end:.3f}s"/></par>'
        for index, clip in enumerate(part.programme.clips, start=1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<smil xmlns="http://www.w3.org/ns/SMIL" xmlns:epub="http://www.idpf.org/2007/ops" version="3.0">\n'
        f'<body><seq id="seq1" epub:textref="part{number:03d}.xhtml" epub:type="chapter">\n{pars}\n</seq></body>\n'
        "</smil>\n"
    )


def _nav(title: str, entries: list[tuple[str, str]]) -> str:
    items = "\n".join(f'<li><a href="{href}">{escape(text)}</a></li>' for href, text in entries)
    return (
        f'{_HTML}<head><meta charset="utf-8"/><title>{escape(title)}</title></head>\n'
        f'<body><nav epub:type="toc" role="doc-toc" id="toc"><h1>目次</h1><ol>\n{items}\n</ol></nav></body>\n</html>\n'
    )


def _opf(title: str, identifier: str, modified: datetime, publisher: str, parts: Sequence[Part]) -> str:
    meta = [
        f'<dc:identifier id="uid">{escape(identifier)}</dc:identifier>',
        f"<dc:title>{escape(title)}</dc:title>",
        "<dc:language>ja</dc:language>",
        f"<dc:publisher>{escape(publisher)}</dc:publisher>",
        f'<meta property="dcterms:modified">{modified.strftime("%Y-%m-%dT%H:%M:%SZ")}</meta>',
        f'<meta property="media:duration">{_clock(sum(p.programme.seconds for p in parts))}</meta>',
        '<meta property="media:active-class">-epub-media-overlay-active</meta>',
        '<meta property="media:narrator">Open JTalk</meta>',
        *(
            f'<meta property="media:duration" refines="#mo{n:03d}">{_clock(p.programme.seconds)}</meta>'
            for n, p in enumerate(parts, start=1)
        ),
        *(f'<meta property="schema:accessMode">{m}</meta>' for m in ("textual", "auditory")),
        *(f'<meta property="schema:accessModeSufficient">{m}</meta>' for m in ("textual", "auditory")),
        *(
            f'<meta property="schema:accessibilityFeature">{f}</meta>'
            for f in ("synchronizedAudioText", "structuralNavigation", "tableOfContents", "readingOrder")
        ),
        '<meta property="schema:accessibilityHazard">none</meta>',
        f'<meta property="schema:accessibilitySummary">{SUMMARY}</meta>',
        f'<meta property="dcterms:conformsTo">{CONFORMANCE}</meta>',
        f'<meta property="a11y:certifiedBy">{escape(publisher)}</meta>',
    ]
    items = ['<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>']
    items.append('<item id="css" href="style.css" media-type="text/css"/>')
    spine: list[str] = []
    for n in range(1, len(parts) + 1):
        items += [
            f'<item id="part{n:03d}" href="part{n:03d}.xhtml" media-type="application/xhtml+xml"'
            f' media-overlay="mo{n:03d}"/>',
            f'<item id="mo{n:03d}" href="part{n:03d}.smil" media-type="application/smil+xml"/>',
            f'<item id="audio{n:03d}" href="audio/part{n:03d}.mp3" media-type="audio/mpeg"/>',
        ]
        spine.append(f'<itemref idref="part{n:03d}"/>')
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid" xml:lang="ja">\n'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        + "\n".join(meta)
        + "\n</metadata>\n<manifest>\n"
        + "\n".join(items)
        + "\n</manifest>\n<spine>\n"
        + "\n".join(spine)
        + "\n</spine>\n</package>\n"
    )


_CONTAINER = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
    '<rootfiles><rootfile full-path="EPUB/package.opf" media-type="application/oebps-package+xml"/></rootfiles>'
    "</container>\n"
)


def book(title: str, identifier: str, modified: datetime, publisher: str, parts: Sequence[Part]) -> bytes:
    """The EPUB (ZIP, ``mimetype`` first and stored, fixed times so the same issue gives the same bytes)."""
    files: dict[str, bytes] = {
        "META-INF/container.xml": _CONTAINER.encode(),
        "EPUB/package.opf": _opf(title, identifier, modified, publisher, parts).encode(),
        "EPUB/style.css": _CSS.encode(),
    }
    entries = []
    for n, part in enumerate(parts, start=1):
        heading = part.programme.clips[0].sentence.text if part.programme.clips else title
        heading = title if n == 1 else heading
        files[f"EPUB/part{n:03d}.xhtml"] = _xhtml(heading, part, n).encode()
        files[f"EPUB/part{n:03d}.smil"] = _smil(n, part).encode()
        files[f"EPUB/audio/part{n:03d}.mp3"] = part.mp3
        entries.append((f"part{n:03d}.xhtml", heading))
    files["EPUB/nav.xhtml"] = _nav(title, entries).encode()
    out = io.BytesIO()
    stamp = (modified.year, modified.month, modified.day, 0, 0, 0)
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype", stamp), b"application/epub+zip", zipfile.ZIP_STORED)
        for name, data in files.items():
            kind = zipfile.ZIP_STORED if name.endswith(".mp3") else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(name, stamp), data, kind)
    return out.getvalue()
