"""Translation memory: what the model made of each segment, in the ledger database.

Keyed by (hash of the text the model read, source, target, model version): re-publishing an
edited article sends only its changed sentences to the model, and installing a new model
version translates everything afresh. The table lives in the ledger database (migration 0007)
so every worker of a deployment shares it, on SQLite or PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from sqlalchemy import and_, select
from sqlalchemy.engine import Engine

from koho.ledger_schema import translation_memory as table

_CHUNK = 500


def text_hash(text: str) -> str:
    """The memory's key for a model input."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Memory:
    """Segment translations of one database; safe to share between threads."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def lookup(self, texts: Iterable[str], source: str, target: str, model: str) -> dict[str, str]:
        """Model input -> output for the ``texts`` the memory has (the others are absent)."""
        by_hash = {text_hash(t): t for t in texts}
        found: dict[str, str] = {}
        hashes = list(by_hash)
        with self.engine.connect() as conn:
            for start in range(0, len(hashes), _CHUNK):
                query = select(table.c.source_hash, table.c.output).where(
                    and_(
                        table.c.source_hash.in_(hashes[start : start + _CHUNK]),
                        table.c.source_language == source,
                        table.c.target_language == target,
                        table.c.model == model,
                    )
                )
                for digest, output in conn.execute(query):
                    found[by_hash[digest]] = output
        return found

    def store(self, outputs: Mapping[str, str], source: str, target: str, model: str) -> None:
        """Remember model outputs (a concurrent run storing the same ones is not an error)."""
        if not outputs:
            return
        now = datetime.now(UTC)
        rows = [
            dict(
                source_hash=text_hash(text),
                source_language=source,
                target_language=target,
                model=model,
                source_text=text,
                output=output,
                created_at=now,
            )
            for text, output in outputs.items()
        ]
        # Both supported dialects (sqlite, postgresql) have an insert with ON CONFLICT DO NOTHING.
        insert = importlib.import_module(f"sqlalchemy.dialects.{self.engine.dialect.name}").insert
        with self.engine.begin() as conn:
            for start in range(0, len(rows), _CHUNK):
                conn.execute(insert(table).on_conflict_do_nothing(), rows[start : start + _CHUNK])

    def count(self) -> int:
        """How many segment translations are stored."""
        from sqlalchemy import func

        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
