"""Subscriber CSV files: validate every row of an import, write an export.

An import is all or nothing unless the operator says otherwise: every rejected row is reported
with its line number, and nothing is imported while any row is rejected.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from koho.errors import ContentError
from koho.subscribers import DELIVERIES, LANGUAGES, AddressError, NewSubscriber, Subscriber, normalise_address

COLUMNS = ("address", "topics", "language", "delivery")
EXPORT_COLUMNS = ("address", "topics", "language", "delivery", "state", "source", "created_at", "confirmed_at")
_TOPIC_SEPARATORS = (";", "|", ",", "、", " ")


#: A refused row reads like every other koho error: ``path:line: field: message``.
Rejected = ContentError


@dataclass
class Parsed:
    """Valid rows and rejected rows of one file."""

    rows: list[NewSubscriber] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def read_text(path: Path, encoding: str | None) -> str:
    """The file's text. Excel in Japan often saves CP932 (Shift_JIS): say so instead of failing."""
    raw = path.read_bytes()
    try:
        return raw.decode(encoding or "utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        hint = "" if encoding else "; if Excel saved it, try --encoding cp932"
        raise ValueError(f"{path}:{line}: file: not valid {encoding or 'UTF-8'}{hint}") from None


def open_csv(
    text: str, label: str, required: Iterable[str], columns: Iterable[str], rejected: list[Rejected]
) -> csv.DictReader[str] | None:
    """A reader of ``text`` whose column names are lowercase and trimmed; None, with the refusal
    added to ``rejected``, when the header lacks a ``required`` column (``columns``: the header
    line the error suggests)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in required if c not in header]
    if not missing:
        return reader
    expected = f"expected a header line like {','.join(columns)}"
    rejected.append(Rejected(label, 1, "header", f"missing column(s) {', '.join(missing)}; {expected}"))
    return None


def parse(text: str, label: str, topics: Iterable[str]) -> Parsed:
    """Validate rows: address syntax, known topics (at least one), language, delivery, duplicates."""
    known_topics = set(topics)
    out = Parsed()
    reader = open_csv(text, label, ("address", "topics"), COLUMNS, out.rejected)
    if reader is None:
        return out
    seen: dict[str, int] = {}
    for cells in reader:
        line = reader.line_num
        # A short row lacks some cells (None); cells past the header's columns go under None.
        row = {k: restore(v) for k, v in cells.items() if k is not None and v is not None}
        problems = _check(row, None in cells, label, line, known_topics, seen)
        if problems:
            out.rejected.extend(problems)
            continue
        address, key = normalise_address(row["address"])
        seen[key] = line
        out.rows.append(
            NewSubscriber(
                address, key, _topics(row["topics"]), (row.get("language") or "ja").strip(), line, _delivery(row)
            )
        )
    return out


def _topics(cell: str | None) -> tuple[str, ...]:
    text = (cell or "").strip()
    for sep in _TOPIC_SEPARATORS:
        text = text.replace(sep, " ")
    return tuple(dict.fromkeys(t for t in text.split() if t))


def _delivery(row: dict[str, str]) -> str:
    return (row.get("delivery") or "immediate").strip().lower()


def _check(
    row: dict[str, str], overflow: bool, label: str, line: int, known_topics: set[str], seen: dict[str, int]
) -> list[Rejected]:
    problems = []
    if overflow:  # more cells than header columns: a stray comma shifted the row
        problems.append(Rejected(label, line, "row", "more cells than columns in the header"))
    raw_address = (row.get("address") or "").strip()
    try:
        _, key = normalise_address(raw_address)
        if key in seen:
            problems.append(Rejected(label, line, "address", f"duplicate of line {seen[key]}"))
    except AddressError as exc:
        problems.append(Rejected(label, line, "address", f"{raw_address!r}: {exc}"))
    chosen = _topics(row.get("topics"))
    if not chosen:
        problems.append(Rejected(label, line, "topics", "choose at least one topic"))
    for topic in chosen:
        if topic not in known_topics:
            problems.append(
                Rejected(label, line, "topics", f"unknown topic {topic!r}; known: {', '.join(sorted(known_topics))}")
            )
    language = (row.get("language") or "ja").strip()
    if language not in LANGUAGES:
        problems.append(
            Rejected(label, line, "language", f"{language!r} is not offered; offered: {', '.join(LANGUAGES)}")
        )
    if _delivery(row) not in DELIVERIES:
        problems.append(
            Rejected(
                label, line, "delivery", f"{_delivery(row)!r} is not a delivery choice; use {' or '.join(DELIVERIES)}"
            )
        )
    return problems


#: A spreadsheet treats a cell starting with one of these as a formula (OWASP "CSV injection").
#: An address may legally start with "=", "+", "-" or "@"-free variants of them, and the
#: sign-up form lets anyone choose theirs, so an export must not hand Excel a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text: a leading formula character gets a ``'`` before it.
    A CR inside a cell is not quoted by the csv module under "\n" line ends and would start a
    new row in a spreadsheet: it becomes a space (no valid address contains one)."""
    return ("'" + cell if cell.startswith(FORMULA_START) else cell).replace("\r", " ")


def restore(cell: str) -> str:
    """A cell of an exported file imported again: without the quote ``neutralise`` added."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_START):
        return cell[1:]
    return cell


def write_rows(columns: Iterable[str], rows: Iterable[Iterable[object]], handle: TextIO) -> int:
    """Write a header line and ``rows`` as CSV (UTF-8), formula-like cells neutralised; return
    how many rows."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([neutralise(str(cell)) for cell in row])
        count += 1
    return count


def write(subscribers: Iterable[Subscriber], handle: TextIO) -> int:
    """Write subscribers as CSV (UTF-8), formula-like cells neutralised; return how many rows."""
    rows = (
        (
            s.address,
            " ".join(s.topics),
            s.language,
            s.delivery,
            s.state,
            s.source,
            s.created_at.isoformat(),
            s.confirmed_at.isoformat() if s.confirmed_at else "",
        )
        for s in subscribers
    )
    return write_rows(EXPORT_COLUMNS, rows, handle)
