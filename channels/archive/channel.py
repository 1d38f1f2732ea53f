"""The archive channel: plans the pages an article touches, writes changed bytes to a store."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from koho.article import Article
from koho.channel import Limits, PlanContext
from koho.delivery import Delivery
from koho.ledger import SITE_ID
from koho.storage import StoreChannel

from channels.archive.pages import FURNITURE, Renderer, SiteIndex, known_page, media_target, unique



class ArchiveChannel(StoreChannel):
    """Bulletin archive as a static site: home, article, issue, topic and year pages, sitemap."""

    name: ClassVar[str] = "archive"
    limits: ClassVar[Limits] = Limits(title_max=120, overflow="reject", batch_size=500)

    def __init__(self, url: str, content_dir: Path, base_dir: Path | None = None):
        super().__init__(url, base_dir)
        self.content_dir = content_dir

    def plan(self, article: Article, ctx: PlanContext) -> list[Delivery]:
        """The article's page and every listing it appears (or appeared) on."""
        if article.withdrawn and not ctx.previous_targets and article.id not in ctx.published:
            return []  # never published here: nothing to take down
        index = SiteIndex(ctx.site, ctx.live, ctx.updated)
        renderer = Renderer(index, extra={article.id: article} if article.withdrawn else None)
        pages = index.pages_showing(article)
        if article.withdrawn:
            pages = [f"articles/{article.id}/index.html", "index.html", "sitemap.xml"] + pages
        pages += [p for p in sorted(ctx.previous_targets) if known_page(p)]
        if ctx.channel_is_empty():
            pages += FURNITURE
        deliveries = [self._page(renderer, article, page) for page in unique(pages)]
        if not article.withdrawn:
            deliveries += [self._media(article, image.src) for image in article.images]
        return deliveries

    def plan_all(self, ctx: PlanContext, build_id: str) -> list[Delivery]:
        """A full build: every page and image of the live site (``koho build``)."""
        index = SiteIndex(ctx.site, ctx.live, ctx.updated)
        renderer = Renderer(index)
        out = [Delivery(self.name, page, SITE_ID, build_id, ctx.site.language, renderer.render(page),
                        renderer.content_type(page)) for page in index.all_pages()]
        seen = set()
        for article in index.articles:
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

