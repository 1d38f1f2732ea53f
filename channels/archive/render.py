"""Rendering archive pages by output path, in every edition (the original and its translations)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from importlib import resources
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from channels.archive import downloads, sitemaps
from channels.archive.pages import (
    ARTICLE,
    ISSUE,
    PRESS_PAGES,
    SEARCH_PAGE,
    SITEMAP,
    STATIC_FILES,
    TOPIC,
    TOPIC_PAGE_MAX,
    YEAR,
    Editions,
    environment,
    in_language,
    is_sitemap,
    media_target,
    page_url,
    split_language,
)
from channels.archive.search import year_bundle
from koho.article import Article
from koho.bulletin import appears_at
from koho.editions import MP3_TYPE, PODCAST
from koho.i18n import date_time, issue_title, long_date, tag, words

#: Pages served at whatever path was missing: their links start at the site root, not at "../".
ROOTED = frozenset({"404.html"})


@dataclass(frozen=True)
class Version:
    """One language version of a page, for the switcher and the ``hreflang`` alternates."""

    language: str
    hreflang: str
    name: str
    href: str  # relative (``../en/articles/x/index.html``), for the switcher
    absolute: str  # for <link rel="alternate">
    current: bool


class Renderer:
    """Renders archive pages by output path (``articles/x/index.html``, ``en/bulletin/index.html``).

    Links between pages are relative and name ``index.html`` (like Pelican's ``RELATIVE_URLS``),
    so the site works opened from disk and under any prefix; canonical, ``hreflang`` and sitemap
    URLs stay absolute. ``now`` (the plan's clock) decides which urgent news is still current.
    """

    def __init__(
        self,
        editions: Editions,
        now: datetime,
        extra: Iterable[Article] = (),
        ebooks: bool = False,
        signup: str | None = None,
        image_size: Callable[[str], tuple[int, int] | None] = lambda src: None,
        sizes: Mapping[str, int] | None = None,
    ):
        self.editions = editions
        self.site = editions.site
        self.now = now
        # Articles that are not live but still need their own page (withdrawn: a notice).
        self.extra = {(a.language, a.id): a for a in extra}
        #: Whether issue pages link to their e-book edition (the ``ebook`` channel is on).
        self.ebooks = ebooks
        #: The info-mail sign-up page (``KOHO_MAIL_WEB_URL``) when the mail channel is on.
        self.signup = signup
        #: (width, height) of an image under content/, so pages do not jump while images load.
        self.image_size = image_size
        #: Sizes of the audio and braille editions' files in the store (``channels.archive.downloads``);
        #: None when neither channel is on: pages then show no player and no download.
        self.sizes = sizes
        self.env = environment()

    def content_type(self, path: str) -> str:
        """MIME type by extension."""
        suffix = PurePosixPath(path).suffix
        return {
            ".html": "text/html; charset=utf-8",
            ".xml": "application/xml; charset=utf-8",
            ".css": "text/css; charset=utf-8",
            ".js": "text/javascript; charset=utf-8",
            ".txt": "text/plain; charset=utf-8",
            ".svg": "image/svg+xml",
            ".ico": "image/vnd.microsoft.icon",
        }.get(suffix, "application/octet-stream")

    def render(self, path: str) -> bytes:
        """Bytes of the page at ``path``."""
        if path in STATIC_FILES:
            return (resources.files("channels.archive") / "static" / STATIC_FILES[path]).read_bytes()
        return self._render(path).encode("utf-8")

    def versions(self, path: str) -> list[Version]:
        """The language versions of the page at ``path``; empty when it exists in one language
        only (so the original's pages stay exactly as they were until a translation appears)."""
        lang, rest = split_language(path, self.site.language)
        langs = self.editions.versions(rest)
        if len(langs) < 2:
            return []
        root = "../" * path.count("/")
        out = []
        for other in langs:
            other_path = in_language(other, rest, self.site.language)
            out.append(
                Version(
                    other,
                    tag(other),
                    words(other).endonym,
                    root + other_path,
                    self.site.url(page_url(other_path)),
                    other == lang,
                )
            )
        return out

    def _page(self, template: str, path: str, shown: Iterable[Article] = (), **values: Any) -> str:
        lang, rest = split_language(path, self.site.language)
        if path in ROOTED:  # served at any missing path: links from the site root, pretty URLs
            root = urlsplit(self.site.base_url).path
            link: Callable[[str], str] = lambda p: root + page_url(p)  # noqa: E731
        else:
            root = "../" * path.count("/")
            link = lambda p: root + p  # noqa: E731
        t = words(lang)
        source = lang == self.site.language
        # Every page that shows machine-translated text says so and links to its original.
        machine = [a for a in shown if a.translation is not None and a.translation.machine]
        values.setdefault("description", self.site.description if source else self.site.name_in(lang))
        return self.env.get_template(template).render(
            site=self.site,
            path=path,
            root=root,
            canonical=self.site.url(page_url(path)),
            topics=self.site.topics,
            url=lambda p: link(in_language(lang, p, self.site.language)),
            t=t,
            lang=lang,
            lang_tag=tag(lang),
            source_tag=tag(self.site.language),  # for Japanese fragments of translated pages
            site_name=self.site.name_in(lang),
            has_topics=source,
            lead=self.site.description if source else "",
            feeds="feeds/" if source else f"feeds/{lang}/",
            versions=self.versions(path),
            sep="・" if source else " · ",
            notice=(t.machine, root + rest) if machine else None,
            signup=self._signup(lang),
            size=self.image_size,
            fmt_date=partial(long_date, language=lang),
            fmt_datetime=partial(date_time, language=lang),
            issue_title=lambda day: issue_title(day, lang, self.site.bulletin_in(lang)),
            **values,
        )

    def _render(self, path: str) -> str:
        lang, rest = split_language(path, self.site.language)
        idx = self.editions.index(lang)
        t = words(lang)
        if rest == "index.html":
            issues = sorted(idx.by_issue, reverse=True)[:6]
            # The urgent box holds current news only: a shelter notice must not outlive the shelter.
            urgent = [a for a in idx.latest if a.urgent_at(self.now, self.site)]
            return self._page(
                "home.html",
                path,
                idx.latest,
                articles=idx.latest,
                urgent=urgent,
                issues=issues,
                years=sorted(idx.by_year, reverse=True),
                # Every edition's home leads to the press index once the original has one.
                press_pages=PRESS_PAGES if self.editions.source.press else (),
            )
        if match := ARTICLE.fullmatch(rest):
            article = self.extra.get((lang, match.group(1))) or idx.by_id.get(match.group(1))
            if article is None:
                raise KeyError(path)
            return self._page(
                "article.html",
                path,
                [article],
                article=article,
                updated=idx.updated.get(article.id),
                media=media_target,
                audio=self._audio(article, lang),
                podcast=None,
            )
        if rest == "bulletin/index.html":
            dated = sorted(idx.by_issue.items(), key=lambda item: item[0], reverse=True)
            return self._page("issues.html", path, idx.articles, issues=dated)
        if match := ISSUE.fullmatch(rest):
            day = date.fromisoformat(match.group(1))
            articles = sorted(idx.by_issue.get(day, []), key=lambda a: (not a.urgent, a.publish_at, a.id))
            # The e-book is made when the issue appears (the ebook channel): no link before then.
            ebook = (
                self.site.ebook_path(day, lang)
                if self.ebooks and articles and appears_at(day, self.site) <= self.now
                else None
            )
            return self._page(
                "listing.html",
                path,
                articles,
                articles=articles,
                more=None,
                ebook=ebook,
                heading=issue_title(day, lang, self.site.bulletin_in(lang)),
                **self._issue_files(day, lang),
            )
        if match := YEAR.fullmatch(rest):
            year = int(match.group(1))
            articles = idx.by_year.get(year, [])
            return self._page(
                "listing.html",
                path,
                articles,
                heading=t.year.format(year=year),
                articles=articles,
                more=None,
                ebook=None,
            )
        if rest == SEARCH_PAGE:
            years = sorted(idx.by_year, reverse=True)
            # The newest year's bundle first: the search loads it and merges the others into it.
            bundles = [in_language(lang, year_bundle(y), self.site.language) for y in years]
            root = "../" * path.count("/")
            return self._page("search.html", path, bundles=[root + b for b in bundles], years=years)
        if lang != self.site.language:
            raise KeyError(path)  # the rest of the site (topics, furniture, sitemap) is the original's
        return self._render_source(path)

    def _audio(self, article: Article, lang: str) -> downloads.File | None:
        """The article's MP3 for its page's player (Japanese: the edition read aloud)."""
        if self.sizes is None or lang != self.site.language or article.withdrawn:
            return None
        return downloads.article_audio(article.id, self.sizes, words(lang), lang)

    def _issue_files(self, day: date, lang: str) -> dict[str, Any]:
        """An issue page's player (its MP3), its audio and braille downloads, the podcast link."""
        files = (
            []
            if self.sizes is None or lang != self.site.language
            else downloads.issue_files(day, self.sizes, words(lang), lang)
        )
        audio = next((f for f in files if f.media_type == MP3_TYPE), None)
        return {"audio": audio, "files": files, "podcast": PODCAST if audio else None}

    def _render_source(self, path: str) -> str:
        idx = self.editions.source
        if path == "topics/index.html":
            return self._page("topics.html", path)
        if match := TOPIC.fullmatch(path):
            topic = match.group(1)
            articles = idx.by_topic.get(topic, [])
            return self._page(
                "listing.html",
                path,
                heading=self.site.topics.get(topic, topic),
                articles=articles[:TOPIC_PAGE_MAX],
                more=len(articles) > TOPIC_PAGE_MAX,
                feed=f"feeds/topics/{topic}/atom.xml",
                ebook=None,
            )
        if path in PRESS_PAGES:
            by_department = path == PRESS_PAGES[1]
            groups = idx.press_by(
                (lambda a: a.press.department if a.press and a.press.department else "―")
                if by_department
                else (lambda a: self.t_year(a))
            )
            return self._page(
                "press.html",
                path,
                heading=words(self.site.language).press_departments
                if by_department
                else words(self.site.language).press_index,
                groups=groups,
                by_department=by_department,
                feed="feeds/press/atom.xml",
            )
        if path == SITEMAP:
            return self._page("sitemapindex.xml", path, entries=sitemaps.index_entries(self.editions))
        if is_sitemap(path):
            entries = sitemaps.entries(self.editions, path, self.versions)
            return self._page("sitemap.xml", path, entries=entries, alternates=len(self.editions.indexes) > 1)
        if path == "404.html":
            return self._page("404.html", path)
        if path == "robots.txt":
            return f"User-agent: *\nAllow: /\nSitemap: {self.site.url('sitemap.xml')}\n"
        raise KeyError(path)

    def t_year(self, article: Article) -> str:
        """The year heading of a press release in the press index (``2026年``)."""
        return words(self.site.language).year_link.format(year=article.publish_at.year)

    def _signup(self, language: str) -> str | None:
        """The sign-up page's URL in ``language`` (its ``?lang=`` picks the page's language)."""
        if self.signup is None:
            return None
        return self.signup if language == self.site.language else f"{self.signup}?lang={language}"
