"""Which pages the archive has, in which languages, and which of them show a given article.

A page is named by its output path (``topics/bousai/index.html``); translated editions live under
a language prefix (``en/articles/x/index.html``). ``render.Renderer.render(path)`` turns that name
back into bytes from the live articles alone, so a page renders identically whether it is written
by a full build or by an incremental publish.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from functools import cached_property
from importlib import resources

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from channels.common import TEMPLATES as SHARED_TEMPLATES
from koho.article import Article
from koho.bulletin import issue_label
from koho.i18n import LANGUAGES, SOURCE_LANGUAGE, date_time, long_date
from koho.site import Site

TOPIC_PAGE_MAX = 50
#: Files every site has whatever its articles: every plan offers them (ADR 0014).
FURNITURE = (
    "static/koho.css",
    "static/search.js",
    "static/favicon.svg",
    "favicon.ico",
    "topics/index.html",
    "robots.txt",
    "404.html",
)
#: Furniture copied byte for byte from ``channels/archive/static/`` (the rest is rendered).
STATIC_FILES = {
    "static/koho.css": "koho.css",
    "static/search.js": "search.js",
    "static/favicon.svg": "favicon.svg",
    "favicon.ico": "favicon.ico",
}
#: Each edition's search page (``search/index.html``, ``en/search/index.html``): it searches the
#: edition's year bundles (``channels/archive/search.py``) and is planned with them, once per run.
SEARCH_PAGE = "search/index.html"


# The sitemap's files (channels/archive/sitemaps.py renders them).
#: The sitemap index, the file robots.txt names.
SITEMAP = "sitemap.xml"
#: Home, bulletin and topic pages of every edition.
PAGES = "sitemaps/pages.xml"
#: A year's article, issue and year pages.
YEAR_FILE = re.compile(r"sitemaps/(\d{4})\.xml")


def year_file(year: int) -> str:
    """The sitemap file that lists the pages of ``year``."""
    return f"sitemaps/{year}.xml"


def is_sitemap(path: str) -> bool:
    """Whether ``path`` is the sitemap index or one of its files."""
    return path in (SITEMAP, PAGES) or YEAR_FILE.fullmatch(path) is not None


def sitemap_files_showing(article: Article) -> list[str]:
    """The sitemap files whose entries change when ``article`` appears, changes or goes: the
    index (a file's lastmod), the listing pages' file and the year files of its page and issue."""
    years = [article.publish_at.year] + ([article.bulletin.year] if article.bulletin else [])
    return [SITEMAP, PAGES, *dict.fromkeys(year_file(y) for y in years)]


#: The press releases' index pages (報道発表一覧: by year, and by department), in the original
#: edition only (department names are not translated, like topic names); a site without press
#: releases has neither (ADR 0035).
PRESS_PAGES = ("press/index.html", "press/departments/index.html")
#: The file that serves a folder's URL (``articles/x/`` is ``articles/x/index.html``).
INDEX = "index.html"


def page_url(path: str) -> str:
    """Public (pretty) URL path of an output file: ``a/index.html`` -> ``a/``. Used for absolute
    URLs (canonical, hreflang, sitemap, feeds); links between pages keep ``index.html``."""
    return path[: -len("index.html")] if path.endswith("index.html") else path


def media_target(src: str) -> str:
    """Output path of an image that lives at ``content/<src>`` (the site owns the address)."""
    return Site.media_path(src)


def split_language(path: str, source: str = "ja") -> tuple[str, str]:
    """``en/articles/x/index.html`` -> ("en", "articles/x/index.html"); unprefixed paths are the
    source language's. No top-level folder of the Japanese site is a language code."""
    head, _, rest = path.partition("/")
    if rest and head in LANGUAGES and head != source:
        return head, rest
    return source, path


def in_language(language: str, path: str, source: str = "ja") -> str:
    """The path of the page ``path`` in the edition of ``language``."""
    return path if language == source else f"{language}/{path}"


def html_datetime(moment: datetime) -> str:
    """``moment`` as HTML's valid global date and time string (and the W3C datetime of sitemaps):
    whole seconds, or milliseconds when it has a fraction. Python's ``isoformat`` gives six
    fractional digits, which HTML's ``<time datetime>`` refuses (it allows one to three)."""
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")


def _environment() -> Environment:
    folder = resources.files("channels.archive") / "templates"
    env = Environment(
        loader=FileSystemLoader([str(folder), SHARED_TEMPLATES]),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["ja_date"] = lambda d: long_date(d, SOURCE_LANGUAGE)
    env.filters["ja_datetime"] = lambda d: date_time(d, SOURCE_LANGUAGE)
    env.filters["issue_label"] = issue_label
    env.filters["html_datetime"] = html_datetime
    return env


_ENV = None


def environment() -> Environment:
    """The shared Jinja2 environment (templates compile once per process)."""
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


class SiteIndex:
    """The live articles of one language, grouped the ways the archive lists them."""

    def __init__(
        self, site: Site, live: Mapping[str, Article], updated: Mapping[str, datetime], language: str | None = None
    ):
        self.site = site
        self.updated = updated
        self.language = language or site.language
        #: "" for the source language, "en/" for the English edition.
        self.prefix = site.edition(self.language)
        # Keys of ``live`` do not matter: translations share their original's id.
        mine = [a for a in live.values() if a.language == self.language]
        self.articles = sorted(mine, key=lambda a: (a.publish_at, a.id), reverse=True)
        self.by_id: dict[str, Article] = {a.id: a for a in mine}
        self.by_topic: dict[str, list[Article]] = defaultdict(list)
        self.by_issue: dict[date, list[Article]] = defaultdict(list)
        self.by_year: dict[int, list[Article]] = defaultdict(list)
        #: Press releases, newest first (only those past their embargo are ever live).
        self.press = [a for a in self.articles if a.press is not None]
        for article in self.articles:
            for topic in article.topics:
                self.by_topic[topic].append(article)
            if article.bulletin:
                self.by_issue[article.bulletin].append(article)
            self.by_year[article.publish_at.year].append(article)

    @property
    def is_source(self) -> bool:
        """True for the original (Japanese) edition, the only one with topic pages and furniture."""
        return self.language == self.site.language

    @cached_property
    def latest(self) -> list[Article]:
        """The newest articles shown on the home page."""
        return self.articles[: self.site.latest_count]

    @cached_property
    def latest_ids(self) -> frozenset[str]:
        """Ids of the home page's articles."""
        return frozenset(a.id for a in self.latest)

    def page_of(self, article: Article) -> str:
        """The output file of an article's page in this edition."""
        return self.site.article_path(article.id, self.language) + INDEX

    def pages_showing(self, article: Article) -> list[str]:
        """Every page on which ``article`` appears (its own page first), by its own metadata."""
        p = self.prefix
        pages = [self.page_of(article)]
        if article.id in self.latest_ids:
            pages.append(f"{p}index.html")
        if article.bulletin:
            pages += [self.site.issue_path(article.bulletin, self.language) + INDEX, f"{p}bulletin/index.html"]
        if self.is_source:  # topic names are not translated: topic pages are the original's only
            pages += [f"topics/{t}/index.html" for t in article.topics]
        pages += [f"{p}{article.publish_at.year}/index.html", *sitemap_files_showing(article)]
        if article.press is not None:  # every edition's home links the press index (or stops)
            pages.append(f"{p}index.html")
            if self.is_source:
                pages += PRESS_PAGES
        return pages

    def press_by(self, key: Callable[[Article], str]) -> list[tuple[str, list[Article]]]:
        """The press releases grouped by ``key`` (a year, a department), groups in first-seen order."""
        groups: dict[str, list[Article]] = defaultdict(list)
        for article in self.press:
            groups[key(article)].append(article)
        return list(groups.items())

    def all_pages(self) -> list[str]:
        """Every page of this edition in a full build (the sitemap and furniture with the original)."""
        p = self.prefix
        pages = [f"{p}index.html", f"{p}bulletin/index.html"]
        if self.is_source:
            pages += ["sitemap.xml", *FURNITURE]
        pages += [self.page_of(a) for a in self.articles]
        pages += [self.site.issue_path(d, self.language) + INDEX for d in self.by_issue]
        if self.is_source:
            pages += [f"topics/{t}/index.html" for t in self.site.topics]
        pages += [f"{p}{y}/index.html" for y in self.by_year]
        if self.is_source and self.press:
            pages += PRESS_PAGES
        return list(dict.fromkeys(pages))


class Editions:
    """The live articles of every language: one ``SiteIndex`` per edition, and which language
    versions each article, issue and year has (for the switcher and ``hreflang``)."""

    def __init__(self, site: Site, live: Mapping[str, Article], updated: Mapping[str, datetime]):
        self.site = site
        #: Languages with an article in ``live``: only their pages can be rendered truthfully.
        self.present = frozenset(a.language for a in live.values())
        present = self.present | {site.language}
        order = [lang for lang in LANGUAGES if lang in present] + sorted(present - set(LANGUAGES))
        # One pass over ``live`` (it may hold nine languages): each index reads its own share.
        shares: dict[str, dict[str, Article]] = defaultdict(dict)
        for key, article in live.items():
            shares[article.language][key] = article
        self.indexes = {lang: SiteIndex(site, shares[lang], updated, lang) for lang in order}
        self.source = self.indexes[site.language]

    @property
    def languages(self) -> list[str]:
        """The editions that have pages, the original first."""
        return list(self.indexes)

    def index(self, language: str) -> SiteIndex:
        """The edition of ``language``; empty when it has no live article (its last one was
        withdrawn: its pages are still rendered, as empty lists, so they stop showing it)."""
        return self.indexes.get(language) or SiteIndex(self.site, {}, {}, language)

    def versions(self, rest: str) -> list[str]:
        """The languages in which the page ``rest`` (a path without language prefix) exists."""
        if match := ARTICLE.fullmatch(rest):
            return [lang for lang, idx in self.indexes.items() if match.group(1) in idx.by_id]
        if match := ISSUE.fullmatch(rest):
            day = date.fromisoformat(match.group(1))
            return [lang for lang, idx in self.indexes.items() if day in idx.by_issue]
        if match := YEAR.fullmatch(rest):
            return [lang for lang, idx in self.indexes.items() if int(match.group(1)) in idx.by_year]
        if rest in ("index.html", "bulletin/index.html", SEARCH_PAGE):
            return self.languages
        return [self.site.language]

    def siblings(self, article: Article) -> list[str]:
        """Pages of other editions whose language switcher changes when ``article`` (in its
        language) appears or goes: its other versions, and the issue, year and home pages of
        other editions when this edition's own such page starts or stops existing."""
        mine = self.index(article.language)
        rests = [self.site.article_path(article.id) + INDEX]
        if article.bulletin and len(mine.by_issue.get(article.bulletin, ())) <= 1:
            rests.append(self.site.issue_path(article.bulletin) + INDEX)
        if len(mine.by_year.get(article.publish_at.year, ())) <= 1:
            rests.append(f"{article.publish_at.year}/index.html")
        if len(mine.articles) <= 1:
            rests += ["index.html", "bulletin/index.html"]
        return [
            in_language(lang, rest, self.site.language)
            for rest in rests
            for lang in self.versions(rest)
            if lang != article.language
        ]

    def years(self) -> list[int]:
        """Every year with an article or an issue in any edition: one sitemap file each."""
        found = {y for idx in self.indexes.values() for y in idx.by_year}
        found |= {day.year for idx in self.indexes.values() for day in idx.by_issue}
        return sorted(found)

    def all_pages(self) -> list[str]:
        """Every page of every edition, and every file of the sitemap."""
        pages = [page for idx in self.indexes.values() for page in idx.all_pages()]
        return unique([*pages, SITEMAP, PAGES, *(year_file(y) for y in self.years())])

    def in_view(self, path: str, language: str) -> bool:
        """Whether a plan for an article in ``language`` may write ``path``: pages of its own
        language, and pages of languages whose articles ``live`` holds. A context holding one
        language only must never rewrite another edition's pages (or the sitemap, which lists
        them all) as if that edition were empty."""
        lang, _ = split_language(path, self.site.language)
        return lang == language or lang in self.present

    def can_render(self, path: str) -> bool:
        """Whether ``path`` names a page the live articles make (drops stale recorded targets)."""
        if not known_page(path):
            return False
        lang, rest = split_language(path, self.site.language)
        match = ARTICLE.fullmatch(rest)
        return match is None or match.group(1) in self.index(lang).by_id


ARTICLE = re.compile(r"articles/([a-z0-9-]+)/index\.html")
ISSUE = re.compile(r"bulletin/(\d{4}-\d{2}-\d{2})/index\.html")
TOPIC = re.compile(r"topics/([a-z0-9-]+)/index\.html")
YEAR = re.compile(r"(\d{4})/index\.html")


def known_page(path: str) -> bool:
    """Whether ``path`` is a page this renderer can produce (used to drop stale targets)."""
    fixed = {"index.html", "bulletin/index.html", SEARCH_PAGE, *FURNITURE, *PRESS_PAGES}
    if path in fixed or is_sitemap(path) or any(p.fullmatch(path) for p in (ARTICLE, ISSUE, TOPIC, YEAR)):
        return True
    lang, rest = split_language(path)
    return lang != "ja" and (
        rest in ("index.html", "bulletin/index.html", SEARCH_PAGE)
        or any(p.fullmatch(rest) for p in (ARTICLE, ISSUE, YEAR))
    )


def unique(paths: Iterable[str]) -> list[str]:
    """Paths in first-seen order without repeats."""
    return list(dict.fromkeys(paths))
