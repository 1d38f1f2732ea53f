"""Which pages the archive has, which of them show a given article, and how each is rendered.

A page is named by its output path (``topics/bousai/index.html``); ``render(path)`` turns that
name back into bytes from the live articles alone, so a page renders identically whether it is
written by a full build or by an incremental publish.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime
from functools import cached_property
from importlib import resources
from pathlib import PurePosixPath
from typing import Iterable, Mapping

from babel.dates import format_date, format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from koho.article import Article
from koho.bulletin import issue_label
from koho.site import Site

TOPIC_PAGE_MAX = 50
FURNITURE = ("static/koho.css", "topics/index.html", "robots.txt", "404.html")


def page_url(path: str) -> str:
    """Public (pretty) URL path of an output file: ``a/index.html`` -> ``a/``."""
    return path[: -len("index.html")] if path.endswith("index.html") else path


def media_target(src: str) -> str:
    """Output path of an image that lives at ``content/<src>``."""
    return "media/" + src.removeprefix("media/")


def _environment() -> Environment:
    folder = resources.files("channels.archive") / "templates"
    env = Environment(loader=FileSystemLoader(str(folder)), autoescape=select_autoescape(["html", "xml"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["ja_date"] = lambda d: format_date(d, format="long", locale="ja")
    env.filters["ja_datetime"] = lambda d: format_datetime(d, "y年M月d日 H:mm", tzinfo=d.tzinfo, locale="ja")
    env.filters["issue_label"] = issue_label
    return env


_ENV = None


def environment() -> Environment:
    """The shared Jinja2 environment (templates compile once per process)."""
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


class SiteIndex:
    """The live articles grouped the ways the archive lists them."""

    def __init__(self, site: Site, live: Mapping[str, Article], updated: Mapping[str, datetime]):
        self.site = site
        self.updated = updated
        self.articles = sorted(live.values(), key=lambda a: (a.publish_at, a.id), reverse=True)
        self.by_id: dict[str, Article] = dict(live)
        self.by_topic: dict[str, list[Article]] = defaultdict(list)
        self.by_issue: dict[date, list[Article]] = defaultdict(list)
        self.by_year: dict[int, list[Article]] = defaultdict(list)
        for article in self.articles:
            for topic in article.topics:
                self.by_topic[topic].append(article)
            if article.bulletin:
                self.by_issue[article.bulletin].append(article)
            self.by_year[article.publish_at.year].append(article)

    @cached_property
    def latest(self) -> list[Article]:
        """The newest articles shown on the home page."""
        return self.articles[: self.site.latest_count]

    @cached_property
    def latest_ids(self) -> frozenset[str]:
        """Ids of the home page's articles."""
        return frozenset(a.id for a in self.latest)

    def pages_showing(self, article: Article) -> list[str]:
        """Every page on which ``article`` appears (its own page first), by its own metadata."""
        pages = [f"articles/{article.id}/index.html"]
        if article.id in self.latest_ids:
            pages.append("index.html")
        if article.bulletin:
            pages += [f"bulletin/{article.bulletin.isoformat()}/index.html", "bulletin/index.html"]
        pages += [f"topics/{t}/index.html" for t in article.topics]
        pages += [f"{article.publish_at.year}/index.html", "sitemap.xml"]
        return pages

    def all_pages(self) -> list[str]:
        """Every page of a full build."""
        pages = ["index.html", "bulletin/index.html", "sitemap.xml", *FURNITURE]
        pages += [f"articles/{a.id}/index.html" for a in self.articles]
        pages += [f"bulletin/{d.isoformat()}/index.html" for d in self.by_issue]
        pages += [f"topics/{t}/index.html" for t in self.site.topics]
        pages += [f"{y}/index.html" for y in self.by_year]
        return list(dict.fromkeys(pages))


_ARTICLE = re.compile(r"articles/([a-z0-9-]+)/index\.html")
_ISSUE = re.compile(r"bulletin/(\d{4}-\d{2}-\d{2})/index\.html")
_TOPIC = re.compile(r"topics/([a-z0-9-]+)/index\.html")
_YEAR = re.compile(r"(\d{4})/index\.html")


class Renderer:
    """Renders archive pages by output path."""

    def __init__(self, index: SiteIndex, extra: Mapping[str, Article] | None = None):
        self.index = index
        self.site = index.site
        # Articles that are not live but still need their own page (withdrawn: a notice).
        self.extra = dict(extra or {})
        self.env = environment()

    def content_type(self, path: str) -> str:
        """MIME type by extension."""
        suffix = PurePosixPath(path).suffix
        return {".html": "text/html; charset=utf-8", ".xml": "application/xml; charset=utf-8",
                ".css": "text/css; charset=utf-8", ".txt": "text/plain; charset=utf-8"}.get(suffix, "application/octet-stream")

    def render(self, path: str) -> bytes:
        """Bytes of the page at ``path``."""
        return self._render(path).encode("utf-8")

    def _page(self, template: str, path: str, **values) -> str:
        depth = path.count("/")
        root = "../" * depth
        return self.env.get_template(template).render(
            site=self.site, path=path, root=root, canonical=self.site.url(page_url(path)),
            topics=self.site.topics, url=lambda p: root + page_url(p), **values)

    def _render(self, path: str) -> str:
        idx = self.index
        if path == "index.html":
            issues = sorted(idx.by_issue, reverse=True)[:6]
            return self._page("home.html", path, articles=idx.latest, issues=issues, years=sorted(idx.by_year, reverse=True))
        if match := _ARTICLE.fullmatch(path):
            article = self.extra.get(match.group(1)) or idx.by_id.get(match.group(1))
            if article is None:
                raise KeyError(path)
            return self._page("article.html", path, article=article, updated=idx.updated.get(article.id),
                              media=media_target)
        if path == "bulletin/index.html":
            issues = sorted(idx.by_issue.items(), reverse=True)
            return self._page("issues.html", path, issues=issues)
        if match := _ISSUE.fullmatch(path):
            day = date.fromisoformat(match.group(1))
            articles = sorted(idx.by_issue.get(day, []), key=lambda a: (not a.urgent, a.publish_at, a.id))
            return self._page("listing.html", path, heading=issue_label(day), articles=articles, more=None)
        if path == "topics/index.html":
            return self._page("topics.html", path)
        if match := _TOPIC.fullmatch(path):
            topic = match.group(1)
            articles = idx.by_topic.get(topic, [])
            return self._page("listing.html", path, heading=self.site.topics.get(topic, topic),
                              articles=articles[:TOPIC_PAGE_MAX], more=len(articles) > TOPIC_PAGE_MAX,
                              feed=f"feeds/topics/{topic}/atom.xml")
        if match := _YEAR.fullmatch(path):
            year = int(match.group(1))
            return self._page("listing.html", path, heading=f"{year}年の記事", articles=idx.by_year.get(year, []), more=None)
        if path == "sitemap.xml":
            return self._page("sitemap.xml", path, articles=idx.articles, issues=sorted(idx.by_issue),
                              years=sorted(idx.by_year))
        if path == "404.html":
            return self._page("404.html", path)
        if path == "robots.txt":
            return f"User-agent: *\nAllow: /\nSitemap: {self.site.url('sitemap.xml')}\n"
        if path == "static/koho.css":
            return (resources.files("channels.archive") / "static" / "koho.css").read_text(encoding="utf-8")
        raise KeyError(path)


def known_page(path: str) -> bool:
    """Whether ``path`` is a page this renderer can produce (used to drop stale targets)."""
    fixed = {"index.html", "bulletin/index.html", "sitemap.xml", *FURNITURE}
    return path in fixed or any(p.fullmatch(path) for p in (_ARTICLE, _ISSUE, _TOPIC, _YEAR))


def unique(paths: Iterable[str]) -> list[str]:
    """Paths in first-seen order without repeats."""
    return list(dict.fromkeys(paths))
