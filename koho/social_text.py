"""What a post that koho composes from an article may link and whom it may notify (ADR 0013).

Posts are made from text PR staff wrote for the site's readers: the title, the summary, the
change note, a hand-written ``x.text``. On the site that text is plain; on X the same characters
are actions: ``@name`` notifies that account, ``$TAG`` links a stock ticker's search, and any
URL-shaped text becomes a link, whose preview card X and LINE may show instead of the article's.
A typo, a pasted address or a compromised summary would then speak to strangers in the ward's
name. The rule, applied by X, LINE and Facebook to every piece of article text they post:

* ``@name`` and ``$TAG`` stay readable but inert: a zero-width space (U+200B) follows the sign,
  so no account is notified and no ticker linked. The article's front matter may list the
  accounts it means to address (``mentions: [nerima_koho]``); those stay live. A fullwidth ＠
  would not do: X treats it as an @.
* URLs in the text stay readable but are not links: a zero-width space goes before ``://`` and
  before each dot of the host. The one link in a post is the article's own page on the ward
  site, which the channel appends. An outside link belongs in the body, on the page, where the
  sanitiser and the review see it; and a post cut at its budget can never end in half a live
  URL that points to another site.
* ``#hashtags`` stay as written: they notify nobody, lead to a public search, and the ward uses
  campaign tags on purpose (the channels add the article's topics as hashtags themselves).

What counts as a URL is X's own rule set (twitter-text's extractor, which ``koho.textfit``
already loads for the weighted length); mentions and cashtags follow its patterns, written out
here because the Python port ships only the URL extractor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ZWSP = "\u200b"
#: twitter-text: an @ (or fullwidth ＠) starts a mention unless a letter, digit or one of
#: ``_!#$%&*@＠`` comes right before it (so an e-mail address is not a mention).
_MENTION = re.compile(r"(?<![A-Za-z0-9_!#$%&*@＠])([@＠])([A-Za-z0-9_]{1,20})")
#: twitter-text: a cashtag is ``$`` and 1-6 letters. Any ``$`` before a letter is made inert:
#: a ward has no ticker to link, and a zero-width space costs nothing to read.
_CASHTAG = re.compile(r"\$(?=[A-Za-z])")
#: An X account name: what ``mentions`` in the front matter may list.
HANDLE = re.compile(r"@?[A-Za-z0-9_]{1,15}")


def inert(text: str, mentions: Iterable[str] = ()) -> str:
    """``text`` with its mentions (except ``mentions``), cashtags and URLs made inert."""
    allowed = {m.lstrip("@").lower() for m in mentions}
    text = _MENTION.sub(lambda m: m.group(0) if m.group(2).lower() in allowed else m.group(1) + ZWSP + m.group(2), text)
    text = _CASHTAG.sub("$" + ZWSP, text)
    return _inert_urls(text)


def urls(text: str) -> list[str]:
    """The URLs X would link in ``text`` (twitter-text's extractor)."""
    return [found["url"] for found in _extract(text)]


def _extract(text: str) -> list[dict]:
    from koho.textfit import _parse_tweet

    _parse_tweet()  # imports twitter_text (with its pkg_resources stand-in) once
    from twitter_text.extract_urls import extract_urls_with_indices

    return extract_urls_with_indices(text)


def _inert_urls(text: str) -> str:
    # Right to left, so earlier indices stay valid. Indices count code points, as str does.
    for found in sorted(_extract(text), key=lambda f: f["indices"][0], reverse=True):
        start, end = found["indices"]
        text = text[:start] + _inert_url(text[start:end]) + text[end:]
    return text


def _inert_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    host, tail = re.match(r"([^/?#]*)(.*)", rest, flags=re.S).groups()
    # Both are needed: with a scheme, twitter-text links even a host broken by zero-width spaces.
    return (scheme + ZWSP + "://" if sep else "") + host.replace(".", ZWSP + ".") + tail
