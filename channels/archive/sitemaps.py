"""The sitemap as an index of small files, so publishing one article rewrites a few short files
instead of one list of every URL of the archive (issue 16).

``sitemap.xml`` is a sitemap index (what robots.txt names). It lists ``sitemaps/pages.xml`` (home,
bulletin, topic and press-index pages of every edition: their lastmod moves with almost every publication)
and one ``sitemaps/YYYY.xml`` per year: that year's article pages, issue pages and year page, in
every edition. Every URL keeps a ``lastmod``: the newest publication or correction of the
articles its page shows; a file's ``lastmod`` in the index is the newest of its URLs'.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from channels.archive.pages import (
    INDEX,
    PAGES,
    PRESS_PAGES,
    YEAR_FILE,
    Editions,
    SiteIndex,
    html_datetime,
    page_url,
    year_file,
)
from koho.article import Article

#: One sitemap entry: (URL, lastmod, language versions of the page).
Entry = tuple[str, str | None, list[Any]]


def _moment(idx: SiteIndex, article: Article) -> datetime:
    return idx.updated.get(article.id, article.publish_at)


def lastmod(idx: SiteIndex, articles: Iterable[Article]) -> str | None:
    """W3C datetime of the newest publication or correction among ``articles`` (None: none)."""
    moments = [_moment(idx, a) for a in articles]
    return html_datetime(max(moments)) if moments else None


def _pages(editions: Editions, year: int | None) -> list[tuple[SiteIndex, str, list[Article]]]:
    """(edition, page, articles it shows) of the listing pages (``year`` None) or of one year,
    in the order the single sitemap listed them, each edition after the original."""
    site = editions.site
    out: list[tuple[SiteIndex, str, list[Article]]] = []
    for lang, idx in editions.indexes.items():
        p = idx.prefix
        if year is None:
            out += [(idx, f"{p}index.html", idx.latest), (idx, f"{p}bulletin/index.html", idx.articles)]
            if idx.is_source:
                out.append((idx, "topics/index.html", idx.articles))
                out += [(idx, page, idx.press) for page in PRESS_PAGES if idx.press]
                out += [(idx, f"topics/{key}/index.html", idx.by_topic.get(key, [])) for key in site.topics]
            continue
        days = sorted(day for day in idx.by_issue if day.year == year)
        out += [(idx, site.issue_path(day, lang) + INDEX, idx.by_issue[day]) for day in days]
        if year in idx.by_year:
            out.append((idx, f"{p}{year}/index.html", idx.by_year[year]))
            out += [(idx, idx.page_of(a), [a]) for a in idx.by_year[year]]
    return out


def entries(editions: Editions, path: str, versions: Callable[[str], list[Any]]) -> list[Entry]:
    """(URL, lastmod, versions) of every page listed in the sitemap file ``path``."""
    match = YEAR_FILE.fullmatch(path)
    year = int(match.group(1)) if match else None
    return [
        (editions.site.url(page_url(page)), lastmod(idx, shown or idx.articles), versions(page))
        for idx, page, shown in _pages(editions, year)
    ]


def index_entries(editions: Editions) -> list[tuple[str, str | None]]:
    """(URL, lastmod) of every file the sitemap index lists; a file's lastmod is its newest URL's,
    found from the articles alone (no page of the file is formatted)."""
    site = editions.site
    every = [_moment(idx, a) for idx in editions.indexes.values() for a in idx.articles]
    out = [(site.url(PAGES), html_datetime(max(every)) if every else None)]
    for year in editions.years():
        moments = [
            _moment(idx, a)
            for idx in editions.indexes.values()
            for a in [*idx.by_year.get(year, ()), *(a for d, on in idx.by_issue.items() if d.year == year for a in on)]
        ]
        out.append((site.url(year_file(year)), html_datetime(max(moments)) if moments else None))
    return out
