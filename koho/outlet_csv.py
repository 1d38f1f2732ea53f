"""Media list CSV files (``koho media import|export``): check every row of an import, write an
export. All or nothing, like the subscribers' import: a rejected row is reported with its line
(``path:line: field: message``, never the address) and nothing is imported while any is."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

from koho.errors import ContentError
from koho.outlets import KINDS, NewOutlet, Outlet
from koho.subscriber_csv import open_csv, restore, write_rows
from koho.subscribers import AddressError, normalise_address

COLUMNS = ("name", "kind", "contact", "address", "phone")


@dataclass
class Parsed:
    """Valid rows and rejected rows of one file."""

    rows: list[NewOutlet] = field(default_factory=list)
    rejected: list[ContentError] = field(default_factory=list)


def parse(text: str, label: str) -> Parsed:
    """Check rows: a name, the kind (club or outlet; default outlet), the address's syntax, no
    address twice."""
    out = Parsed()
    reader = open_csv(text, label, ("name", "address"), COLUMNS, out.rejected)
    if reader is None:
        return out
    seen: dict[str, int] = {}
    for raw in reader:
        row = {(k or "").strip().lower(): restore((v or "").strip()) for k, v in raw.items() if isinstance(v, str)}
        line = reader.line_num
        name, kind = row.get("name", ""), row.get("kind", "") or "outlet"
        problem = ""
        try:
            address, key = normalise_address(row.get("address", ""))
        except AddressError as exc:  # the reason, not the address: the report may be shared
            address, key, problem = "", "", f"not an e-mail address ({exc})"
        field_name = "address"
        if not problem and key in seen:
            problem = f"the same address as line {seen[key]}"
        if not name:
            field_name, problem = "name", "the outlet's name is empty"
        elif kind not in KINDS:
            field_name, problem = "kind", f"{kind!r} is not club (記者クラブ) or outlet"
        if problem:
            out.rejected.append(ContentError(label, line, field_name, problem))
            continue
        seen[key] = line
        out.rows.append(NewOutlet(name, kind, address, key, row.get("contact", ""), row.get("phone", ""), line))
    return out


def write(outlets: Iterable[Outlet], handle: TextIO) -> int:
    """Write the media list as CSV (UTF-8), formula-like cells neutralised; return how many rows."""
    return write_rows(COLUMNS, ((o.name, o.kind, o.contact, o.address, o.phone) for o in outlets), handle)
