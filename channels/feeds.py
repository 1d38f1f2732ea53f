"""RSS 2.0 and Atom feeds (feedgen), site-wide and per topic, with full sanitised HTML content;
one site-wide pair per translated edition (``feeds/en/atom.xml``).

Entry ids are tag URIs fixed at first publication, so a revised article keeps its id and only its
``updated`` time moves; feed bytes depend only on the live articles, so re-runs write nothing.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import ClassVar

from feedgen.feed import FeedGenerator
from lxml import etree

from channels.common.words import correction_label
from koho.article import Article
from koho.channel import Limits, PlanContext, Rebuildable
from koho.delivery import Delivery
from koho.i18n import LANGUAGES, tag, words
from koho.ledger import SITE_ID
from koho.site import Site
from koho.storage import StoreChannel

FORMATS = ("atom", "rss")
#: The scope of the press releases' feeds (``feeds/press/atom.xml``): only releases past their
#: embargo are live, so the feed never tells the public before the media may (ADR 0035).
PRESS = "_press"


def feed_path(topic: str | None, fmt: str, language: str | None = None) -> str:
    """Output path of a feed: ``feeds/atom.xml``, ``feeds/topics/bousai/rss.xml`` or, for a
    translated edition (which has no topic feeds: topic names are not translated), ``feeds/en/atom.xml``."""
    if language:
        return f"feeds/{language}/{fmt}.xml"
    if topic == PRESS:
        return f"feeds/press/{fmt}.xml"
    return f"feeds/{fmt}.xml" if topic is None else f"feeds/topics/{topic}/{fmt}.xml"


def entry_id(article: Article, site: Site) -> str:
    """RFC 4151 tag URI: stable across revisions and across a change of the site's URL path
    (``…:en/articles/x`` for the English version: each version is its own entry)."""
    path = site.article_path(article.id, article.language).rstrip("/")
    return f"tag:{site.host},{article.publish_at.date().isoformat()}:{path}"


class FeedsChannel(StoreChannel, Rebuildable):
    """Atom and RSS feeds written next to the archive (or to their own store)."""

    name: ClassVar[str] = "feeds"
    limits: ClassVar[Limits] = Limits(batch_size=200, languages=LANGUAGES)

    def plan(self, article: Article, ctx: PlanContext) -> list[Delivery]:
        """The site-wide feeds and the feeds of the article's topics (and of topics it left);
        for a translation, the feeds of its language."""
        if article.withdrawn and not ctx.previous_targets and article.id not in ctx.published:
            return []
        if article.language != ctx.site.language:
            lang = article.language
            return [
                Delivery(
                    self.name,
                    feed_path(None, fmt, lang),
                    article.id,
                    article.revision,
                    lang,
                    self.render(ctx, None, fmt, lang),
                    _TYPES[fmt],
                )
                for fmt in FORMATS
            ]
        scopes: list[str | None] = [None, *article.topics]
        if article.press is not None:
            scopes.append(PRESS)
        for target in sorted(ctx.previous_targets):
            parts = target.split("/")
            if target.startswith("feeds/press/"):
                scopes.append(PRESS)
            elif len(parts) == 4 and parts[1] == "topics" and parts[2] in ctx.site.topics:
                scopes.append(parts[2])
        out = []
        for scope in dict.fromkeys(scopes):
            for fmt in FORMATS:
                out.append(
                    Delivery(
                        self.name,
                        feed_path(scope, fmt),
                        article.id,
                        article.revision,
                        article.language,
                        self.render(ctx, scope, fmt),
                        _TYPES[fmt],
                    )
                )
        return out

    def plan_all(self, ctx: PlanContext, build_id: str) -> list[Delivery]:
        """Every feed of the site, in every language that has live articles."""
        out = [
            Delivery(
                self.name,
                feed_path(scope, fmt),
                SITE_ID,
                build_id,
                ctx.site.language,
                self.render(ctx, scope, fmt),
                _TYPES[fmt],
            )
            for scope in (None, *ctx.site.topics, *_press_scope(ctx))
            for fmt in FORMATS
        ]
        present = {a.language for a in ctx.live.values()} - {ctx.site.language}
        out += [
            Delivery(
                self.name,
                feed_path(None, fmt, lang),
                SITE_ID,
                build_id,
                lang,
                self.render(ctx, None, fmt, lang),
                _TYPES[fmt],
            )
            for lang in sorted(present, key=_order)
            for fmt in FORMATS
        ]
        return out

    def render(self, ctx: PlanContext, topic: str | None, fmt: str, language: str | None = None) -> bytes:
        """Bytes of one feed: the newest live articles of its language in scope, newest first."""
        site = ctx.site
        lang = language or site.language
        edition = None if lang == site.language else lang  # the original's feeds keep their paths
        articles = sorted(
            (a for a in ctx.live.values() if a.language == lang and _in_scope(a, topic)),
            key=lambda a: (a.publish_at, a.id),
            reverse=True,
        )[: site.feed_entries]
        updated = {a.id: ctx.updated.get(a.id, a.publish_at) for a in articles}
        name = site.name_in(lang)
        title = name if topic is None else f"{name}：{_scope_name(topic, site)}"
        page = site.url(f"{edition}/" if edition else "" if topic is None else _scope_page(topic))
        fg = FeedGenerator()
        fg.id(site.url(feed_path(topic, "atom", edition)))
        fg.title(title)
        fg.subtitle((site.description if not edition else "") or title)
        fg.link(href=site.url(feed_path(topic, fmt, edition)), rel="self")
        # feedgen takes RSS's channel <link> from the last link given: the website, not the feed.
        fg.link(href=page, rel="alternate")
        fg.language(tag(lang))
        fg.author(name=site.publisher or site.name)
        fg.generator("koho")
        # A fixed time, not "now": feed bytes must not change when nothing was published.
        stamp = max(updated.values(), default=_EPOCH)
        fg.updated(stamp)
        fg.lastBuildDate(stamp)
        for article in reversed(articles):  # feedgen prepends entries; keep newest first
            self._entry(fg, article, updated[article.id], site)
        if fmt == "rss":
            return bytes(fg.rss_str(pretty=True))  # RSS names no author without an e-mail address
        if not edition:
            return bytes(fg.atom_str(pretty=True))
        # A translated feed's publisher is still a Japanese name: Atom can say so (xml:lang),
        # so screen readers and feed readers speak it in Japanese.
        feed, doc = fg._create_atom()
        for author in (child for child in feed if etree.QName(child).localname == "author"):
            author.set("{http://www.w3.org/XML/1998/namespace}lang", tag(site.language))
        return etree.tostring(doc, pretty_print=True, encoding="UTF-8", xml_declaration=True)

    @staticmethod
    def _entry(fg: FeedGenerator, article: Article, updated: datetime, site: Site) -> None:
        link = site.article_url(article.id, article.language)
        entry = fg.add_entry()
        entry.id(entry_id(article, site))
        entry.guid(entry_id(article, site), permalink=False)
        entry.title(article.title)
        entry.link(href=link, rel="alternate")
        entry.published(article.publish_at)
        entry.updated(updated)
        label = correction_label(article.language)
        if article.summary or article.change_note:
            text = f"{label}{article.change_note} {article.summary}".strip() if article.change_note else article.summary
            # Summary and change note are plain text: Atom says so (type text). RSS readers render
            # <description> as HTML, so there it is HTML-escaped before feedgen XML-escapes it
            # (escaping once for XML only left markup live in every RSS reader). description()
            # also sets Atom's content, which entry.content() below replaces.
            entry.summary(text)
            entry.description(escape(text, quote=False))
        labels = site.topics_in(article.language)  # site.yaml's names in the entry's language
        for topic in article.topics:
            entry.category(term=topic, label=labels.get(topic, topic))
        entry.content(_content_html(article, site), type="html")


def _press_scope(ctx: PlanContext) -> list[str]:
    """The press feeds' scope when the site has a live press release (a full build)."""
    return [PRESS] if any(a.press is not None for a in ctx.live.values()) else []


def _in_scope(article: Article, scope: str | None) -> bool:
    if scope == PRESS:
        return article.press is not None
    return scope is None or scope in article.topics


def _scope_name(scope: str, site: Site) -> str:
    return words(site.language).press_index if scope == PRESS else site.topics.get(scope, scope)


def _scope_page(scope: str) -> str:
    return "press/" if scope == PRESS else f"topics/{scope}/"


def _content_html(article: Article, site: Site) -> str:
    # Feed readers resolve nothing relative to the article page, so images get absolute URLs.
    images = "".join(
        f'<figure><img src="{escape(site.media_url(i.src))}" alt="{escape(i.alt)}"></figure>' for i in article.images
    )
    t = words(article.language)
    # A correction is news too: feed readers show it first, as the archive page does.
    note = (
        f"<p><strong>{escape(t.change_note)}</strong>　{escape(article.change_note)}</p>" if article.change_note else ""
    )
    machine = ""
    if article.translation is not None and article.translation.machine:
        # A reader of the feed never sees the page's notice: the entry says it itself.
        original = site.article_url(article.id)
        machine = (
            f'<p class="machine-translation"><em>{escape(t.machine)}</em> '
            f'<a href="{escape(original)}" hreflang="ja">{escape(t.original)}</a></p>'
        )
    return machine + note + images + article.html


def _order(language: str) -> tuple[int, str]:
    return (LANGUAGES.index(language) if language in LANGUAGES else len(LANGUAGES), language)


_TYPES = {"atom": "application/atom+xml; charset=utf-8", "rss": "application/rss+xml; charset=utf-8"}
_EPOCH = datetime.fromisoformat("2000-01-01T00:00:00+09:00")
