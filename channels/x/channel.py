"""X (formerly Twitter): one post per article through the X API v2 (tweepy), or an outbox.

The text is the title, the summary, the topics as hashtags and the article URL, within X's
weighted length (280; CJK counts 2, a URL 23), cut at a sentence or clause boundary; a
hand-written ``x.text`` in the front matter is used as written (``koho check`` refuses one that
does not fit). In either, @mentions not listed in the front matter's ``mentions``, cashtags
and URLs are made inert (``koho.social_text``): the article's page is the post's one link. A
change note is posted as a reply to the post; a withdrawn article deletes it
(``channels.common.posts``).

Receipts are honest: ``sent`` only with the post id X returned; 429 waits for X's reset time,
5xx and timeouts are retried, 401/403/duplicate content fail with X's own message.

Transport by ``KOHO_X_URL``: empty means the API when credentials are set, else
``outbox://outbox/x``; ``https://api.twitter.com`` is the API; any other http(s) URL is a
stand-in for the API (tests' fake server) reached by rewriting tweepy's fixed host.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from channels.common.api import ApiChannel, ApiSettings, read_settings
from channels.common.posts import answers_or_deletes, plan_post_lifecycle, send_in_order
from channels.common.textfit import fit
from channels.common.words import correction_label
from koho.article import Article
from koho.channel import FollowsUp, FollowUpContext, Limits, Reconciles
from koho.delivery import Delivery, Receipt
from koho.payloads import ApiRequest
from koho.site import Site
from koho.social_text import X_MAX_WEIGHTED, inert, x_text_post

if TYPE_CHECKING:
    from channels.x.api import XApi

API = "https://api.twitter.com"
#: X's limit: 280 in its weighted length; composed text is cut to fit.
LIMITS = Limits(body_max=X_MAX_WEIGHTED, length_unit="weighted", overflow="truncate", batch_size=20)
CREDENTIALS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")


class XSettings(ApiSettings):
    """``KOHO_X_*``: where posts go and the OAuth 1.0a user-context credentials."""

    model_config = SettingsConfigDict(env_prefix="KOHO_X_", extra="ignore")
    OUTBOX: ClassVar[str] = "outbox://outbox/x"

    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    access_token_secret: SecretStr | None = None

    def api(self) -> str:
        """X's fixed API host (another ``url`` is reached by rewriting it: ``channels.x.api``)."""
        return API

    def missing(self) -> list[str]:
        """The four credentials that are not set."""
        return [self.env(name) for name in CREDENTIALS if getattr(self, name) is None]


def load_settings() -> XSettings:
    """Read ``KOHO_X_*`` (a malformed value is a configuration error naming it)."""
    return read_settings(XSettings)


def article_url(article: Article, site: Site) -> str:
    """The archive page the post links to."""
    return site.article_url(article.id)


def hashtag(label: str) -> str:
    """``#防災`` from a topic label (a hashtag ends at spaces and most punctuation)."""
    return "#" + re.sub(r"[\s\W]+", "", label)


def post_text(article: Article, site: Site) -> str:
    """The post: the hand-written text, or title, summary, hashtags and link fitted to 280.
    Mentions (but the article's ``mentions``), cashtags and URLs in the text are inert."""
    url = article_url(article, site)
    if article.x_text is not None:
        return x_text_post(article.x_text, url, article.mentions)
    tags = " ".join(hashtag(site.topics.get(t, t)) for t in article.topics)
    tail = "\n".join(p for p in (tags, url) if p)
    parts = [inert(text, article.mentions) for text in (article.title, article.summary)]
    return fit(LIMITS, parts, tail)


def note_text(article: Article, site: Site) -> str:
    """The reply quoting a change note (cut at a sentence boundary; the link has it whole)."""
    url = article_url(article, site)
    return fit(LIMITS, [correction_label(article.language) + inert(article.change_note, article.mentions)], url)


class XChannel(ApiChannel, FollowsUp, Reconciles):
    """Posts each article once to the ward's X account; replies with change notes; deletes."""

    name: ClassVar[str] = "x"
    limits: ClassVar[Limits] = LIMITS

    settings: XSettings

    def open_api(self) -> XApi:
        """tweepy's client (imported only when the API is used)."""
        from channels.x.api import XApi

        return XApi(self.url, self.settings)

    def follows_up(self, article: Article) -> bool:
        """A change note is answered and a withdrawal deletes: both need the post's id."""
        return answers_or_deletes(article)

    def plan(self, article: Article, ctx: FollowUpContext) -> list[Delivery]:
        """The post, the reply to a change note, or the deletion of a withdrawn article's post."""
        text = post_text(article, ctx.site) if not article.withdrawn else ""
        return plan_post_lifecycle(
            self.name,
            article,
            ctx,
            post=lambda: ApiRequest("POST", f"{API}/2/tweets", json={"text": text}),
            answer=lambda parent: ApiRequest(
                "POST",
                f"{API}/2/tweets",
                json={"text": note_text(article, ctx.site), "reply": {"in_reply_to_tweet_id": parent}},
                refers_to=parent,
            ),
            delete=lambda parent: ApiRequest("DELETE", f"{API}/2/tweets/{parent}", refers_to=parent),
        )

    def send(self, api: XApi, batch: Sequence[Delivery]) -> list[Receipt]:
        """Send in order; after a rate limit the rest of the batch waits for the next try."""
        return send_in_order(batch, api.send, "X's rate limit window")

    def reconcile(self, batch: Sequence[Delivery]) -> list[Receipt]:
        """Look for posts whose answer was lost in the account's timeline (``Reconciles``)."""
        return self.ask_api(batch, lambda api, todo: api.reconcile(todo))
