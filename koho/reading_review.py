"""A volunteer's review of the readings Open JTalk guessed: ``content/readings/<id>.po``.

``koho readings export ISSUE_OR_ARTICLE`` writes one entry per word whose reading is the model's
guess (a word with a kanji that neither the glossary's ``reading:`` nor a review covers): msgid
the word as written, msgstr the guess as kana, marked fuzzy, with where it occurs. A volunteer
corrects msgstr (katakana furigana) or leaves it, and removes the fuzzy flag: reviewed entries
of every file win over the model at the next publish, for braille and speech alike, wherever
the word stands as one word. An export merges into an existing file (Babel's ``update``), so
reviewed entries stay reviewed. Errors name the file, the line and the field.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, read_po, write_po

from koho.content_files import ContentFileError, MissingContentFile, read_inside
from koho.errors import ContentError
from koho.readings import Token

READINGS_DIR = "readings"
#: A file lists an issue's words once each: a few thousand entries at most.
MAX_READINGS_BYTES = 2 * 1024 * 1024
_KATAKANA = re.compile(r"^[ァ-ヴー]+$")
_KANJI = re.compile(r"[\u3400-\u9fff々〆ヵヶ]")


def po_path(content_dir: Path, item_id: str) -> Path:
    """Where the review of an issue's or article's readings lives."""
    return content_dir / READINGS_DIR / f"{item_id}.po"


def guessed(tokens: Iterable[tuple[str, Token]]) -> dict[str, tuple[str, list[str]]]:
    """word -> (the model's kana, where it occurs) for the (location, token) pairs whose reading
    the model guessed, or a volunteer reviewed: words with a kanji (kana is read as written)."""
    out: dict[str, tuple[str, list[str]]] = {}
    for where, token in tokens:
        # Reviewed words stay listed: a merge would otherwise make their entries obsolete.
        if token.kind != "word" or token.source not in ("model", "review") or not _KANJI.search(token.text):
            continue
        kana, places = out.setdefault(token.text, (token.kana, []))
        if where not in places:
            places.append(where)
    return out


def export(content_dir: Path, item_id: str, words: dict[str, tuple[str, list[str]]]) -> dict[str, int]:
    """Write (or merge into) ``content/readings/<item_id>.po``; counts of reviewed and new entries.
    A file that content's boundary refuses (a link) is a ValueError before anything is written."""
    path = po_path(content_dir, item_id)
    template = Catalog(locale="ja", project=f"koho readings {item_id}", creation_date=datetime(2000, 1, 1, tzinfo=UTC))
    for word, (_kana, places) in sorted(words.items()):
        # Line 0: Babel writes no line number; the article id says where the word stands.
        template.add(word, locations=[(place, 0) for place in places])
    try:
        catalog, error = _parse(_read(content_dir, f"{item_id}.po"), path)
    except MissingContentFile:
        catalog, error = template, None
    else:
        if error or catalog is None:
            raise ValueError(str(error))
        catalog.update(template, update_header_comment=False, update_creation_date=False)
    counts = {"reviewed": 0, "new": 0}
    for message in catalog:
        if not message.id or not isinstance(message.id, str):
            continue
        if not message.string and message.id in words:
            message.string = words[message.id][0]  # the guess, fuzzy: not a person's review yet
            message.flags.add("fuzzy")
            counts["new"] += 1
        elif not message.fuzzy and message.string:
            counts["reviewed"] += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0, ignore_obsolete=False)
    path.write_bytes(buffer.getvalue())
    return counts


def load_reviewed(content_dir: Path) -> tuple[dict[str, str], list[ContentError]]:
    """word -> reviewed reading, from every ``content/readings/*.po`` (the first file by name wins
    a word reviewed twice), and the errors found. Never raises for bad content."""
    reviewed: dict[str, str] = {}
    errors: list[ContentError] = []
    folder = content_dir / READINGS_DIR
    for path in sorted(folder.glob("*.po")) if folder.is_dir() else []:
        try:
            catalog, error = _parse(_read(content_dir, path.name), path)
        except ContentFileError as exc:
            errors.append(ContentError(path.as_posix(), 1, "file", str(exc)))
            continue
        if error or catalog is None:
            errors.extend([error] if error else [])
            continue
        for message in catalog:
            if not message.id or not isinstance(message.id, str) or message.fuzzy:
                continue
            text = message.string if isinstance(message.string, str) else ""
            if not text.strip():
                continue
            if not _KATAKANA.match(text.strip()):
                errors.append(
                    ContentError(
                        path.as_posix(),
                        message.lineno or 1,
                        "msgstr",
                        f"the reading of {message.id!r} must be katakana, e.g. ネリマ (got {text!r})",
                    )
                )
                continue
            reviewed.setdefault(message.id, text.strip())
    return reviewed, errors


def _read(content_dir: Path, name: str) -> bytes:
    """A review file's bytes, through content's boundary (no links out of content/)."""
    return read_inside(
        content_dir, f"{READINGS_DIR}/{name}", MAX_READINGS_BYTES, "readings files must be real files inside content/"
    )


def _parse(raw: bytes, path: Path) -> tuple[Catalog | None, ContentError | None]:
    try:
        return read_po(io.BytesIO(raw), abort_invalid=True), None
    except (PoFileError, UnicodeDecodeError, ValueError) as exc:
        line = getattr(exc, "lineno", 0) + 1  # PoFileError counts lines from 0
        return None, ContentError(path.as_posix(), line, "po", f"not a valid PO file: {exc}")
