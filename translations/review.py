"""Human review of machine translations: one gettext PO file per article and language.

``content/translations/<lang>/<article id>.po`` holds one entry per Japanese sentence (msgid,
as written, Markdown included) with its location in the article. A non-fuzzy entry with a
msgstr is *reviewed* and wins over the machine; `export` pre-fills new entries with the
machine's output marked fuzzy, so nothing counts as reviewed until a person clears the flag.

When the Japanese of a reviewed sentence changes, merging (Babel's msgmerge-like
`Catalog.update`) keeps the reviewed text, marks it fuzzy and keeps the old msgid as
``#| msgid`` for the reviewer; fuzzy entries are never used, so the machine translates that
sentence until it is reviewed again. Publishing merges in memory and never writes content/;
`koho translations export` writes the merge, and `koho check` warns about stale reviews.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, read_po, write_po

from koho.content_files import ContentFileError, MissingContentFile, read_inside
from koho.errors import ContentError

REVIEW_DIR = "translations"
#: A PO file holds an article's sentences twice (msgid, msgstr) plus comments; articles are capped
#: at 512 KiB, so a review file above 2 MiB is a mistake.
MAX_REVIEW_BYTES = 2 * 1024 * 1024


def po_path(content_dir: Path, language: str, article_id: str) -> Path:
    """Where the review file of an article in a language lives."""
    return content_dir / REVIEW_DIR / language / f"{article_id}.po"


@dataclass(frozen=True)
class Entry:
    """One sentence to review: its Japanese (msgid), where it is, and the machine's output."""

    msgid: str
    locations: tuple[tuple[str, int], ...]
    machine: str | None = None


@dataclass
class Reviews:
    """The reviewed entries of one PO file: msgid -> reviewed text, and every problem found."""

    path: str
    reviewed: dict[str, str] = field(default_factory=dict)
    #: msgid -> line, for every entry (reviewed or not): check and tests point at lines.
    lines: dict[str, int] = field(default_factory=dict)
    #: Fuzzy entries that carry an old msgid: a reviewed sentence whose Japanese changed.
    stale: dict[str, int] = field(default_factory=dict)
    errors: list[ContentError] = field(default_factory=list)


def load_reviews(content_dir: Path, language: str, article_id: str) -> Reviews:
    """The reviews of an article in a language (empty when there is no file)."""
    path = po_path(content_dir, language, article_id)
    reviews = Reviews(path.as_posix())
    try:
        raw = read_review(content_dir, language, article_id)
    except MissingContentFile:
        return reviews
    except ContentFileError as exc:
        reviews.errors.append(ContentError(path.as_posix(), 1, "file", str(exc)))
        return reviews
    catalog = _parse(raw, path)
    if isinstance(catalog, ContentError):
        reviews.errors.append(catalog)
        return reviews
    for message in catalog:
        if not message.id or not isinstance(message.id, str):
            continue
        reviews.lines[message.id] = message.lineno or 1
        if message.fuzzy:
            # Babel's reader keeps "#| msgid" (the previous msgid) as a user comment.
            if message.previous_id or any(c.startswith("| msgid") for c in message.user_comments):
                reviews.stale[message.id] = message.lineno or 1
        elif isinstance(message.string, str) and message.string.strip():
            reviews.reviewed[message.id] = message.string
    return reviews


def stale_warnings(reviews: Reviews, current: Iterable[str], hint: str) -> list[ContentError]:
    """Stale reviews as warnings: entries marked fuzzy by a merge, and reviewed entries whose
    Japanese is no longer in the article (not merged yet)."""
    current = set(current)
    warnings = [
        ContentError(
            reviews.path,
            line,
            "msgid",
            "stale review: the Japanese changed, so the machine "
            "translation is used until someone reviews it again and clears the fuzzy flag",
        )
        for msgid, line in reviews.stale.items()
        if msgid in current
    ]
    warnings += [
        ContentError(
            reviews.path,
            reviews.lines[msgid],
            "msgid",
            f"stale review: the article no longer has this sentence, so the machine translates its new text; {hint}",
        )
        for msgid in reviews.reviewed
        if msgid not in current
    ]
    return sorted(warnings)


def export(content_dir: Path, language: str, article_id: str, entries: Sequence[Entry]) -> dict[str, int]:
    """Write (or merge into) the article's PO file under ``content_dir``; return counts of
    reviewed, fuzzy, new entries. A review file that content's boundary refuses (a link) is a
    ValueError before anything is written: writing through it would change a file elsewhere."""
    path = po_path(content_dir, language, article_id)
    template = Catalog(
        locale=_babel_locale(language),
        project=f"koho {article_id}",
        creation_date=datetime(2000, 1, 1, tzinfo=UTC),
    )
    for entry in entries:
        if entry.msgid in template:
            template[entry.msgid].locations.extend(entry.locations)
        else:
            template.add(entry.msgid, locations=list(entry.locations))
    try:
        parsed = _parse(read_review(content_dir, language, article_id), path)
    except MissingContentFile:
        catalog = template
    else:
        if isinstance(parsed, ContentError):
            raise ValueError(str(parsed))
        catalog = parsed
        catalog.update(template, update_header_comment=False, update_creation_date=False)
    machine = {e.msgid: e.machine for e in entries if e.machine}
    counts = {"reviewed": 0, "fuzzy": 0, "new": 0}
    for message in catalog:
        if not message.id:
            continue
        if not message.string and message.id in machine:
            # A suggestion to start from: fuzzy, so it is not taken for a person's review.
            message.string = machine[message.id]
            message.flags.add("fuzzy")
            counts["new"] += 1
        elif message.fuzzy:
            counts["fuzzy"] += 1
        elif message.string:
            counts["reviewed"] += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    # No wrapping: reviewers (and `koho check`) see one msgid per line.
    write_po(buffer, catalog, width=0, include_previous=True, ignore_obsolete=False)
    path.write_bytes(buffer.getvalue())
    return counts


def read_review(content_dir: Path, language: str, article_id: str) -> bytes:
    """The bytes of a review file, read through content's boundary (``koho.content_files``: a
    PO file or ``translations/<lang>`` folder linked to anything outside content/ is refused)."""
    return read_inside(
        content_dir,
        f"{REVIEW_DIR}/{language}/{article_id}.po",
        MAX_REVIEW_BYTES,
        "review files must be real files inside content/translations/",
    )


def _parse(raw: bytes, path: Path) -> Catalog | ContentError:
    """The PO file's catalog, or the error that makes it unreadable."""
    try:
        return read_po(io.BytesIO(raw), abort_invalid=True)
    except (PoFileError, UnicodeDecodeError, ValueError) as exc:
        # PoFileError counts lines from 0 (a message's lineno counts from 1).
        line = getattr(exc, "lineno", 0) + 1
        return ContentError(path.as_posix(), line, "po", f"not a valid PO file: {exc}")


def _babel_locale(language: str) -> str:
    # Babel knows "zh" only with a script or territory; the argos code is "zh" (Simplified).
    return {"zh": "zh_Hans"}.get(language, language)
