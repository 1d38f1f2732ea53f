"""One article as an e-mail: rendered once per article, then addressed to each recipient.

Both parts are rendered once, by one pair of Jinja2 templates (``_rendered``): the HTML part
with its CSS inlined (css-inline), because mail clients ignore <style> blocks, its links and
images absolute; the text part as readable plain text (``plaintext``: headings set off, links
as numbered footnotes, images as their alt text, wrapped at phrase or word boundaries), never
the Markdown source. Per recipient only the headers and the footer links change, so fan-out to
tens of thousands costs one small template substitution per message.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, EmailPolicy
from email.utils import format_datetime, make_msgid
from functools import cache, lru_cache
from html import escape
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from channels.mail import body64
from channels.mail.encoded import folded
from channels.mail.plaintext import absolute, article_text, wrapped
from channels.mail.words import mail_words
from koho.article import Article
from koho.bulletin import BulletinIssue
from koho.errors import ConfigError
from koho.i18n import SOURCE_LANGUAGE, issue_title, tag, words
from koho.settings import Settings
from koho.site import Site

_ENV = Environment(
    loader=FileSystemLoader(str(resources.files("channels.mail") / "templates")),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
#: ``{{ text | wrap(lang) }}``: a line of the text templates, wrapped as the article's text is.
_ENV.filters["wrap"] = wrapped
_INLINER = css_inline.CSSInliner(keep_style_tags=False)


#: CRLF line ends; a header set raw (List-Unsubscribe) is written as given, never refolded.
_POLICY = SMTP.clone(refold_source="none")
#: For a recipient whose address is not ASCII (RFC 6532): headers in UTF-8, which only a server
#: offering SMTPUTF8 takes (the transport checks). Encoded words in an address are invalid.
_POLICY_UTF8 = _POLICY.clone(utf8=True)


def envelope_address(address: str) -> str:
    """The address as it is mailed: with an internationalised domain in its ASCII (IDNA) form
    when the part before the @ is ASCII, so every server and SES take it unchanged; otherwise as
    written, which needs SMTPUTF8 (``transports`` refuses it where the server lacks it)."""
    if address.isascii():
        return address
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return address  # not ours to fix here: the server's refusal will say why
    return checked.ascii_email or checked.normalized


@dataclass(frozen=True)
class Identity:
    """Who the list mails as, and where its web pages live."""

    from_name: str
    from_address: str
    list_id: str
    web_url: str  # base of the subscription service: confirm, preferences, unsubscribe

    def link(self, path: str, token: str) -> str:
        """A link into the subscription service."""
        return f"{self.web_url.rstrip('/')}/{path}/{token}"


def identity_for(settings: Settings, site: Site) -> Identity:
    """The list's identity from settings: the mail channel and the web service build it here, so
    links in mails always point where the pages are served."""
    web_url = settings.mail_web_url or site.url("mail/")
    if urlsplit(web_url).scheme not in ("http", "https"):
        raise ConfigError(f"KOHO_MAIL_WEB_URL must be an absolute http(s) URL, not {web_url!r}")
    return Identity(
        settings.mail_from_name,
        settings.mail_from_address or f"info-mail@{site.host}",
        f"info-mail.{site.host}",
        web_url,
    )


def plain_notice(identity: Identity, to: str, subject: str, text: str, when: datetime, language: str = "") -> bytes:
    """A one-part text mail from the list to one person (sign-up confirmations, operators'
    alerts): not a bulk mail, so no list headers; ``Auto-Submitted`` keeps vacation responders
    from answering it."""
    # An address that is not ASCII goes out in UTF-8 headers (SMTPUTF8): encoded words are invalid there.
    message = EmailMessage(policy=SMTP if to.isascii() else SMTP.clone(utf8=True))
    message["Subject"] = subject
    message["From"] = Address(identity.from_name, addr_spec=identity.from_address)
    message["To"] = to
    message["Date"] = format_datetime(when)
    message["Message-ID"] = make_msgid(domain=identity.from_address.rsplit("@", 1)[-1])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    if language:
        message["Content-Language"] = tag(language)  # after: set_content clears Content-* headers
    return message.as_bytes()


@dataclass(frozen=True)
class Recipient:
    """One addressee with the signed tokens for their own links."""

    subscriber_id: int
    address: str
    preferences_token: str
    unsubscribe_token: str


@dataclass(frozen=True)
class Rendered:
    """The parts of an article's mail that are the same for every recipient."""

    subject: str
    text: str
    html: str
    article_url: str
    message_domain: str
    key: str  # article id and revision, for stable Message-IDs
    language: str = "ja"  # the readers' language, which the footer is written in too


def render(article: Article, site: Site, identity: Identity) -> Rendered:
    """Render subject, text and (CSS-inlined) HTML once per article revision and language.

    A translation links to its own page (``en/articles/<id>/``), says it was machine-translated
    with a link to the Japanese page, and speaks the reader's language around the article.
    """
    lang = article.language
    phrases = mail_words(lang)
    url = site.article_url(article.id, lang)
    subject = (phrases.urgent_subject if article.urgent else "") + article.title
    body_html = absolute(article.html, site, url)
    values = dict(
        article=article,
        site=site,
        url=url,
        subject=subject,
        topics=_topic_names(article, site),
        body_html=body_html,
        body_text=article_text(body_html, [(i.alt, i.caption) for i in article.images], lang, phrases),
        images=[dict(src=site.media_url(i.src), alt=i.alt, caption=i.caption) for i in article.images],
    )
    key = f"{article.id}.{article.revision}"
    return _rendered("mail", values, url, identity, key, lang, [article], site.article_url(article.id))


def render_digest(issue: BulletinIssue, articles: Sequence[Article], site: Site, identity: Identity) -> Rendered:
    """The digest of one 区報 issue for readers of some topics: each article's title, summary and
    link, rendered once per distinct selection of articles (not once per recipient). An issue of
    translations is a digest in their language, linking to that edition's pages."""
    lang = issue.language
    phrases = mail_words(lang)
    label = issue_title(issue.day, lang, site.bulletin_in(lang))  # 区報 2026年11月1日号, as issue.label
    subject = phrases.digest_title(label, len(articles))
    items = [dict(article=a, url=site.article_url(a.id, lang), topics=_topic_names(a, site)) for a in articles]
    issue_url = site.issue_url(issue.day, lang)
    values = dict(
        subject=subject,
        items=items,
        issue_url=issue_url,
        all_articles=phrases.digest_all.format(issue=label),
    )
    # The key names the selection, so two readers with different topics get different Message-IDs
    # and the same reader always gets the same one.
    selection = hashlib.sha256("\n".join(f"{a.id}.{a.revision}" for a in articles).encode()).hexdigest()[:12]
    key = f"{issue.id}.{selection}"
    return _rendered("digest", values, issue_url, identity, key, lang, articles, site.issue_url(issue.day))


def _rendered(
    template: str,
    values: dict[str, Any],
    url: str,
    identity: Identity,
    key: str,
    language: str,
    articles: Sequence[Article],
    original_url: str,
) -> Rendered:
    """The text and the CSS-inlined HTML of ``template`` (``<template>.txt`` and ``.html``),
    rendered once from the same values: an article's mail and an issue's digest alike. Both speak
    ``language`` around their ``articles``, and say so when those are machine-translated (linking
    to the Japanese ``original_url``)."""
    values = values | dict(
        words=mail_words(language),
        lang=language,
        language=tag(language),
        machine=_notice(articles, language, original_url),
    )
    text = _ENV.get_template(f"{template}.txt").render(**values)
    html = _INLINER.inline(_ENV.get_template(f"{template}.html").render(**values))
    domain = identity.from_address.rsplit("@", 1)[-1]
    return Rendered(values["subject"], text, html, url, domain, key, language)


def _topic_names(article: Article, site: Site) -> list[str]:
    # Topic names are the Japanese site's only (the archive does not translate them either).
    return [site.topics.get(t, t) for t in article.topics] if article.language == site.language else []


def _notice(articles: Sequence[Article], language: str, original_url: str) -> dict[str, str] | None:
    """The machine-translation notice and the Japanese original's link, when any text needs it."""
    if not any(a.translation is not None and a.translation.machine for a in articles):
        return None
    phrases = words(language)
    return dict(text=phrases.machine, label=phrases.original, url=original_url)


#: The per-recipient footer, in the reader's language (``change``, ``stop`` and ``sep`` are its words).
#: "-- " with its space is the signature separator mail clients know (RFC 3676 4.3): they grey
#: the footer out and leave it out of replies.
FOOTER_TEXT = "\n\n-- \n{list_name}\n{change}: {preferences}\n{stop}: {unsubscribe}\n"
FOOTER_HTML = (
    '<hr><p style="font-size:12px;color:#555555">{list_name}<br>'
    '<a href="{preferences}">{change}</a>{sep}<a href="{unsubscribe}">{stop}</a></p>'
)


@cache
def _footers(language: str) -> tuple[str, str]:
    """The text and HTML footers in ``language``, with only the per-recipient fields left open
    (built once per language, not once per recipient)."""
    phrases = mail_words(language)
    keep = dict(list_name="{list_name}", preferences="{preferences}", unsubscribe="{unsubscribe}")

    def word(text: str) -> str:  # filled again per recipient: a brace in a word stays a brace
        return text.replace("{", "{{").replace("}", "}}")

    # The list's name (ねりま情報メール) stays Japanese in every language: the HTML says so.
    name = "{list_name}" if language == SOURCE_LANGUAGE else f'<span lang="{tag(SOURCE_LANGUAGE)}">{{list_name}}</span>'
    return (
        FOOTER_TEXT.format(**keep, change=word(phrases.preferences), stop=word(phrases.unsubscribe)),
        FOOTER_HTML.format(
            **(keep | {"list_name": name}),
            change=word(escape(phrases.preferences)),
            stop=word(escape(phrases.unsubscribe)),
            sep=word(escape(phrases.separator)),
        ),
    )


def _bodies(rendered: Rendered, identity: Identity, recipient: Recipient) -> tuple[str, str]:
    """The text and HTML bodies with the recipient's footer links."""
    names = _footer_names(identity, recipient)
    text, html = (footer.format(**names) for footer in _footers(rendered.language))
    return rendered.text + text, rendered.html.replace("</body>", html + "</body>", 1)


def address(rendered: Rendered, identity: Identity, recipient: Recipient, when: datetime) -> bytes:
    """The complete message for one recipient, as the bytes an SMTP server or SES receives.

    The email package builds each article's message once, as a skeleton (``_skeleton``); per
    recipient only ASCII values and the two base64 bodies are filled in. Building a whole
    EmailMessage per recipient cost about 4 ms, which made 40,000 recipients 160 s of CPU;
    filling the skeleton costs a few hundredths of that. Addresses that are not plain ASCII go
    through the email package whole (``compose``), with UTF-8 headers (SMTPUTF8).
    """
    if not recipient.address.isascii() or not recipient.address.isprintable():
        return compose(rendered, identity, recipient, when)
    values = _values(rendered, identity, recipient, when)
    skeleton = _skeleton(rendered, identity)
    return b"".join(values[piece] if i % 2 else piece for i, piece in enumerate(skeleton))


def compose(rendered: Rendered, identity: Identity, recipient: Recipient, when: datetime) -> bytes:
    """The same message built entirely by the email package: the reference for ``address``.

    Header values go through the email package, which refuses CR/LF in them: a title or
    name can never inject a header. The Message-ID is stable per article revision and
    recipient, so a re-sent uncertain message can be recognised as the same one.
    """
    values = _headers(rendered, identity, recipient, when)
    policy = _POLICY if recipient.address.isascii() else _POLICY_UTF8
    message = _message(rendered, identity, recipient.address, values, policy)
    text, html = _bodies(rendered, identity, recipient)
    _bodies_into(message, rendered, text, html, "base64")
    message.set_boundary(values["BOUNDARY"])
    return message.as_bytes()


#: A slot marker: the name and a random part made fresh for each skeleton. The article's text is
#: in the skeleton too (Subject, and the bodies' placeholders are filled only once built), so a
#: fixed marker that an author could type would pull a recipient's private links into the
#: Subject; a 128-bit random one cannot be typed, and each slot must occur exactly once.
_SLOT = "KOHOSLOT{}X{}X"
_BOUNDARY = b"BOUNDARY"
#: Per-recipient slots of the skeleton, in the order they are filled.
_SLOTS = (b"TO", b"DATE", b"MSGID", b"UNSUB", _BOUNDARY, b"TEXT", b"HTML")


def _message(
    rendered: Rendered, identity: Identity, to: str, values: dict[str, str], policy: EmailPolicy[EmailMessage] = _POLICY
) -> EmailMessage:
    message = EmailMessage(policy=policy)
    sender = str(Address(identity.from_name, addr_spec=identity.from_address))
    list_id = f"{identity.from_name} <{identity.list_id}>"
    for name, value in (("Subject", rendered.subject), ("From", sender)):
        _encoded(message, name, value, policy)
    message["To"] = to
    # Raw: written as given. Date and Message-ID are koho-made ASCII; a long id would be folded
    # across lines, which some MTAs mishandle, so it is kept short.
    message.set_raw("Date", values["DATE"])
    message.set_raw("Message-ID", values["MSGID"])
    _encoded(message, "List-Id", list_id, policy)
    # Raw so it is never folded into RFC 2047 encoded words: mail providers read this header
    # as a plain URI and would not show their unsubscribe button for an encoded one.
    message.set_raw("List-Unsubscribe", values["UNSUB"])
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    return message


def _encoded(message: EmailMessage, name: str, value: str, policy: EmailPolicy[EmailMessage]) -> None:
    """A header with text in it: as RFC 2047 encoded-words of at most 75 characters (``encoded``),
    or as UTF-8 in a message to a UTF-8 address (RFC 6532), where encoded-words are not needed."""
    if policy.utf8:
        message[name] = value
    else:
        message.set_raw(name, folded(name, value))


def _bodies_into(message: EmailMessage, rendered: Rendered, text: str, html: str, cte: str) -> None:
    """The text and HTML alternatives, then the readers' language (RFC 3282, for clients that
    pick a voice or offer to translate): after the bodies, since set_content drops Content-*."""
    message.set_content(text, subtype="plain", charset="utf-8", cte=cte)
    message.add_alternative(html, subtype="html", charset="utf-8", cte=cte)
    message["Content-Language"] = tag(rendered.language)


def _footer_names(identity: Identity, recipient: Recipient) -> dict[str, str]:
    return dict(
        list_name=identity.from_name,
        preferences=identity.link("preferences", recipient.preferences_token),
        unsubscribe=identity.link("unsubscribe", recipient.unsubscribe_token),
    )


def _headers(rendered: Rendered, identity: Identity, recipient: Recipient, when: datetime) -> dict[str, str]:
    """The per-recipient header values (all koho-made ASCII except the address)."""
    one_click = identity.link("one-click", recipient.unsubscribe_token)
    if not one_click.isascii() or not one_click.isprintable():
        raise ValueError(f"the unsubscribe link must be a plain ASCII URL, not {one_click!r}")
    digest = hashlib.sha256(f"{rendered.key}.{recipient.subscriber_id}".encode()).hexdigest()[:32]
    # A boundary derived from the message's identity rather than a random one: the same
    # revision and recipient give the same bytes, which keeps previews and tests comparable.
    return {
        "TO": recipient.address,
        "DATE": format_datetime(when),
        "MSGID": f"<{digest}@{rendered.message_domain}>",
        "UNSUB": f"<{one_click}>",
        "BOUNDARY": f"=_koho_{rendered.key}.{recipient.subscriber_id}",
    }


def _values(rendered: Rendered, identity: Identity, recipient: Recipient, when: datetime) -> dict[bytes, bytes]:
    out = {k.encode(): v.encode("ascii") for k, v in _headers(rendered, identity, recipient, when).items()}
    # The bodies of ``_bodies``, base64 with the lines every recipient shares encoded once.
    names = _footer_names(identity, recipient)
    text_footer, html_footer = (footer.format(**names) for footer in _footers(rendered.language))
    text, html, after = _templates(rendered)
    out[b"TEXT"] = text.encode(text_footer)
    out[b"HTML"] = html.encode(html_footer + after) if html else body64.encode(rendered.html)
    return out


@lru_cache(maxsize=64)
def _templates(rendered: Rendered) -> tuple[body64.Template, body64.Template | None, str]:
    """The text body's template, the HTML body's up to ``</body>`` (None without one: no footer
    goes in) and what follows it: once per rendered message."""
    at = rendered.html.find("</body>")
    html = body64.Template.of(rendered.html[:at]) if at >= 0 else None
    return body64.Template.of(rendered.text), html, rendered.html[at:] if at >= 0 else ""


_SKELETONS: dict[tuple[object, ...], list[bytes]] = {}


def _skeleton(rendered: Rendered, identity: Identity) -> list[bytes]:
    """The message with slots, split into [fixed, slot, fixed, slot, ..., fixed] (cached)."""
    key = (rendered, identity)
    if key not in _SKELETONS:
        if len(_SKELETONS) > 64:  # one per article revision in a run; keep memory bounded
            _SKELETONS.clear()
        nonce = secrets.token_hex(16)
        slot = {name: _SLOT.format(name.decode(), nonce) for name in _SLOTS}
        message = _message(rendered, identity, slot[b"TO"], {k.decode(): v for k, v in slot.items()})
        _bodies_into(message, rendered, slot[b"TEXT"], slot[b"HTML"], "7bit")
        message.set_boundary(slot[_BOUNDARY])
        raw = message.as_bytes()
        if any(raw.count(v.encode()) != 1 for k, v in slot.items() if k != _BOUNDARY):
            raise AssertionError("a skeleton slot does not occur exactly once")  # cannot happen: see _SLOT
        # A real boundary is long enough that the email package folds before it; do the same.
        raw = raw.replace(b"multipart/alternative; boundary=", b"multipart/alternative;\r\n boundary=", 1)
        # The bodies are base64 in the real message: say so in each part's header.
        raw = raw.replace(b"Content-Transfer-Encoding: 7bit", b"Content-Transfer-Encoding: base64")
        for name in (b"TEXT", b"HTML"):  # the slot and its line end become the base64 lines
            raw = raw.replace(slot[name].encode() + b"\r\n", slot[name].encode(), 1)
        pattern = re.compile(b"(" + b"|".join(re.escape(v.encode()) for v in slot.values()) + b")")
        names = {v.encode(): k for k, v in slot.items()}
        _SKELETONS[key] = [names.get(piece, piece) if i % 2 else piece for i, piece in enumerate(pattern.split(raw))]
    return _SKELETONS[key]
