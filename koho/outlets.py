"""The media list (ADR 0035): press clubs (記者クラブ) and outlets that are mailed press releases.

Lives in the ledger's database like the info-mail subscribers and gets the same care: a press
mail's ledger row names the outlet by id (``outlet-<id>``), never by address, so neither the
ledger, a run's artifact nor a log line holds a journalist's address or name; an outlet left
out of a ``koho media import --replace`` is deleted, not kept. The CSV side (import checks,
export) is ``koho/outlet_csv.py``; the command is ``koho media`` (``koho/cli_media.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine

from koho.ledger import _chunks, utcnow
from koho.ledger_schema import media_outlets

#: "club": a press club (記者クラブ) that shares the mail among its members; "outlet": one newsroom.
KINDS = ("club", "outlet")


@dataclass(frozen=True)
class Outlet:
    """One recipient of press releases. ``address`` and ``contact`` are personal data: its
    ``repr`` leaves them out, so a logged payload or outlet names nobody."""

    id: int
    name: str
    kind: str
    address: str = field(repr=False)
    contact: str = field(default="", repr=False)
    phone: str = field(default="", repr=False)


@dataclass(frozen=True)
class NewOutlet:
    """A checked row of an import (``address_key``: the address in lowercase, unique)."""

    name: str
    kind: str
    address: str = field(repr=False)
    address_key: str = field(repr=False)
    contact: str = field(default="", repr=False)
    phone: str = field(default="", repr=False)
    line: int = 0


class OutletStore:
    """Media outlet rows in the ledger's database."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def all(self) -> list[Outlet]:
        """Every outlet, in id order (a ward's list is a few hundred rows at most)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(media_outlets).order_by(media_outlets.c.id)).mappings().all()
        return [Outlet(r["id"], r["name"], r["kind"], r["address"], r["contact"], r["phone"]) for r in rows]

    def counts(self) -> Counter[str]:
        """Outlets per kind."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(media_outlets.c.kind, func.count()).group_by(media_outlets.c.kind)).all()
        return Counter(dict(rows))

    def replace_all(self, rows: Sequence[NewOutlet], replace: bool) -> tuple[int, int, int]:
        """Add new addresses and update known ones in one transaction; with ``replace``, delete
        every outlet not in ``rows`` (its address and contact go with the row). Returns (added,
        updated, deleted)."""
        now = utcnow()
        with self.engine.begin() as conn:
            known = dict(conn.execute(select(media_outlets.c.address_key, media_outlets.c.id)).all())
            fresh = [r for r in rows if r.address_key not in known]
            again = [r for r in rows if r.address_key in known]
            for chunk in _chunks(fresh, 500):
                conn.execute(
                    insert(media_outlets),
                    [dict(_values(r), address_key=r.address_key, created_at=now, updated_at=now) for r in chunk],
                )
            for row in again:  # a ward's list is a few hundred rows: one statement each is plenty
                conn.execute(
                    update(media_outlets)
                    .where(media_outlets.c.id == known[row.address_key])
                    .values(**_values(row), updated_at=now)
                )
            gone = sorted(set(known.values()) - {known[r.address_key] for r in again}) if replace else []
            for id_chunk in _chunks(gone, 500):
                conn.execute(delete(media_outlets).where(media_outlets.c.id.in_(id_chunk)))
        return len(fresh), len(again), len(gone)


def _values(row: NewOutlet) -> dict[str, str]:
    return dict(name=row.name, kind=row.kind, address=row.address, contact=row.contact, phone=row.phone)
