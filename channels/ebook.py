"""E-book editions: one EPUB 3 per 区報 issue and language, written to the archive's store.

The ward publishes each bulletin issue as an e-book in Japanese and, machine-translated, in eight
more languages. ``plan_issue`` is called once per language edition of an issue (a
``BulletinIssue`` of translated articles for a translation) and plans one file,
``ebooks/2026-11-01/kuho-2026-11-01-en.epub``, linked from the archive's issue page.

The bytes depend only on the issue's articles and times: fixed zip timestamps, an identifier
derived from the issue and language, ``dcterms:modified`` from the articles' own times. So
re-planning an unchanged issue gives the same bytes and the store writes nothing.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import UTC, date, datetime
from html import escape
from pathlib import PurePosixPath
from typing import ClassVar

from ebooklib import epub
from lxml import etree

from channels.common.editions import IssueEditionChannel
from koho.article import Article
from koho.bulletin import BulletinIssue
from koho.channel import Limits, PlanContext, PlansIssues
from koho.delivery import Delivery
from koho.i18n import LANGUAGES, issue_title, long_date, tag, words
from koho.media import read_media
from koho.site import Site

EPUB_TYPE = "application/epub+zip"
#: The conformance claim of EPUB Accessibility 1.1 (its section on conformance reporting).
A11Y_CONFORMANCE = "EPUB Accessibility 1.1 - WCAG 2.1 Level AA"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}
_CSS = """body { line-height: 1.7; }
h1 { font-size: 1.4em; }
figure { margin: 1em 0; }
img { max-width: 100%; height: auto; }
.lead { font-weight: bold; }
.note { border-left: 4px solid #005a9c; padding-left: .6em; }
.change-note { border-left: 4px solid #b35c00; padding-left: .6em; }
table { border-collapse: collapse; } th, td { border: 1px solid #999; padding: .2em .4em; }
"""


def identifier(site: Site, day: date, language: str) -> str:
    """A stable ``urn:uuid``: the same issue and language always get the same identifier."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, site.ebook_url(day, language)))


class EbookChannel(IssueEditionChannel, PlansIssues[PlanContext]):
    """EPUB 3 editions of each bulletin issue (ebooklib), one per language, in a byte store."""

    name: ClassVar[str] = "ebook"
    limits: ClassVar[Limits] = Limits(batch_size=20, languages=LANGUAGES)

    def plan_issue(self, issue: BulletinIssue, ctx: PlanContext) -> list[Delivery]:
        """The issue's e-book in the issue's language.

        Reads the articles' images from the content folder (as the reader reads articles): the
        EPUB must carry them, and a delivery's bytes are fixed when it is planned.
        """
        if not issue.articles:
            return []
        data = self.build(issue, ctx)
        return [
            Delivery(
                self.name,
                ctx.site.ebook_path(issue.day, issue.language),
                issue.id,
                issue.revision,
                issue.language,
                data,
                EPUB_TYPE,
            )
        ]

    def build(self, issue: BulletinIssue, ctx: PlanContext) -> bytes:
        """The EPUB's bytes."""
        site, lang = ctx.site, issue.language
        t = words(lang)
        title = issue_title(issue.day, lang, site.bulletin_in(lang))
        modified = max([issue.appears_at, *(ctx.updated.get(a.id, a.publish_at) for a in issue.articles)])
        modified = modified.astimezone(UTC)
        machine = any(a.translation is not None and a.translation.machine for a in issue.articles)

        book = epub.EpubBook()
        book.set_identifier(identifier(site, issue.day, lang))
        book.set_title(title)
        book.set_language(tag(lang))
        # The publisher's name is Japanese in every edition: say so, so it is spoken right.
        book.add_metadata("DC", "publisher", site.publisher or site.name, _lang_attr(site.language, lang))
        book.add_metadata("DC", "date", issue.day.isoformat())
        if lang != site.language:
            book.add_metadata("DC", "source", identifier(site, issue.day, site.language))  # the original
        if machine:
            book.add_metadata("DC", "description", t.machine)
        self._accessibility(book, issue, site)
        style = epub.EpubItem(uid="style", file_name="style.css", media_type="text/css", content=_CSS.encode())
        book.add_item(style)

        cover = self._page(
            book, style, lang, "title", "title.xhtml", title, self._title_body(issue, site, title, machine)
        )
        chapters = []
        images: dict[str, str] = {}
        for number, article in enumerate(issue.articles, start=1):
            for image in article.images:
                images.setdefault(image.src, f"media/{PurePosixPath(image.src).name}")
            chapters.append(
                self._page(
                    book,
                    style,
                    lang,
                    f"a{number:02d}",
                    f"a{number:02d}.xhtml",
                    article.title,
                    self._article_body(article, site, images),
                )
            )
        for src, name in images.items():
            book.add_item(
                epub.EpubItem(
                    uid=f"img-{PurePosixPath(name).stem}",
                    file_name=name,
                    media_type=_IMAGE_TYPES.get(PurePosixPath(src).suffix.lower(), "application/octet-stream"),
                    content=read_media(self.content_dir, src),
                )
            )
        # EPUB 3 readers use the nav document; the NCX is for EPUB 2 readers (ebooklib's spine
        # always points at one).
        book.add_item(epub.EpubNcx())
        nav = epub.EpubNav(uid="nav", file_name="nav.xhtml", title=t.contents)
        nav.lang = tag(lang)
        book.add_item(nav)
        book.toc = [
            epub.Link("title.xhtml", title, "toc-title"),
            *(epub.Link(c.file_name, c.title, f"toc-{c.id}") for c in chapters),
        ]
        book.spine = [cover, nav, *chapters]
        raw = io.BytesIO()
        epub.write_epub(
            raw,
            book,
            {
                "mtime": modified,
                "epub2_guide": False,
                "epub3_landmark": False,
                "epub3_pages": False,
                "raise_exceptions": True,
            },
        )
        return _fixed_zip(raw.getvalue(), modified, tag(lang))

    @staticmethod
    def _accessibility(book: epub.EpubBook, issue: BulletinIssue, site: Site) -> None:
        """EPUB Accessibility 1.1 metadata (schema.org properties and the conformance claim), so
        reading systems and stores can tell residents what the book offers before they open it."""
        pictures = any(a.images for a in issue.articles)
        modes = ["textual", *(["visual"] if pictures else [])]
        # Every image has its alt text (the reader requires it), so text alone is enough.
        sufficient = ["textual", *(["textual,visual"] if pictures else [])]
        features = ["structuralNavigation", "tableOfContents", "readingOrder", "displayTransformability"]
        if pictures:
            features.append("alternativeText")
        values = [
            *(("schema:accessMode", m) for m in modes),
            *(("schema:accessModeSufficient", m) for m in sufficient),
            *(("schema:accessibilityFeature", f) for f in features),
            ("schema:accessibilityHazard", "none"),
            ("schema:accessibilitySummary", words(issue.language).a11y_summary),
            ("dcterms:conformsTo", A11Y_CONFORMANCE),
        ]
        for prop, value in values:
            book.add_metadata(None, "meta", value, {"property": prop})
        # Who evaluated the claim (EPUB Accessibility 1.1 asks for it with every conformsTo).
        book.add_metadata(
            None,
            "meta",
            site.publisher or site.name,
            {"property": "a11y:certifiedBy", **_lang_attr(site.language, issue.language)},
        )

    @staticmethod
    def _page(
        book: epub.EpubBook, style: epub.EpubItem, lang: str, uid: str, name: str, title: str, body: str
    ) -> epub.EpubHtml:
        page = epub.EpubHtml(uid=uid, file_name=name, title=title, lang=tag(lang))
        page.content = body
        page.add_item(style)
        book.add_item(page)
        return page

    @staticmethod
    def _title_body(issue: BulletinIssue, site: Site, title: str, machine: bool) -> str:
        lang = issue.language
        t = words(lang)
        online = site.issue_url(issue.day, lang)
        parts = [
            f"<h1>{escape(title)}</h1>",
            f"<p{_lang_html(site.language, lang)}>{escape(site.publisher or site.name)}</p>",
            f'<p><time datetime="{issue.day.isoformat()}">{escape(long_date(issue.day, lang))}</time></p>',
        ]
        if machine:
            original = site.issue_url(issue.day)
            parts.append(
                f'<p class="note">{escape(t.machine)} '
                f'<a href="{escape(original)}" hreflang="ja">{escape(t.original)}</a></p>'
            )
        parts.append(f'<p><a href="{escape(online)}">{escape(online)}</a></p>')
        return "<html><body>" + "\n".join(parts) + "</body></html>"

    @staticmethod
    def _article_body(article: Article, site: Site, images: dict[str, str]) -> str:
        t = words(article.language)
        parts = [f"<h1>{escape(article.title)}</h1>"]
        if article.translation is not None and article.translation.machine:
            # Every translated text says a machine made it, and where its original is.
            original = site.article_url(article.id)
            parts.append(
                f'<p class="note">{escape(t.machine)} '
                f'<a href="{escape(original)}" hreflang="ja">{escape(t.original)}</a></p>'
            )
        if article.change_note:
            parts.append(
                f'<p class="change-note"><strong>{escape(t.change_note)}</strong> {escape(article.change_note)}</p>'
            )
        if article.summary:
            parts.append(f'<p class="lead">{escape(article.summary)}</p>')
        for image in article.images:
            caption = f"<figcaption>{escape(image.caption)}</figcaption>" if image.caption else ""
            parts.append(
                f'<figure><img src="{escape(images[image.src])}" alt="{escape(image.alt)}"/>{caption}</figure>'
            )
        parts.append(article.html)
        return "<html><body>" + "\n".join(parts) + "</body></html>"


def _lang_attr(fragment: str, language: str) -> dict[str, str]:
    """``xml:lang`` for a package metadata value in ``fragment``'s language, when the book's differs."""
    return {} if fragment == language else {_XML_LANG: tag(fragment)}


def _lang_html(fragment: str, language: str) -> str:
    """``lang`` and ``xml:lang`` attributes for an XHTML element in ``fragment``'s language, when
    the page's differs (WCAG 3.1.2: screen readers switch voice there)."""
    if fragment == language:
        return ""
    return f' lang="{tag(fragment)}" xml:lang="{tag(fragment)}"'


def _with_package_lang(opf: bytes, language: str) -> bytes:
    """content.opf with ``xml:lang`` on ``<package>`` (ebooklib sets none): the language of the
    package's own text, such as the accessibility summary (EPUB 3.3, Ace's check)."""
    root = etree.fromstring(opf)
    root.set(_XML_LANG, language)
    return etree.tostring(root, encoding="utf-8", xml_declaration=True, pretty_print=True)


def _fixed_zip(data: bytes, when: datetime, language: str) -> bytes:
    """The same archive with every entry stamped ``when``: ebooklib stamps entries with the clock,
    which would make every re-plan of an unchanged issue a new file. The package document gets
    its ``xml:lang`` on the way."""
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp)
            # mimetype first and stored: the EPUB container's rule (OCF).
            fixed.compress_type = zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            body = src.read(info.filename)
            if info.filename.endswith(".opf"):
                body = _with_package_lang(body, language)
            dst.writestr(fixed, body, compresslevel=9 if fixed.compress_type else None)
    return out.getvalue()
