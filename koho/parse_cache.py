"""A cache of parsed articles in a SQLite file, keyed by a hash of path, time zone and bytes.

Keyed by content, not modification times (which git checkouts and copies do not preserve). A
file's stat stamp (size, mtime, ctime, inode) is kept next to the key it hashed to, so an
unchanged file is not even read again (``stamps``/``restamp``; the reader decides when a stamp
can be trusted).
SQLite rather than one pickle: adding one article writes one row instead of rewriting every
cached article, which is what keeps publishing one article into a big archive cheap. The
translator keeps its finished translations in another file of the same kind (``get``/``put``).
"""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Generic, TypeVar

VERSION = "5"  # bump when the cached Article shape changes


#: What one cache file holds: the reader's (article, errors), the translator's results.
Entry = TypeVar("Entry")


class ParseCache(Generic[Entry]):
    """Pickled (article, errors) tuples, or other picklable values under ``filename``; a damaged
    or missing cache only makes reads slower. A file holds one kind of ``Entry``: what is read
    back is trusted to be what was written (``VERSION`` changes when its shape does)."""

    def __init__(self, directory: Path | None, filename: str = "articles.sqlite3"):
        self.db: sqlite3.Connection | None = None
        if directory is None:
            return
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # check_same_thread off: flows call the translator from task worker threads; sqlite3
            # serialises the calls itself (the module is built thread-safe).
            self.db = sqlite3.connect(directory / filename, timeout=30, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
            self.db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS stamps (name TEXT PRIMARY KEY, stamp TEXT NOT NULL, key TEXT NOT NULL)"
            )
            found = self.db.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()
            if not found or found[0] != VERSION:
                with self.db:
                    self.db.execute("DELETE FROM entries")
                    self.db.execute("DELETE FROM stamps")
                    self.db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (VERSION,))
        except sqlite3.Error:
            self.db = None

    def load(self) -> dict[str, Entry]:
        """Every cached entry (one query; unpickling is the bulk of the cost)."""
        if self.db is None:
            return {}
        entries: dict[str, Entry] = {}
        try:
            for key, blob in self.db.execute("SELECT key, value FROM entries"):
                try:
                    entries[key] = pickle.loads(blob)
                except Exception:  # one damaged row: re-parse that file
                    continue
        except sqlite3.Error:
            return {}
        return entries

    def keys(self) -> set[str]:
        """The key of every entry (nothing unpickled)."""
        if self.db is None:
            return set()
        try:
            return {key for (key,) in self.db.execute("SELECT key FROM entries")}
        except sqlite3.Error:
            return set()

    def update(self, new: dict[str, Entry], stale: Iterable[str]) -> bool:
        """Add new entries and drop entries of files that changed or vanished; False when the
        cache could not be written."""
        rows = [(k, pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)) for k, v in new.items()]
        return self._write(
            "INSERT OR REPLACE INTO entries VALUES (?, ?)", rows, "DELETE FROM entries WHERE key = ?", stale
        )

    def _write(self, insert: str, rows: Sequence[tuple[str | bytes, ...]], delete: str, gone: Iterable[str]) -> bool:
        """Insert ``rows`` and delete the rows named by ``gone``, in one transaction."""
        if self.db is None:
            return False
        gone = list(gone)
        if not rows and not gone:
            return True
        try:
            with self.db:
                self.db.executemany(insert, rows)
                self.db.executemany(delete, [(name,) for name in gone])
        except sqlite3.Error:
            return False  # the cache is an optimisation; a read-only state folder must not stop a run
        return True

    def stamps(self) -> dict[str, tuple[str, str]]:
        """name -> (stamp, key) of every file whose entry was recorded with a stamp (``restamp``)."""
        if self.db is None:
            return {}
        try:
            return {name: (stamp, key) for name, stamp, key in self.db.execute("SELECT name, stamp, key FROM stamps")}
        except sqlite3.Error:
            return {}

    def restamp(self, fresh: dict[str, tuple[str, str]], gone: Iterable[str]) -> None:
        """Record (stamp, key) of files read this time and forget files that vanished."""
        rows = [(n, s, k) for n, (s, k) in fresh.items()]
        self._write("INSERT OR REPLACE INTO stamps VALUES (?, ?, ?)", rows, "DELETE FROM stamps WHERE name = ?", gone)

    def get(self, key: str) -> Entry | None:
        """One entry, or None."""
        if self.db is None:
            return None
        try:
            row = self.db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
            found: Entry | None = pickle.loads(row[0]) if row else None
            return found
        except Exception:  # a damaged row or file: recompute
            return None

    def put(self, key: str, value: Entry) -> None:
        """Store (or replace) one entry."""
        self.update({key: value}, ())

    def close(self) -> None:
        """Close the SQLite connection."""
        if self.db is not None:
            self.db.close()
            self.db = None
