"""Markdown to safe HTML: python-markdown renders, nh3 (Ammonia) sanitises with an allow-list.

The same HTML goes to the archive, the feeds and later mail and e-books, so it is sanitised once,
here, and nothing downstream has to trust the author's raw HTML.
"""

from __future__ import annotations

import re
import threading
from html.parser import HTMLParser

import markdown
import nh3

_EXTENSIONS = ["tables", "fenced_code", "sane_lists", "footnotes", "def_list", "abbr"]

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "ruby",
    "rp",
    "rt",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan", "align", "style"},
    "th": {"colspan", "rowspan", "align", "scope", "style"},
    "time": {"datetime"},
    "ol": {"start"},
    "li": {"id"},
    "sup": {"id"},
    "div": {"class"},
    "*": {"lang", "dir"},
}
# No javascript:, data: or vbscript: URLs; relative URLs pass (they point inside the site).
URL_SCHEMES = {"http", "https", "mailto", "tel"}
_STYLE_PROPERTIES = {"text-align"}


def sanitize(html: str) -> str:
    """Clean arbitrary HTML to the allow-list; hrefless links lose their ``<a>``."""
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        filter_style_properties=_STYLE_PROPERTIES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return _unwrap_hrefless_links(cleaned) if "<a" in cleaned else cleaned


class _HreflessLinks(HTMLParser):
    """Finds the source offsets of ``<a>`` start and end tags of links without an href.

    nh3 keeps an ``<a>`` whose href it removed (``javascript:``); such a link keeps only its
    text. A parser, not a pattern: a pattern for ``<a`` also matched ``<abbr`` and paired a start
    tag with the wrong end tag, so one link swallowed the rest of the page.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cuts: list[tuple[int, int]] = []  # (offset, length) of tags to remove
        self._open: list[bool] = []  # per open <a>: does it lose its tags?
        self._lines: list[int] = []

    def offsets(self, html: str) -> list[tuple[int, int]]:
        self._lines = [0]
        for line in html.split("\n")[:-1]:
            self._lines.append(self._lines[-1] + len(line) + 1)
        self.feed(html)
        self.close()
        return self.cuts

    def _here(self) -> int:
        line, col = self.getpos()
        return self._lines[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            drop = not any(name == "href" for name, _ in attrs)
            self._open.append(drop)
            if drop:
                # Called while the parser stands on a start tag: its text is there.
                self.cuts.append((self._here(), len(self.get_starttag_text() or "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open and self._open.pop():
            self.cuts.append((self._here(), len("</a>")))


def _unwrap_hrefless_links(html: str) -> str:
    # nh3 output is html5ever-serialised: no nested <a>, end tags written exactly "</a>".
    cuts = _HreflessLinks().offsets(html)
    for start, length in sorted(cuts, reverse=True):
        html = html[:start] + html[start + length :]
    return html


_local = threading.local()


def render_markdown(source: str) -> str:
    """Render an article body to sanitised HTML."""
    # Building a Markdown instance costs about a third of a conversion; one per thread is
    # reused, and reset() clears the footnote/abbr state it carries between documents.
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = markdown.Markdown(extensions=_EXTENSIONS, output_format="html")
    html = md.reset().convert(source)
    return sanitize(html)


#: Patterns that the sanitiser would silently remove; ``koho check`` reports them instead.
UNSAFE_PATTERNS = [
    (re.compile(r"<\s*script\b", re.I), "<script> is not allowed and would be removed"),
    (re.compile(r"<\s*(iframe|object|embed|form|style)\b", re.I), "<{0}> is not allowed and would be removed"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attributes (on...=) are not allowed"),
    (
        re.compile(r"(?:javascript|vbscript|data)\s*:", re.I),
        "{0} URLs are not allowed; the link would lose its address",
    ),
]


_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]*)")
_ANY_PROBLEM = re.compile("|".join([p.pattern for p, _ in UNSAFE_PATTERNS] + [r"!\["]), re.I)


def lint_body(body: str, first_line: int) -> list[tuple[int, str, str]]:
    """Find Markdown problems: unsafe HTML and images without alt text, as (line, field, message)."""
    if not _ANY_PROBLEM.search(body):
        return []  # the common case: one scan of the whole body instead of five per line
    problems: list[tuple[int, str, str]] = []
    in_fence = False
    for offset, text in enumerate(body.split("\n")):
        line = first_line + offset
        if text.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        if in_fence:
            continue
        for pattern, message in UNSAFE_PATTERNS:
            match = pattern.search(text)
            if match:
                problems.append((line, "body", message.format(*(match.groups() or (match.group(0).strip(" :="),)))))
        for match in _IMAGE.finditer(text):
            if not match.group(1).strip():
                problems.append(
                    (line, "body", f"image {match.group(2)!r} has no alt text; describe it for screen readers")
                )
    return problems
