"""Read every article under ``content/articles`` into a Corpus, collecting all errors at once.

Parsing and Markdown rendering are cached by content hash in the state folder: publishing one
article into an archive of thousands must not re-render the other thousands. Checks that depend
on other files (topics, image files, duplicate ids) run on every read.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path, PurePosixPath

from koho.article import Article, revision_of, to_article, validate_front_matter
from koho.errors import ContentError
from koho.frontmatter import decode, split
from koho.markup import lint_body, render_markdown
from koho.site import SLUG, Site

ARTICLES_DIR = "articles"
_CACHE_VERSION = 1


@dataclass
class Corpus:
    """All articles of the site by id, and every error found while reading them."""

    site: Site
    articles: dict[str, Article] = field(default_factory=dict)
    errors: list[ContentError] = field(default_factory=list)

    def select(self, paths: list[Path], content_dir: Path) -> list[Article]:
        """Articles whose source file is one of ``paths`` or lies under one of them."""
        wanted = [p.resolve() for p in paths]
        root = content_dir.resolve()
        chosen = []
        for article in self.articles.values():
            source = (root / article.path).resolve()
            if any(source == w or w in source.parents for w in wanted):
                chosen.append(article)
        return sorted(chosen, key=lambda a: (a.publish_at, a.id))

    def due(self, now: datetime) -> list[Article]:
        """Ready articles past their publish time, oldest first."""
        return sorted((a for a in self.articles.values() if a.is_due(now)), key=lambda a: (a.publish_at, a.id))


class _Cache:
    """Pickled parse results keyed by the hash of the raw bytes (not mtimes, which lie)."""

    def __init__(self, directory: Path | None):
        self.path = directory / "articles.pickle" if directory else None
        self.entries: dict[str, tuple] = {}
        self.dirty = False
        if self.path and self.path.is_file():
            try:
                version, entries = pickle.loads(self.path.read_bytes())
                if version == _CACHE_VERSION:
                    self.entries = entries
            except Exception:  # a damaged cache is only a slower read, never an error
                self.entries = {}

    def get(self, key: str):
        return self.entries.get(key)

    def put(self, key: str, value: tuple) -> None:
        self.entries[key] = value
        self.dirty = True

    def save(self, live_keys: set[str]) -> None:
        if not self.path or not (self.dirty or set(self.entries) - live_keys):
            return
        self.entries = {k: v for k, v in self.entries.items() if k in live_keys}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps((_CACHE_VERSION, self.entries), protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(self.path)


def read_corpus(content_dir: Path, site: Site, cache_dir: Path | None = None) -> Corpus:
    """Read all articles; the Corpus carries every error (never raises for bad content)."""
    corpus = Corpus(site)
    root = content_dir / ARTICLES_DIR
    if not root.is_dir():
        corpus.errors.append(ContentError(root.as_posix(), 1, "folder", "no articles folder"))
        return corpus
    cache = _Cache(cache_dir)
    live: set[str] = set()
    first_path: dict[str, str] = {}
    for file in sorted(root.rglob("*.md")):
        label = file.as_posix()
        raw = file.read_bytes()
        # The time zone is part of the key: it decides what a publish time without offset means.
        key = hashlib.sha256(f"{label}\0{site.tz.key}\0".encode() + raw).hexdigest()
        live.add(key)
        cached = cache.get(key)
        if cached is None:
            cached = _parse(raw, label, file.stem, site)
            if cached[0] is not None:
                cache.put(key, cached)
        article, errors = cached[0], list(cached[1])
        if article is not None:
            article = replace(article, path=file.relative_to(content_dir).as_posix())
            errors += _cross_checks(article, label, content_dir, site)
            if article.id in first_path:
                errors.append(ContentError(label, article.line_of("id"), "id",
                                           f"id {article.id!r} is already used by {first_path[article.id]}"))
            else:
                first_path[article.id] = label
        corpus.errors.extend(errors)
        if article is not None and not errors:
            corpus.articles[article.id] = article
    cache.save(live)
    return corpus


def _parse(raw: bytes, label: str, stem: str, site: Site) -> tuple[Article | None, list[ContentError]]:
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
        errors.append(ContentError(label, 1, "id", f"the file name {stem!r} is not a lowercase slug; "
                                   "rename the file or set 'id:' to one (a-z, 0-9, '-')"))
    if not parsed.body.strip():
        errors.append(ContentError(label, parsed.body_line, "body", "the article has no text after the front matter"))
    errors += [ContentError(label, line, f, msg) for line, f, msg in lint_body(parsed.body, parsed.body_line)]
    if fm is None:
        errors += _raw_topic_errors(parsed, label, site)
    if fm is None or errors:
        return None, errors
    article = to_article(fm, parsed, stem=stem, path=label, html=render_markdown(parsed.body),
                         revision=revision_of(text), tz=site.tz)
    return article, []


def _raw_topic_errors(parsed, label: str, site: Site) -> list[ContentError]:
    """Unknown topics of an article whose front matter failed elsewhere: report them too."""
    topics = parsed.data.get("topics")
    if not isinstance(topics, list):
        return []
    return [ContentError(label, parsed.line_of(("topics", i)), "topics", _unknown_topic(t, site))
            for i, t in enumerate(topics) if isinstance(t, str) and t not in site.topics]


def _unknown_topic(topic: str, site: Site) -> str:
    known = ", ".join(f"{k} ({v})" for k, v in site.topics.items())
    return f"unknown topic {topic!r}; site.yaml lists {known}"


def _cross_checks(article: Article, label: str, content_dir: Path, site: Site) -> list[ContentError]:
    """Checks against site.yaml and other files; never cached because those can change."""
    errors = []
    for index, topic in enumerate(article.topics):
        if topic not in site.topics:
            errors.append(ContentError(label, article.line_of("topics", index), "topics",
                                       _unknown_topic(topic, site)))
    for index, image in enumerate(article.images):
        where = article.line_of("images", index, "src")
        src = PurePosixPath(image.src)
        if src.is_absolute() or ".." in src.parts or "\\" in image.src:
            errors.append(ContentError(label, where, f"images[{index}].src",
                                       f"{image.src!r} must be a path inside content/, such as media/map.png"))
            continue
        if not (content_dir / src).is_file():
            errors.append(ContentError(label, where, f"images[{index}].src", f"no such file: content/{src}"))
    return errors
