"""The article as readable plain text, for the mail's text/plain part.

Rendered from the article's sanitised HTML (``koho.markup``), the same tree the HTML part shows,
so both parts say the same thing and no Markdown syntax (``##``, ``**``, ``[text](url)``,
``| a | b |``) reaches a reader. Headings are set off (【見出し】 in Japanese; each language's
mark comes from the word catalogs), lists keep their bullets and numbers, a link becomes
``text [1]`` with ``[1] https://…`` listed after the text, an image its alt text
(``［画像：…］``), a table one record per row (``列名：値``); lines are wrapped by ``wrap``.

html2text and inscriptis were the libraries for this; html2text writes Markdown (what this is
meant to remove) and neither wraps by East Asian width at phrase boundaries nor lets the words
around an image or a heading come from koho's catalogs, so the walk over the tree is written here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urljoin

import lxml.html
from lxml.html import HtmlElement

from channels.mail.words import MailWords
from channels.mail.wrap import width, wrap
from koho.site import Site

_BLOCKS = {
    "p", "div", "blockquote", "pre", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody",
    "tfoot", "tr", "td", "th", "caption", "figure", "figcaption", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
}  # fmt: skip
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
#: Whitespace the HTML would collapse; a source line break between two wide characters is none
#: (Japanese has no spaces between words, so joining two lines must not add one).
_WIDE = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_JOINED = re.compile(f"(?<=[{_WIDE}])[ \t\r]*\n[ \t\r\n]*(?=[{_WIDE}])")
_COLLAPSE = re.compile(r"[ \t\r\n]+")
#: Bullets per language: the Japanese 中黒 where it is the custom, a bullet elsewhere.
_BULLETS = {"ja": "・"}


def absolute(html: str, site: Site, page_url: str) -> str:
    """``html`` with every link and image absolute: a mail is read away from the site, where a
    relative address leads nowhere. Images of ``content/media`` are where the site publishes
    them (``Site.media_url``), other relative links resolve against the article's page."""
    if "href=" not in html and "src=" not in html:
        return html
    root = lxml.html.fragment_fromstring(html, create_parent="div")

    def resolve(link: str) -> str:
        if link.startswith("#") or "://" in link or link.startswith(("mailto:", "tel:")):
            return link
        return site.media_url(link) if link.startswith("media/") else urljoin(page_url, link)

    root.rewrite_links(resolve, resolve_base_href=False)
    inner = (root.text or "") + "".join(lxml.html.tostring(child, encoding="unicode") for child in root)
    return inner


class PlainText:
    """One mail's plain text, built block by block; the links it met are numbered once per mail
    (the summary, the images and the body share one list)."""

    def __init__(self, language: str, words: MailWords) -> None:
        self.language = language
        self.words = words
        self.lines: list[str] = []
        self.links: list[str] = []
        bullet = _BULLETS.get(language, "•")
        self._mark = bullet if width(bullet) == 2 else bullet + " "  # a full-width 中黒 needs no space

    def paragraph(self, text: str, first: str = "", rest: str = "", tight: bool = False) -> None:
        """A paragraph of inline text (already plain), wrapped, after a blank line unless ``tight``."""
        if not text.strip():
            return
        if not tight:
            self._gap()
        self.lines += wrap(text.strip(), self.language, first, rest)

    def image(self, alt: str, caption: str = "") -> None:
        """An image as its description, and its caption under it."""
        self.paragraph(self.words.image.format(alt=alt))
        self.paragraph(caption, tight=True)

    def html(self, html: str) -> None:
        """The article's (sanitised, absolute) HTML as text."""
        root = lxml.html.fragment_fromstring(html, create_parent="div")
        self._flow(root, "", "", tight=False)

    def footnotes(self) -> None:
        """The addresses of the links, numbered as in the text: ``[1] https://…``, never wrapped."""
        if self.links:
            self._gap()
            self.lines += [f"[{n}] {url}" for n, url in enumerate(self.links, 1)]

    def text(self) -> str:
        """Everything so far, one string with a final newline."""
        return "\n".join(self.lines).strip("\n") + "\n"

    def _gap(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    # -- blocks --------------------------------------------------------------------------------

    def _flow(self, element: HtmlElement, first: str, rest: str, tight: bool) -> None:
        """The children of a block: runs of inline content become paragraphs, block children are
        rendered in turn. ``first`` starts the first line written (a list item's bullet)."""
        run: list[str] = [element.text or ""]
        for child in element:
            if child.tag in _BLOCKS:
                self._flush(run, first, rest, tight)
                if "".join(run).strip():
                    first = rest
                self._block(child, first, rest, tight)
                first, run = rest, []
            else:
                run.append(self._inline(child))
            run.append(child.tail or "")
        self._flush(run, first, rest, tight)

    def _flush(self, run: list[str], first: str, rest: str, tight: bool) -> None:
        self.paragraph(_normal("".join(run)), first, rest, tight)

    def _block(self, element: HtmlElement, first: str, rest: str, tight: bool) -> None:
        tag = element.tag
        if tag in _HEADINGS:
            heading = _normal(self._inline_all(element))
            self.paragraph(self.words.heading.format(heading=heading) if tag in ("h1", "h2") else f"◆ {heading}")
            self._gap()
        elif tag in ("ul", "ol"):
            self._list(element, rest, tight)
        elif tag == "table":
            self._table(element, rest)
        elif tag == "pre":
            self._gap()  # code keeps its lines as written: wrapping it would change it
            self.lines += [rest + line for line in (element.text_content() or "").rstrip("\n").split("\n")]
        elif tag == "hr":
            self._gap()
            self.lines.append(rest + "─" * 30)
        elif tag in ("blockquote", "dd"):
            self._flow(element, rest + "  ", rest + "  ", tight=tag == "dd")
        else:  # p, div, figure, dt and the like: their content in place
            self._flow(element, first, rest, tight=tight)

    def _list(self, element: HtmlElement, indent: str, tight: bool) -> None:
        if not tight:
            self._gap()
        footnotes = element.getparent() is not None and element.getparent().get("class") == "footnote"
        start = int(element.get("start") or 1) if (element.get("start") or "1").isdigit() else 1
        for n, item in enumerate((c for c in element if c.tag == "li"), start):
            if element.tag == "ol":
                mark = f"*{n} " if footnotes else f"{n}. "
            else:
                mark = self._mark
            self._flow(item, indent + mark, indent + " " * width(mark), tight=True)

    def _table(self, table: HtmlElement, indent: str) -> None:
        """One record per row: the first cell after a bullet, each cell after its column's name."""
        rows = list(table.iter("tr"))
        head = [_normal(self._inline_all(c)) for c in rows[0]] if rows and all(c.tag == "th" for c in rows[0]) else []
        self._gap()
        for caption in table.iter("caption"):
            self.paragraph(_normal(self._inline_all(caption)), indent, indent, tight=True)
        mark = self._mark
        for row in rows[1:] if head else rows:
            for n, cell in enumerate(c for c in row if c.tag in ("td", "th")):
                value = _normal(self._inline_all(cell))
                label = head[n] if n < len(head) and head[n] else ""
                text = self.words.label_value.format(label=label, value=value) if label else value
                first = indent + (mark if n == 0 else " " * width(mark))
                self.paragraph(text, first, indent + " " * width(mark), tight=True)

    # -- inline --------------------------------------------------------------------------------

    def _inline_all(self, element: HtmlElement) -> str:
        """All of an element's content as one line of text (a heading, a table cell)."""
        return (element.text or "") + "".join(self._inline(child) + (child.tail or "") for child in element)

    def _inline(self, element: HtmlElement) -> str:
        tag = element.tag
        if not isinstance(tag, str) or tag in ("rp", "script", "style"):
            return ""  # comments; the parentheses a ruby-less reader shows are added below
        if tag == "br":
            return "\n"
        if tag == "img":
            alt = (element.get("alt") or "").strip()
            return self.words.image.format(alt=alt) if alt else ""
        if tag == "rt":
            return "（" + str(element.text_content()) + "）"
        inner = self._inline_all(element)
        if tag == "a":
            return self._link(inner, element.get("href") or "")
        if tag == "sup" and element.get("id", "").startswith("fnref"):
            return f"*{inner.strip()}"  # a footnote's mark, "*1" as in its list (not "[1]": a link's)
        if tag in _BLOCKS:  # a block where only inline content was expected: keep its text
            return " " + inner + " "
        return inner

    def _link(self, text: str, href: str) -> str:
        if href.startswith("#"):
            return "" if href.startswith("#fnref") else text  # the way back from a footnote: none in a mail
        if not href:
            return text
        shown = href.removeprefix("mailto:").removeprefix("tel:")
        if _COLLAPSE.sub("", text) in (href, shown) or not text.strip():
            return shown  # the address is the text: say it once
        if href not in self.links:
            self.links.append(href)
        return f"{text} [{self.links.index(href) + 1}]"


def _normal(text: str) -> str:
    """Whitespace as HTML collapses it (kept: line breaks from ``<br>``, as newlines)."""
    parts = [_COLLAPSE.sub(" ", _JOINED.sub("", part)) for part in text.split("\n")]
    return "\n".join(part.strip(" ") for part in parts)


def article_text(html: str, images: Iterable[tuple[str, str]], language: str, words: MailWords) -> str:
    """An article's body as plain text: its images (alt text and caption) first, as the archive
    shows them, then the body, then the addresses of its links."""
    out = PlainText(language, words)
    for alt, caption in images:
        out.image(alt, caption)
    out.html(html)
    out.footnotes()
    return out.text()


def wrapped(text: str, language: str, first: str = "", rest: str = "") -> str:
    """A line the templates write around the article (the title, the summary, a notice), wrapped."""
    return "\n".join(wrap(_normal(text), language, first, rest))
