"""The metadata index of the parse cache: every cached article's light fields, one row each, so
a run knows the whole archive without unpickling its bodies (issue 16, ADR 0038).

Listing pages, feeds, the sitemap and the home page need an article's id, revision, dates,
topics, issue, status, title, summary, language and images, never its text. A row holds those
(and the few other small fields checks read); ``IndexedArticle`` is an ``Article`` built from a
row whose ``body``, ``body_line``, ``html`` and ``key_lines`` are read from the parse cache's
pickled entry when something asks for them (an article page, a feed entry, a mail), through a
small ``Shelf`` that keeps the last few. A full build then holds every article's light fields
and a bounded number of bodies, and a one-article publish unpickles only what it renders.

The index lives in the parse cache's SQLite file, keyed by the same content key as its entries:
it is a cache too (deleting it costs one slower read), so it needs no ledger migration.
"""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields, replace
from datetime import date, datetime, tzinfo
from threading import Lock
from typing import Any

from koho.article import Article, Attachment, Image, PressRelease
from koho.parse_cache import VERSION

#: The fields an index row does not hold: read from the parse cache's entry on first use.
HEAVY = ("body", "body_line", "html", "key_lines")
#: The fields an index row holds, in the table's column order (after the key).
LIGHT = tuple(f.name for f in fields(Article) if f.name not in HEAVY and f.name != "translation")
_TABLE = "article_index"
_COLUMNS = ", ".join(LIGHT)
#: Bump when a row's encoding changes (``_to_row``): the table is then made again.
_FORMAT = "2"


class ArticleIndex:
    """The ``article_index`` table of a parse cache's SQLite connection (``ParseCache.db``)."""

    def __init__(self, db: sqlite3.Connection | None):
        self.db = db
        if db is None:
            return
        # The rows follow the entries' version and the Article's fields: either changes, the
        # table is made again (and filled as files are read).
        shape = f"{VERSION}:{_FORMAT}:{_COLUMNS}"
        try:
            found = db.execute("SELECT value FROM meta WHERE name = 'index'").fetchone()
            if not found or found[0] != shape:
                with db:
                    db.execute(f"DROP TABLE IF EXISTS {_TABLE}")
                    columns = ", ".join(f"{name} TEXT" for name in LIGHT)
                    db.execute(f"CREATE TABLE {_TABLE} (key TEXT PRIMARY KEY, {columns})")
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('index', ?)", (shape,))
        except sqlite3.Error:
            self.db = None

    def rows(self) -> dict[str, tuple[Any, ...]]:
        """Every row: content key -> its light fields as stored (``article`` builds the Article)."""
        if self.db is None:
            return {}
        try:
            return {row[0]: row[1:] for row in self.db.execute(f"SELECT key, {_COLUMNS} FROM {_TABLE}")}
        except sqlite3.Error:
            return {}

    def write(self, articles: Mapping[str, Article], gone: Iterable[str]) -> bool:
        """Add rows for ``articles`` (by content key) and drop the rows of ``gone`` keys, in one
        transaction; False when the file cannot be written (then nothing may rely on it)."""
        if self.db is None:
            return False
        placeholders = ", ".join("?" * (len(LIGHT) + 1))
        try:
            with self.db:
                self.db.executemany(
                    f"INSERT OR REPLACE INTO {_TABLE} VALUES ({placeholders})",
                    [(key, *_to_row(a)) for key, a in articles.items()],
                )
                self.db.executemany(f"DELETE FROM {_TABLE} WHERE key = ?", [(k,) for k in gone])
        except sqlite3.Error:
            return False
        return True


def _to_row(article: Article) -> tuple[str | None, ...]:
    """The light fields as text: dates in ISO form, images as JSON (None when there are none),
    topics and mentions one per line (neither can hold a line break)."""
    out: list[str | None] = []
    for name in LIGHT:
        value = getattr(article, name)
        if value is None or isinstance(value, str):
            out.append(value)
        elif isinstance(value, date):  # datetime too
            out.append(value.isoformat())
        elif name == "images":
            out.append(json.dumps([[i.src, i.alt, i.caption] for i in value], ensure_ascii=False) if value else None)
        elif isinstance(value, PressRelease):
            out.append(_press_to_text(value))
        else:
            out.append("\n".join(value))
    return tuple(out)


def _press_to_text(press: PressRelease) -> str:
    """A press release's fields as JSON (its embargo in ISO form, zone included)."""
    embargo = None if press.embargo_until is None else press.embargo_until.isoformat()
    attachments = [[a.src, a.title] for a in press.attachments]
    fields = [press.department, press.contact_name, press.contact_phone, attachments, embargo]
    return json.dumps(fields, ensure_ascii=False)


def _press_from_text(text: str) -> PressRelease:
    department, name, phone, attachments, embargo = json.loads(text)
    return PressRelease(
        department,
        name,
        phone,
        tuple(Attachment(*a) for a in attachments),
        None if embargo is None else datetime.fromisoformat(embargo),
    )


# What each light field is read back as (str fields need nothing): a table of converters,
# because building twenty thousand articles from rows is most of a warm read's work.
_READ: dict[str, Callable[[str], Any]] = {
    "publish_at": datetime.fromisoformat,
    "urgent_until": datetime.fromisoformat,
    "bulletin": date.fromisoformat,
    "topics": lambda text: tuple(text.split("\n")) if text else (),
    "mentions": lambda text: tuple(text.split("\n")) if text else (),
    "images": lambda text: tuple(Image(*image) for image in json.loads(text)),
    "press": _press_from_text,
}
_CONVERT = tuple(_READ.get(name) for name in LIGHT)
_DATETIMES = ("publish_at", "urgent_until")


def _from_row(row: tuple[Any, ...], tz: tzinfo) -> dict[str, Any]:
    values = {
        name: value if convert is None or value is None else convert(value)
        for name, convert, value in zip(LIGHT, _CONVERT, row, strict=True)
    }
    # In the site's zone, as the reader makes them (an ISO offset alone would print "UTC+09:00"
    # where the article says "JST"); a row's key holds the zone, so it is this site's.
    for name in _DATETIMES:
        if values[name] is not None:
            values[name] = values[name].astimezone(tz)
    press = values["press"]
    if press is not None and press.embargo_until is not None:
        values["press"] = replace(press, embargo_until=press.embargo_until.astimezone(tz))
    if values["images"] is None:
        values["images"] = ()
    values["translation"] = None  # the index holds originals only (what the reader reads)
    return values


class Shelf:
    """Where an ``IndexedArticle`` finds its heavy fields: the parse cache's pickled entry by
    content key, through a small LRU (a run renders an article's page, then its feed entry and
    mail, close together), or ``reread(key, path)`` when the entry has gone (another run dropped
    it; the file is parsed again if its bytes still have that key)."""

    #: Articles whose heavy fields are kept: enough for the feeds of one plan (newest 30 of each
    #: scope), small enough that a full build's memory does not grow with the archive.
    KEEP = 256

    def __init__(
        self,
        open_entries: Callable[[], Callable[[str], Article | None]],
        reread: Callable[[str, str], Article],
        tz: tzinfo,
    ):
        #: The site's time zone: the articles' times are in it.
        self.tz = tz
        self._open = open_entries
        self._get: Callable[[str], Article | None] | None = None
        self._reread = reread
        self._kept: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = Lock()

    def heavy(self, key: str, path: str) -> dict[str, Any]:
        """``HEAVY`` fields of the article cached under ``key`` (its file at ``path``)."""
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
            if self._get is None:
                self._get = self._open()
            article = self._get(key)
        if article is None:
            article = self._reread(key, path)
        found = {name: getattr(article, name) for name in HEAVY}
        with self._lock:
            self._kept[key] = found
            while len(self._kept) > self.KEEP:
                self._kept.popitem(last=False)
        return found


class _Heavy:
    """A heavy field of an ``IndexedArticle``: set (by ``dataclasses.replace``, which builds a
    full copy) or read from its shelf on each use (not kept on the article: memory stays flat)."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, obj: IndexedArticle | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        found = obj.__dict__.get(self.name, _MISSING)
        if found is _MISSING:
            return obj._shelf.heavy(obj._key, obj.__dict__["path"])[self.name]
        return found

    def __set__(self, obj: IndexedArticle, value: Any) -> None:
        obj.__dict__[self.name] = value  # the dataclass's frozen __init__ sets fields this way


_MISSING = object()


class IndexedArticle(Article):
    """An ``Article`` from an index row: its light fields are its own, its heavy ones are read
    through its ``Shelf`` when asked for. It equals, hashes and pickles as the plain Article
    (a pickled one is a plain Article: another process has no shelf)."""

    _shelf: Shelf
    _key: str

    @classmethod
    def from_row(cls, key: str, row: tuple[Any, ...], shelf: Shelf) -> IndexedArticle:
        """The article of index row ``row`` (``ArticleIndex.rows``) cached under ``key``."""
        article = object.__new__(cls)
        article.__dict__.update(_from_row(row, shelf.tz), _shelf=shelf, _key=key)
        return article

    def plain(self) -> Article:
        """The same article as a plain ``Article`` (every field read)."""
        return _plain({f.name: getattr(self, f.name) for f in fields(Article)})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Article):
            return NotImplemented
        return _compared(self) == _compared(other)

    def __hash__(self) -> int:
        return hash(_compared(self))

    def __reduce_ex__(self, protocol: Any) -> Any:
        return _plain, ({f.name: getattr(self, f.name) for f in fields(Article)},)

    def __repr__(self) -> str:
        return f"IndexedArticle(id={self.id!r}, revision={self.revision!r}, path={self.path!r})"


def _plain(values: dict[str, Any]) -> Article:
    """Unpickles an ``IndexedArticle`` as the plain Article it stands for."""
    return Article(**values)


def _compared(article: Article) -> tuple[Any, ...]:
    return tuple(getattr(article, f.name) for f in fields(Article) if f.compare)


for _name in HEAVY:
    setattr(IndexedArticle, _name, _Heavy(_name))


def light(article: Article, key: str, shelf: Shelf) -> Article:
    """``article`` (just parsed and cached under ``key``) as an ``IndexedArticle`` that drops
    its heavy fields, so a full build does not hold every article's text."""
    return IndexedArticle.from_row(key, _to_row(article), shelf)


def entry_reader(open_cache: Callable[[], Any]) -> Callable[[], Callable[[str], Article | None]]:
    """``Shelf``'s ``open_entries`` over a parse cache of (article, errors) entries."""

    def opened() -> Callable[[str], Article | None]:
        cache = open_cache()

        def get(key: str) -> Article | None:
            entry = cache.get(key)
            return entry[0] if entry else None

        return get

    return opened
