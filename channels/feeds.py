"""RSS 2.0 and Atom feeds (feedgen), site-wide and per topic, with full sanitised HTML content.

Entry ids are tag URIs fixed at first publication, so a revised article keeps its id and only its
``updated`` time moves; feed bytes depend only on the live articles, so re-runs write nothing.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import ClassVar

from feedgen.feed import FeedGenerator

from koho.article import Article
from koho.channel import Limits, PlanContext
from koho.delivery import Delivery
from koho.ledger import SITE_ID
from koho.storage import StoreChannel

FORMATS = ("atom", "rss")


def feed_path(topic: str | None, fmt: str) -> str:
    """Output path of a feed: ``feeds/atom.xml`` or ``feeds/topics/bousai/rss.xml``."""
    return f"feeds/{fmt}.xml" if topic is None else f"feeds/topics/{topic}/{fmt}.xml"


def entry_id(article: Article, host: str) -> str:
    """RFC 4151 tag URI: stable across revisions and across a change of the site's URL path."""
    return f"tag:{host},{article.publish_at.date().isoformat()}:articles/{article.id}"


class FeedsChannel(StoreChannel):
    """Atom and RSS feeds written next to the archive (or to their own store)."""

    name: ClassVar[str] = "feeds"
    limits: ClassVar[Limits] = Limits(title_max=120, overflow="reject", batch_size=200)

    def plan(self, article: Article, ctx: PlanContext) -> list[Delivery]:
        """The site-wide feeds and the feeds of the article's topics (and of topics it left)."""
        if article.withdrawn and not ctx.previous_targets and article.id not in ctx.published:
            return []
        scopes: list[str | None] = [None, *article.topics]
        for target in sorted(ctx.previous_targets):
            parts = target.split("/")
            if len(parts) == 4 and parts[1] == "topics" and parts[2] in ctx.site.topics:
                scopes.append(parts[2])
        out = []
        for scope in dict.fromkeys(scopes):
            for fmt in FORMATS:
                out.append(Delivery(self.name, feed_path(scope, fmt), article.id, article.revision,
                                    article.language, self.render(ctx, scope, fmt), _TYPES[fmt]))
        return out

    def plan_all(self, ctx: PlanContext, build_id: str) -> list[Delivery]:
        """Every feed of the site."""
        return [Delivery(self.name, feed_path(scope, fmt), SITE_ID, build_id, ctx.site.language,
                         self.render(ctx, scope, fmt), _TYPES[fmt])
                for scope in (None, *ctx.site.topics) for fmt in FORMATS]

    def render(self, ctx: PlanContext, topic: str | None, fmt: str) -> bytes:
        """Bytes of one feed: the newest live articles in scope, newest first."""
        site = ctx.site
        articles = sorted((a for a in ctx.live.values() if topic is None or topic in a.topics),
                          key=lambda a: (a.publish_at, a.id), reverse=True)[: site.feed_entries]
        updated = {a.id: ctx.updated.get(a.id, a.publish_at) for a in articles}
        title = site.name if topic is None else f"{site.name}：{site.topics.get(topic, topic)}"
        page = site.url("" if topic is None else f"topics/{topic}/")
        fg = FeedGenerator()
        fg.id(site.url(feed_path(topic, "atom")))
        fg.title(title)
        fg.subtitle(site.description or title)
        fg.link(href=page, rel="alternate")
        fg.link(href=site.url(feed_path(topic, fmt)), rel="self")
        fg.language(site.language)
        fg.author(name=site.publisher or site.name)
        fg.generator("koho")
        # A fixed time, not "now": feed bytes must not change when nothing was published.
        stamp = max(updated.values(), default=_EPOCH)
        fg.updated(stamp)
        fg.lastBuildDate(stamp)
        for article in reversed(articles):  # feedgen prepends entries; keep newest first
            self._entry(fg, article, updated[article.id], site)
        return fg.atom_str(pretty=True) if fmt == "atom" else fg.rss_str(pretty=True)

    @staticmethod
    def _entry(fg: FeedGenerator, article: Article, updated: datetime, site) -> None:
        link = site.url(f"articles/{article.id}/")
        entry = fg.add_entry()
        entry.id(entry_id(article, site.host))
        entry.guid(entry_id(article, site.host), permalink=False)
        entry.title(article.title)
        entry.link(href=link, rel="alternate")
        entry.published(article.publish_at)
        entry.updated(updated)
        if article.summary or article.change_note:
            entry.summary(f"【訂正・変更】{article.change_note} {article.summary}".strip()
                          if article.change_note else article.summary)
        for topic in article.topics:
            entry.category(term=topic, label=site.topics.get(topic, topic))
        entry.content(_content_html(article, site), type="html")


def _content_html(article: Article, site) -> str:
    # Feed readers resolve nothing relative to the article page, so images get absolute URLs.
    images = "".join(
        f'<figure><img src="{escape(site.url("media/" + i.src.removeprefix("media/")))}" alt="{escape(i.alt)}"></figure>'
        for i in article.images)
    # A correction is news too: feed readers show it first, as the archive page does.
    note = f"<p><strong>訂正・変更</strong>　{escape(article.change_note)}</p>" if article.change_note else ""
    return note + images + article.html


_TYPES = {"atom": "application/atom+xml; charset=utf-8", "rss": "application/rss+xml; charset=utf-8"}
_EPOCH = datetime.fromisoformat("2000-01-01T00:00:00+09:00")
