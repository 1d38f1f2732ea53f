"""The archive channel: plans the pages an article touches, writes changed bytes to a store."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from koho.article import Article
from koho.channel import Limits, PlanContext
from koho.delivery import Delivery
from koho.i18n import LANGUAGES
from koho.ledger import SITE_ID
from koho.storage import StoreChannel

from channels.archive.pages import FURNITURE, Editions, in_language, media_target, unique
from channels.archive.render import Renderer


class ArchiveChannel(StoreChannel):
    """Bulletin archive as a static site: home, article, issue, topic and year pages, sitemap;
    translated editions under a language prefix (``en/``), linked to each other by language."""

    name: ClassVar[str] = "archive"
    limits: ClassVar[Limits] = Limits(title_max=120, overflow="reject", batch_size=500, languages=LANGUAGES)

    def __init__(self, url: str, content_dir: Path, base_dir: Path | None = None, ebooks: bool = False):
        super().__init__(url, base_dir)
        self.content_dir = content_dir
        #: Issue pages link to their e-book editions (set when the ``ebook`` channel is on).
        self.ebooks = ebooks

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
        renderer = Renderer(editions, extra=[article] if article.withdrawn else (), ebooks=self.ebooks)
        index = editions.index(article.language)
        pages = index.pages_showing(article)
        if article.withdrawn:
            pages = [in_language(article.language, p, ctx.site.language) for p in
                     (f"articles/{article.id}/index.html", "index.html")] + ["sitemap.xml"] + pages
        pages += editions.siblings(article)
        pages += [p for p in sorted(ctx.previous_targets) if editions.can_render(p)]
        if ctx.channel_is_empty():
            pages += FURNITURE
        pages = [p for p in unique(pages) if editions.in_view(p, article.language)]
        deliveries = [self._page(renderer, article, page) for page in pages]
        if not article.withdrawn:
            deliveries += [self._media(article, image.src) for image in article.images]
        return deliveries

    def plan_all(self, ctx: PlanContext, build_id: str) -> list[Delivery]:
        """A full build: every page and image of the live site, in every language (``koho build``)."""
        editions = Editions(ctx.site, ctx.live, ctx.updated)
        renderer = Renderer(editions, ebooks=self.ebooks)
        out = [Delivery(self.name, page, SITE_ID, build_id, ctx.site.language, renderer.render(page),
                        renderer.content_type(page)) for page in editions.all_pages()]
        seen = set()
        for article in editions.source.articles:  # translations show the original's images
            for image in article.images:
                if image.src not in seen:
                    seen.add(image.src)
                    out.append(Delivery(self.name, media_target(image.src), SITE_ID, build_id, None,
                                        self.content_dir / image.src, _image_type(image.src)))
        return out

    def _page(self, renderer: Renderer, article: Article, page: str) -> Delivery:
        return Delivery(self.name, page, article.id, article.revision, article.language,
                        renderer.render(page), renderer.content_type(page))

    def _media(self, article: Article, src: str) -> Delivery:
        return Delivery(self.name, media_target(src), article.id, article.revision, None,
                        self.content_dir / src, _image_type(src))


def _image_type(src: str) -> str:
    suffix = src.rsplit(".", 1)[-1].lower()
    return {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
            "webp": "image/webp", "svg": "image/svg+xml"}.get(suffix, "application/octet-stream")
