"""Read every article under ``content/articles`` into a Corpus, collecting all errors at once.

Parsing and Markdown rendering are cached by content hash in the state folder: publishing one
article into an archive of thousands must not re-render the other thousands. A file whose stat
stamp (size, mtime, ctime, inode) is unchanged since it was hashed is not read again either. Checks that depend
on other files (topics, image files, duplicate ids) run on every read.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from koho.article import Article, revision_of, to_article, validate_front_matter
from koho.article_index import ArticleIndex, IndexedArticle, Shelf, entry_reader, light
from koho.errors import ContentError
from koho.frontmatter import Parsed, decode, said, split
from koho.markup import lint_body, render_markdown
from koho.media import attachment_problem, media_problem
from koho.parse_cache import ParseCache
from koho.phrase import Phrase, phrase
from koho.settings import Settings
from koho.site import SLUG, Site, load_site

ARTICLES_DIR = "articles"
#: An article is a page of news; a file this large is a mistake or an attack on the parser.
MAX_ARTICLE_BYTES = 512 * 1024


@dataclass
class Corpus:
    """All articles of the site by id, and every error found while reading them."""

    site: Site
    articles: dict[str, Article] = field(default_factory=dict)
    errors: list[ContentError] = field(default_factory=list)
    #: Articles that parsed but are left out of ``articles`` for an error found against other
    #: files or limits (an unknown topic, a missing image, an X text too long): nothing publishes
    #: them, but ``koho preview`` still shows what the channels would make of them, beside the error.
    held_back: dict[str, Article] = field(default_factory=dict)

    def select(self, paths: list[Path], content_dir: Path) -> list[Article]:
        """Articles whose source file is one of ``paths`` or lies under one of them."""
        root = content_dir.resolve()
        wanted = []
        for path in paths:
            try:
                wanted.append(path.resolve().relative_to(root).as_posix())
            except ValueError:
                continue  # outside the content folder: no article lives there
        # article.path is relative to content_dir: compare strings instead of resolving
        # thousands of paths (a publish of one article must not stat the whole archive).
        chosen = [
            a
            for a in self.articles.values()
            if any(w == "." or a.path == w or a.path.startswith(w + "/") for w in wanted)
        ]
        return sorted(chosen, key=lambda a: (a.publish_at, a.id))


def load(settings: Settings) -> Corpus:
    """The corpus the settings point at, with its parse cache. site.yaml errors raise
    ContentInvalid (nothing can be checked without it); article errors are in ``errors``."""
    return read_corpus(settings.content_dir, load_site(settings.content_dir), settings.state_dir / "cache")


def _key(path: str, site: Site, raw: bytes) -> str:
    """The parse cache's key of a file: its path, the site's time zone (it decides what a
    publish time without offset means) and its bytes."""
    return hashlib.sha256(f"{path}\0{site.tz.key}\0".encode() + raw).hexdigest()


def _rereader(content_dir: Path, site: Site) -> Callable[[str, str], Article]:
    """How an indexed article whose cache entry has gone gets its text back: its file, parsed
    again, if it still holds the bytes the index row was made from."""
    base = content_dir.as_posix().rstrip("/")

    def reread(key: str, relpath: str) -> Article:
        path = f"{base}/{relpath}"
        raw, problem = _read_article(path)
        same = problem is None and _key(path, site, raw) == key
        article = None if not same else _parse(raw, path, relpath.rsplit("/", 1)[-1][: -len(".md")], relpath, site)[0]
        if article is None:
            raise ContentChanged(path)
        return article

    return reread


class ContentChanged(RuntimeError):
    """An article file changed while a run that had read it was still using it: run again."""

    def __init__(self, path: str):
        super().__init__(f"{path} changed while this run was using it; run again")


def read_corpus(content_dir: Path, site: Site, cache_dir: Path | None = None) -> Corpus:
    """Read all articles; the Corpus carries every error (never raises for bad content)."""
    corpus = Corpus(site)
    root = content_dir / ARTICLES_DIR
    if not root.is_dir():
        corpus.errors.append(ContentError(root.as_posix(), 1, "folder", "no articles folder"))
        return corpus
    cache: ParseCache[ParsedFile] = ParseCache(cache_dir)
    index = ArticleIndex(cache.db)
    rows = index.rows()
    cached = cache.keys()
    shelf = Shelf(entry_reader(lambda: ParseCache(cache_dir)), _rereader(content_dir, site), site.tz)
    stamps = cache.stamps()
    restamped: dict[str, tuple[str, str]] = {}
    results: dict[str, ParsedFile] = {}
    todo: list[Work] = []
    backfill: dict[str, Article] = {}
    order: list[str] = []
    files, refused = _markdown_files(content_dir)
    corpus.errors.extend(refused)
    trusted_before = time.time_ns() - RACY_NS
    for path, relpath in files:
        stamp, settled = _stamp(path, site.tz.key, trusted_before)
        seen = stamps.get(path)
        if stamp is not None and seen is not None and seen[0] == stamp and seen[1] in rows:
            # Same size, times and inode as when it was hashed: neither read nor hash it again,
            # and know it by its index row (its text is read only if a page needs it).
            order.append(seen[1])
            results[seen[1]] = (IndexedArticle.from_row(seen[1], rows[seen[1]], shelf), [])
            continue
        raw, problem = _read_article(path)
        if problem is not None:
            corpus.errors.append(problem)
            continue
        key = _key(path, site, raw)
        order.append(key)
        if stamp is not None and settled:
            restamped[path] = (stamp, key)
        if key in rows:
            results[key] = (IndexedArticle.from_row(key, rows[key], shelf), [])
        elif key in cached and (entry := cache.get(key)) is not None and entry[0] is not None:
            backfill[key] = entry[0]  # cached before the index existed: index it now
            results[key] = entry
        else:
            stem = relpath.rsplit("/", 1)[-1][: -len(".md")]
            # Past the pool's threshold the bytes are not kept: a worker reads the file again
            # (and checks it still has this key), so a first build does not hold the archive.
            todo.append((key, raw if len(todo) < POOL_THRESHOLD else None, path, stem, relpath))
    stale = (cached | set(rows)) - set(order)
    indexed = cache.update({}, stale) and index.write(backfill, stale)
    for key, known in backfill.items():
        if indexed:
            results[key] = (light(known, key, shelf), [])
    for batch in _parse_all(todo, site):
        # Cached and indexed batch by batch, then held without their text: a full build's
        # memory does not grow with every article's body and HTML (the shelf reads them back).
        articles = {key: found[0] for key, found in batch if found[0] is not None}
        kept = indexed and cache.update({key: (a, []) for key, a in articles.items()}, ())
        kept = kept and index.write(articles, ())
        for key, found in batch:
            results[key] = (light(found[0], key, shelf), []) if kept and found[0] is not None else found
    listed = {path for path, _ in files}
    cache.restamp(
        {p: s for p, s in restamped.items() if s[1] in results and results[s[1]][0] is not None},
        [p for p in stamps if p not in listed],
    )
    cache.close()
    first_path: dict[str, str] = {}
    for key in order:
        article, errors = results[key][0], list(results[key][1])
        if article is not None:
            label = f"{content_dir.as_posix().rstrip('/')}/{article.path}"
            errors += _cross_checks(article, label, content_dir, site)
            if article.id in first_path:
                errors.append(
                    ContentError(
                        label,
                        article.line_of("id"),
                        "id",
                        f"id {article.id!r} is already used by {first_path[article.id]}",
                    )
                )
            else:
                first_path[article.id] = label
        corpus.errors.extend(errors)
        if article is not None and not errors:
            corpus.articles[article.id] = article
        elif article is not None:
            corpus.held_back.setdefault(article.id, article)
    return corpus


def _markdown_files(content_dir: Path) -> tuple[list[tuple[str, str]], list[ContentError]]:
    """(path as given, path relative to content_dir) of every article file, sorted, and an error
    for every symbolic link or special file under content/articles.

    Links are never followed, and never skipped in silence either: a linked article could be
    any file the publishing process can read, and a linked folder would hide its articles.
    os.scandir and plain strings: pathlib objects cost more than reading the files themselves
    when an archive has thousands of articles (the entry's type comes free with the listing).
    """
    base = content_dir.as_posix().rstrip("/")
    found: list[tuple[str, str]] = []
    refused: list[ContentError] = []
    pending = [f"{base}/{ARTICLES_DIR}"]
    while pending:
        folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                path = f"{folder}/{entry.name}"
                if entry.is_symlink():
                    refused.append(
                        ContentError(
                            path,
                            1,
                            "file",
                            "this is a symbolic link; koho reads only real "
                            "files and folders inside content/ (replace the link by the file)",
                        )
                    )
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(path)
                elif entry.name.endswith(".md"):
                    if entry.is_file(follow_symlinks=False):
                        found.append((path, path[len(base) + 1 :]))
                    else:
                        refused.append(ContentError(path, 1, "file", "not a regular file"))
    found.sort()
    return found, refused


#: A file changed less than this long before it was stamped may change again within the same
#: timestamp tick without its stamp changing (git's "racily clean" entries): it is hashed again
#: on the next read until its times are older than this.
RACY_NS = 2_000_000_000


def _stamp(path: str, tz: str, trusted_before: int) -> tuple[str | None, bool]:
    """(stamp, settled): the file's size, mtime, ctime, inode and the time zone (part of the
    parse cache's key), None for what is not a regular file; settled when both times are older
    than ``trusted_before`` so the stamp may stand for the bytes on a later read."""
    try:
        st = os.lstat(path)
    except OSError:
        return None, False
    if not stat.S_ISREG(st.st_mode):
        return None, False
    settled = st.st_mtime_ns < trusted_before and st.st_ctime_ns < trusted_before
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}:{tz}", settled


def _read_article(path: str) -> tuple[bytes, ContentError | None]:
    """The file's bytes, never through a link (it may have become one since the listing) and
    never more than ``MAX_ARTICLE_BYTES``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return b"", ContentError(path, 1, "file", "cannot be read as a regular file (is it a link?)")
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return b"", ContentError(path, 1, "file", "not a regular file")
        raw = handle.read(MAX_ARTICLE_BYTES + 1)
    if len(raw) > MAX_ARTICLE_BYTES:
        return b"", ContentError(
            path,
            1,
            "file",
            f"the file is larger than {MAX_ARTICLE_BYTES // 1024} KiB; "
            "split it or move large material into media files",
        )
    return raw, None


#: One file read: the article, or None and why not (what the parse cache keeps).
ParsedFile = tuple[Article | None, list[ContentError]]
#: One file to parse: (cache key, bytes, path, stem, path under content/).
Work = tuple[str, bytes | None, str, str, str]

#: Below this many files to parse, starting worker processes costs more than it saves.
POOL_THRESHOLD = 400


def _parse_all(todo: list[Work], site: Site) -> Iterator[list[tuple[str, ParsedFile]]]:
    """Parse cache misses, batch by batch as they are done, in worker processes when there are
    many (Markdown is CPU-bound)."""
    workers = min(os.cpu_count() or 1, 8)
    if len(todo) < POOL_THRESHOLD or workers < 2:
        yield _parse_batch(todo, site)
        return
    # fork is cheapest, but forking a process with other threads (a Prefect flow has several)
    # can deadlock the child on a lock held at fork time: then spawn fresh interpreters.
    method = "fork" if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods() else "spawn"
    chunk = max(25, len(todo) // (workers * 8))
    batches = [todo[i : i + chunk] for i in range(0, len(todo), chunk)]
    done = 0
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
            for parsed in pool.map(_parse_batch, batches, [site] * len(batches)):
                done += 1
                yield parsed
    except (BrokenProcessPool, RuntimeError, OSError) as exc:
        # e.g. spawn from a script without a __main__ guard: parse here, only slower.
        logging.getLogger(__name__).warning(
            "parsing %d articles in this process (worker pool failed: %s)", len(todo), exc
        )
        yield _parse_batch([item for batch in batches[done:] for item in batch], site)


def _parse_batch(batch: list[Work], site: Site) -> list[tuple[str, ParsedFile]]:
    return [(key, _parse_work(key, raw, path, stem, relpath, site)) for key, raw, path, stem, relpath in batch]


def _parse_work(key: str, raw: bytes | None, path: str, stem: str, relpath: str, site: Site) -> ParsedFile:
    """Parse one cache miss; without its bytes, read the file again and parse it only if it
    still hashes to ``key`` (it may have changed since the reader hashed it)."""
    if raw is None:
        raw, problem = _read_article(path)
        if problem is not None:
            return None, [problem]
        if _key(path, site, raw) != key:
            return None, [ContentError(path, 1, "file", "the file changed while koho read it; run again")]
    return _parse(raw, path, stem, relpath, site)


def _parse(raw: bytes, label: str, stem: str, relpath: str, site: Site) -> ParsedFile:
    text, errors = decode(raw, label)
    if text is None:
        return None, errors
    parsed = split(text, label)
    if parsed.errors and not parsed.data:
        return None, parsed.errors
    errors = list(parsed.errors)
    fm, fm_errors = validate_front_matter(parsed, label)
    errors += fm_errors
    if fm is not None and fm.id is None and not SLUG.fullmatch(stem):
        errors.append(
            said(
                label,
                1,
                "id",
                phrase(
                    "the file name {stem} is not a lowercase slug; rename the file or set 'id:' to one (a-z, 0-9, '-')",
                    stem=repr(stem),
                ),
            )
        )
    if not parsed.body.strip():
        errors.append(said(label, parsed.body_line, "body", "the article has no text after the front matter"))
    errors += [ContentError(label, line, f, msg) for line, f, msg in lint_body(parsed.body, parsed.body_line)]
    if fm is None:
        errors += _raw_topic_errors(parsed, label, site)
    if fm is None or errors:
        return None, errors
    article = to_article(
        fm, parsed, stem=stem, path=relpath, html=render_markdown(parsed.body), revision=revision_of(text), tz=site.tz
    )
    return article, []


def _raw_topic_errors(parsed: Parsed, label: str, site: Site) -> list[ContentError]:
    """Unknown topics of an article whose front matter failed elsewhere: report them too."""
    topics = parsed.data.get("topics")
    if not isinstance(topics, list):
        return []
    return [
        said(label, parsed.line_of(("topics", i)), "topics", _unknown_topic(t, site))
        for i, t in enumerate(topics)
        if isinstance(t, str) and t not in site.topics
    ]


def _unknown_topic(topic: str, site: Site) -> Phrase:
    known = ", ".join(f"{k} ({v})" for k, v in site.topics.items())
    return phrase("unknown topic {topic}; site.yaml lists {known}", topic=repr(topic), known=known)


def _press_checks(article: Article, label: str, content_dir: Path) -> list[ContentError]:
    """A press release needs who answers the press and at least one PDF that can be mailed."""
    press = article.press
    assert press is not None
    errors = []
    if not press.contact_name:
        errors.append(
            said(
                label,
                article.line_of("contact"),
                "contact",
                "a press release needs a contact: 'contact:' with 'name:' (担当) and 'phone:' lines under it",
            )
        )
    if not press.attachments:
        errors.append(
            said(
                label,
                article.line_of("attachments"),
                "attachments",
                "a press release needs at least one PDF: 'attachments:' with a '- src: media/….pdf' line",
            )
        )
    for index, attachment in enumerate(press.attachments):
        problem = attachment_problem(content_dir, attachment.src)
        if problem:
            errors.append(
                ContentError(label, article.line_of("attachments", index, "src"), f"attachments[{index}].src", problem)
            )
    if press.embargo_until is not None and press.embargo_until < article.publish_at:
        errors.append(
            said(
                label,
                article.line_of("embargo_until"),
                "embargo_until",
                phrase(
                    "the embargo ends ({end}) before the release goes to the media (publish_at {start}); "
                    "remove embargo_until or make it later",
                    end=press.embargo_until.isoformat(sep=" "),
                    start=article.publish_at.isoformat(sep=" "),
                ),
            )
        )
    return errors


def _cross_checks(article: Article, label: str, content_dir: Path, site: Site) -> list[ContentError]:
    """Checks against site.yaml and other files; never cached because those can change."""
    errors = []
    for index, topic in enumerate(article.topics):
        if topic not in site.topics:
            errors.append(said(label, article.line_of("topics", index), "topics", _unknown_topic(topic, site)))
    for index, image in enumerate(article.images):
        problem = media_problem(content_dir, image.src)
        if problem:
            errors.append(ContentError(label, article.line_of("images", index, "src"), f"images[{index}].src", problem))
    if article.press is not None:
        errors += _press_checks(article, label, content_dir)
    if article.x_text is not None:
        from koho.social_text import x_override_problem  # only articles with an X text pay for the parser

        problem = x_override_problem(article.x_text, site.article_url(article.id), article.mentions)
        if problem:
            errors.append(ContentError(label, article.line_of("x", "text"), "x.text", problem))
    return errors
