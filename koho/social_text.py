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

What counts as a URL is X's own rule set (twitter-text's extractor, loaded here for X's weighted
length too); mentions and cashtags follow its patterns, written out here because the Python port
ships only the URL extractor. The article model and the reader use these rules (``mentions``
names, a hand-written ``x.text`` must fit), so they stay in ``koho``; the channels' text fitting
is ``channels.common.textfit``.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

ZWSP = "\u200b"
#: twitter-text: an @ (or fullwidth ＠) starts a mention unless a letter, digit or one of
#: ``_!#$%&*@＠`` comes right before it (so an e-mail address is not a mention).
_MENTION = re.compile(r"(?<![A-Za-z0-9_!#$%&*@＠])([@＠])([A-Za-z0-9_]{1,20})")
#: twitter-text: a cashtag is ``$`` and 1-6 letters. Any ``$`` before a letter is made inert:
#: a ward has no ticker to link, and a zero-width space costs nothing to read.
_CASHTAG = re.compile(r"\$(?=[A-Za-z])")
#: An X account name: what ``mentions`` in the front matter may list.
HANDLE = re.compile(r"@?[A-Za-z0-9_]{1,15}")
#: X's limit on a post, in its weighted length.
X_MAX_WEIGHTED = 280


def inert(text: str, mentions: Iterable[str] = ()) -> str:
    """``text`` with its mentions (except ``mentions``), cashtags and URLs made inert."""
    allowed = {m.lstrip("@").lower() for m in mentions}
    text = _MENTION.sub(lambda m: m.group(0) if m.group(2).lower() in allowed else m.group(1) + ZWSP + m.group(2), text)
    text = _CASHTAG.sub("$" + ZWSP, text)
    return _inert_urls(text)


def urls(text: str) -> list[str]:
    """The URLs X would link in ``text`` (twitter-text's extractor)."""
    return [found["url"] for found in _extract(text)]


def _extract(text: str) -> list[dict[str, Any]]:
    _parse_tweet()  # imports twitter_text (with its pkg_resources stand-in) once
    from twitter_text.extract_urls import extract_urls_with_indices

    found: list[dict[str, Any]] = extract_urls_with_indices(text)
    return found


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
    host = re.split(r"[/?#]", rest, maxsplit=1)[0]
    tail = rest[len(host) :]
    # Both are needed: with a scheme, twitter-text links even a host broken by zero-width spaces.
    return (scheme + ZWSP + "://" if sep else "") + host.replace(".", ZWSP + ".") + tail


@lru_cache(maxsize=1)
def _parse_tweet() -> Callable[[str], Any]:
    """twitter-text-parser's ``parse_tweet``, imported once.

    The package reads its emoji table through ``pkg_resources``, which current setuptools no
    longer ships. Rather than pinning an old setuptools for the whole environment, a stand-in
    with the one function it calls is present only while the package imports.
    """
    try:
        from twitter_text import parse_tweet

        found: Callable[[str], Any] = parse_tweet
        return found
    except ModuleNotFoundError as exc:
        if exc.name != "pkg_resources":
            raise
    for name in [m for m in sys.modules if m == "twitter_text" or m.startswith("twitter_text.")]:
        del sys.modules[name]  # half-imported modules from the failed attempt
    shim = types.ModuleType("pkg_resources")
    # Through the module's namespace: mypy knows no such attribute of a ModuleType.
    vars(shim)["resource_string"] = lambda module, name: (
        Path(str(sys.modules[module].__file__)).parent / name
    ).read_bytes()
    sys.modules["pkg_resources"] = shim
    try:
        from twitter_text import parse_tweet
    finally:
        if sys.modules.get("pkg_resources") is shim:
            del sys.modules["pkg_resources"]
    shimmed: Callable[[str], Any] = parse_tweet
    return shimmed


def x_weighted_length(text: str) -> int:
    """X's weighted length of ``text`` (what X compares with 280)."""
    return int(_parse_tweet()(text).weightedLength)


def x_text_post(text: str, url: str, mentions: Iterable[str] = ()) -> str:
    """A hand-written X text as posted: made inert, the article URL on its own line after it."""
    return f"{inert(text, mentions).strip()}\n{url}"


def x_override_problem(text: str, url: str, mentions: tuple[str, ...] = ()) -> str | None:
    """Why a hand-written X text cannot be posted as written (it is never cut), or None. It is
    weighed as posted: with its URLs inert, each counts its characters, not 23."""
    length = x_weighted_length(x_text_post(text, url, mentions))
    if length > X_MAX_WEIGHTED:
        return (
            f"the X text with the article link weighs {length} of X's {X_MAX_WEIGHTED} "
            f"(CJK characters count 2, the link 23); shorten it by {length - X_MAX_WEIGHTED}"
        )
    return None
