"""The archive channel: plans the pages an article touches, writes changed bytes to a store."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import imagesize

from channels.archive import downloads
from channels.archive.pages import (
    ARTICLE,
    FURNITURE,
    INDEX,
    ISSUE,
    SEARCH_PAGE,
    Editions,
    in_language,
    media_target,
    unique,
)
from channels.archive.render import Renderer
from channels.archive.search import search_bundle, year_bundle
from koho.article import Article
from koho.bulletin import appears_at
from koho.channel import ChangesWithTime, FinishesRun, Limits, PlanContext, Rebuildable
from koho.delivery import Delivery, by_bytes
from koho.i18n import LANGUAGES
from koho.ledger import SITE_ID
from koho.payloads import Packed
from koho.site import Site
from koho.storage import StoreChannel


class ArchiveChannel(StoreChannel, Rebuildable, ChangesWithTime, FinishesRun):
    """Bulletin archive as a static site: home, article, issue, topic and year pages, sitemap;
    translated editions under a language prefix (``en/``), linked to each other by language."""

    name: ClassVar[str] = "archive"
    limits: ClassVar[Limits] = Limits(batch_size=500, languages=LANGUAGES)

    def __init__(
        self,
        url: str,
        content_dir: Path,
        base_dir: Path | None = None,
        ebooks: bool = False,
        signup: str | None = None,
        accessible: bool = False,
    ):
        super().__init__(url, base_dir)
        self.content_dir = content_dir
        #: Issue pages link to their e-book editions (set when the ``ebook`` channel is on).
        self.ebooks = ebooks
        #: Pages play and link the audio and braille editions the store holds (set when the
        #: ``audio`` or ``braille`` channel is on; ``channels.archive.downloads``).
        self.accessible = accessible
        #: Pages link to the info-mail sign-up page: its URL, "" for the default ``<site>mail/``,
        #: None when the ``mail`` channel is off.
        self.signup = signup

    def plan(self, article: Article, ctx: PlanContext) -> list[Delivery]:
        """The article's page and every listing it appears (or appeared) on, in its language,
        plus the pages of other languages whose language switcher it changes.

        ``ctx.live`` should hold every live language version (keys do not matter): a page's
        switcher lists the versions it finds there, and pages of a language it holds nothing
        of are left alone (``Editions.in_view``).
        """
        if article.withdrawn and not ctx.previous_targets and article.id not in ctx.published:
            return []  # never published here: nothing to take down
        editions = Editions(ctx.site, ctx.live, ctx.updated)
        index = editions.index(article.language)
        pages = index.pages_showing(article)
        if article.withdrawn:
            pages = (
                [
                    in_language(article.language, p, ctx.site.language)
                    for p in (ctx.site.article_path(article.id) + INDEX, INDEX)
                ]
                + ["sitemap.xml"]
                + pages
            )
        pages += editions.siblings(article)
        pages += [p for p in sorted(ctx.previous_targets) if editions.can_render(p) and p not in FURNITURE]
        pages = [p for p in unique(pages) if editions.in_view(p, article.language)]
        extra = [article] if article.withdrawn else []
        renderer = self._renderer(editions, ctx, extra=extra, sizes=self._sizes(pages, ctx.site))
        deliveries = [self._page(renderer, article, page) for page in pages]
        if not article.withdrawn:
            deliveries += [self._media(article, src) for src in _files_of(article)]
        return deliveries + self._furniture(renderer, ctx)

    def plan_finish(self, touched: Sequence[Article], ctx: PlanContext) -> list[Delivery]:
        """Once per run, after its articles (``FinishesRun``): the search bundles of the years
        the run's articles belong to, in their editions, and every edition's search page (it
        lists the years to merge). Keyed by their bytes: an unchanged year is not written again.
        ``ctx.live`` holds the live site in every edition the run has (like a build's)."""
        editions = Editions(ctx.site, ctx.live, ctx.updated)
        renderer = self._renderer(editions, ctx)
        years: dict[str, set[int]] = defaultdict(set)
        for article in touched:
            years[article.language].add(article.publish_at.year)
        out = []
        for language in unique([*editions.languages, *years]):
            out += self._search(renderer, editions, language, years.get(language, set()))
        return out + self._with_editions(touched, editions, ctx)

    def _with_editions(self, touched: Sequence[Article], editions: Editions, ctx: PlanContext) -> list[Delivery]:
        """The pages of the run's Japanese articles and their issues again, now that the run's
        audio and braille files are in the store (their channels plan after the archive): the
        players and downloads appear in the run that made them. Keyed by their bytes like the
        search files: a page whose files did not change is recorded once."""
        if not self.accessible:
            return []
        pages = []
        for article in (a for a in touched if a.language == ctx.site.language):
            pages.append(ctx.site.article_path(article.id) + INDEX)
            if article.bulletin is not None:
                pages.append(ctx.site.issue_path(article.bulletin) + INDEX)
        pages = [p for p in unique(pages) if editions.can_render(p)]
        renderer = self._renderer(editions, ctx, sizes=self._sizes(pages, ctx.site))
        out = []
        for page in pages:
            body = renderer.render(page)
            out.append(self._site_file(renderer, page, by_bytes(body, "editions-"), ctx.site.language, body))
        return out

    def _sizes(self, pages: Iterable[str], site: Site) -> Mapping[str, int] | None:
        """Sizes of the audio and braille files that the original edition's article and issue
        pages among ``pages`` show (None when those channels are off)."""
        if not self.accessible:
            return None
        ids, days = [], []
        for page in pages:
            if match := ARTICLE.fullmatch(page):
                ids.append(match.group(1))
            elif match := ISSUE.fullmatch(page):
                days.append(date.fromisoformat(match.group(1)))
        return self.store.sizes(downloads.paths(ids, days)) if ids or days else {}

    def _search(
        self,
        renderer: Renderer,
        editions: Editions,
        language: str,
        years: Iterable[int],
        build_id: str | None = None,
        built: Sequence[Delivery] = (),
    ) -> list[Delivery]:
        """The edition's search page and the Pagefind bundles of ``years``, each from that
        year's live article pages (withdrawn ones are not live: they leave the index; a year
        left empty keeps its last bundle, which the search page no longer lists). Keyed by
        bytes like the furniture, or by the build (whose pages, ``built``, are not rendered twice)."""
        rendered = {d.target: d for d in built}
        index = editions.index(language)
        page = index.prefix + SEARCH_PAGE
        body = renderer.render(page)
        out = [self._site_file(renderer, page, build_id or _by_bytes(body), language, body)]
        for year in sorted(years):
            pages = [index.page_of(a) for a in index.by_year.get(year, ())]
            documents = {
                page.removeprefix(index.prefix): rendered[page].body() if page in rendered else renderer.render(page)
                for page in pages
            }
            for name, body in search_bundle(documents, language).items():
                out.append(
                    Delivery(
                        self.name,
                        index.prefix + year_bundle(year) + name,
                        SITE_ID,
                        build_id or _by_bytes(body),
                        language,
                        Packed.of(body) if build_id else body,
                        _bundle_type(name),
                    )
                )
        return out

    def _furniture(self, renderer: Renderer, ctx: PlanContext) -> list[Delivery]:
        """The stylesheet, search script, icons, topic index, robots.txt and 404 page, offered by every plan.

        Keyed by their bytes under the site's id (ADR 0014): the ledger records them once per
        content, so a re-plan adds nothing, and new bytes (a koho upgrade, a topic added to
        site.yaml) go out with the next publish. Nothing about the channel's history decides it:
        a first publish whose first rows were skipped translations still writes them.
        """
        out = []
        for page in FURNITURE:
            body = renderer.render(page)
            out.append(self._site_file(renderer, page, _by_bytes(body, "furniture-"), ctx.site.language, body))
        return out

    def moments(self, articles: Iterable[Article], site: Site) -> Iterator[tuple[datetime, str]]:
        """When pages change with time alone (``ChangesWithTime``): the home page when an
        urgent article's urgency ends (its start is its publication, which plans the home page
        anyway), and, with e-books on, an issue page when the issue appears and its e-book link
        with it (and, with the audio or braille edition on, its downloads, made as it appears).
        Nothing else the archive renders reads the clock."""
        for article in articles:
            if article.urgent:
                yield site.urgent_end(article.publish_at, article.urgent_until), "index.html"
            if (self.ebooks or self.accessible) and article.bulletin:
                yield appears_at(article.bulletin, site), site.issue_path(article.bulletin) + INDEX

    def plan_pages(self, pages: Sequence[str], ctx: PlanContext, revision: str) -> list[Delivery]:
        """``pages`` (original-edition paths) in every edition that has them, as of ``ctx.now``."""
        editions = Editions(ctx.site, ctx.live, ctx.updated)
        renderer = self._renderer(editions, ctx, sizes=self._sizes(pages, ctx.site))
        out = []
        for rest in pages:
            for language in editions.versions(rest):
                page = in_language(language, rest, ctx.site.language)
                if editions.can_render(page):
                    out.append(self._site_file(renderer, page, revision, language))
        return out

    def _site_file(
        self, renderer: Renderer, page: str, revision: str, language: str, body: bytes | None = None, pack: bool = False
    ) -> Delivery:
        """A page recorded under the site's id (furniture, full builds, clock refreshes)."""
        body = renderer.render(page) if body is None else body
        return Delivery(
            self.name, page, SITE_ID, revision, language, Packed.of(body) if pack else body, renderer.content_type(page)
        )

    def _renderer(
        self,
        editions: Editions,
        ctx: PlanContext,
        extra: Iterable[Article] = (),
        sizes: Mapping[str, int] | None = None,
    ) -> Renderer:
        signup = None if self.signup is None else (self.signup or ctx.site.url("mail/"))
        return Renderer(
            editions,
            ctx.now,
            extra=extra,
            ebooks=self.ebooks,
            signup=signup,
            image_size=self._image_size,
            sizes=sizes,
        )

    def _image_size(self, src: str) -> tuple[int, int] | None:
        path = self.content_dir / src
        try:
            stat = path.stat()
        except OSError:
            return None
        return _size_of(str(path), stat.st_mtime_ns, stat.st_size)

    def plan_all(self, ctx: PlanContext, build_id: str) -> list[Delivery]:
        """A full build: every page and image of the live site, in every language (``koho build``)."""
        editions = Editions(ctx.site, ctx.live, ctx.updated)
        every = editions.all_pages()
        renderer = self._renderer(editions, ctx, sizes=self._sizes(every, ctx.site))
        # Packed: the whole site is planned before any of it is written (ADR 0038).
        out = [self._site_file(renderer, page, build_id, ctx.site.language, pack=True) for page in every]
        for language in editions.languages:  # the search page with every year's bundle
            out += self._search(renderer, editions, language, editions.index(language).by_year, build_id, out)
        seen = set()
        for article in editions.source.articles:  # translations show the original's images
            for src in _files_of(article):
                if src not in seen:
                    seen.add(src)
                    out.append(
                        Delivery(
                            self.name,
                            media_target(src),
                            SITE_ID,
                            build_id,
                            None,
                            self.content_dir / src,
                            _image_type(src),
                        )
                    )
        return out

    def _page(self, renderer: Renderer, article: Article, page: str) -> Delivery:
        return Delivery(
            self.name,
            page,
            article.id,
            article.revision,
            article.language,
            renderer.render(page),
            renderer.content_type(page),
        )

    def _media(self, article: Article, src: str) -> Delivery:
        return Delivery(
            self.name, media_target(src), article.id, article.revision, None, self.content_dir / src, _image_type(src)
        )


@lru_cache(maxsize=4096)
def _size_of(path: str, mtime_ns: int, size: int) -> tuple[int, int] | None:
    """(width, height) from the image's header (keyed by mtime and size: an edited image is re-read)."""
    try:
        width, height = imagesize.get(path)
    except (OSError, ValueError):
        return None
    return (int(width), int(height)) if width > 0 and height > 0 else None


def _by_bytes(body: bytes, prefix: str = "search-") -> str:
    """A site file's revision from its bytes (``koho.delivery.by_bytes``), a search file's by default."""
    return by_bytes(body, prefix)


def _bundle_type(name: str) -> str:
    """MIME type of a Pagefind bundle file (its index chunks are binary)."""
    if name.endswith(".js"):
        return "text/javascript; charset=utf-8"
    if name.endswith(".json"):
        return "application/json"
    return "application/octet-stream"


def _files_of(article: Article) -> list[str]:
    """The media files an article's page shows or links: its images, a press release's PDFs."""
    files = [image.src for image in article.images]
    if article.press is not None:
        files += [a.src for a in article.press.attachments]
    return files


def _image_type(src: str) -> str:
    suffix = src.rsplit(".", 1)[-1].lower()
    return {
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "gif": "image/gif",
        "webp": "image/webp",
        "svg": "image/svg+xml",
        "pdf": "application/pdf",
    }.get(suffix, "application/octet-stream")
