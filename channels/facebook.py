"""The ward's Facebook Page: one feed post per article through the Graph API (requests).

The post is the title, the summary and the link (Facebook shows the link's preview); a change
note becomes a comment on the post, a withdrawn article deletes it (``channels.common.posts``). Receipts
follow X's rules: ``sent`` only with the post id Graph returned; throttling (HTTP 429, or Graph
error codes 4, 17, 32, 613) and 5xx/timeouts stay pending for a retry; a bad token (190),
missing permission (10, 200) and other refusals fail with Graph's message.

Transport by ``KOHO_FACEBOOK_URL``: empty means the Graph API (``KOHO_FACEBOOK_API_URL``) when a
page id and token are set, else ``outbox://outbox/facebook``. The token travels in the
Authorization header, never in a URL that could be logged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import requests
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from channels.common.outbox import RequestOutbox, deliver_to_outbox, is_outbox
from channels.common.posts import match_posts, plan_post_lifecycle, read_settings, send_in_order, unanswered
from channels.common.textfit import fit
from channels.common.words import correction_label
from koho.article import Article
from koho.channel import Limits, PlanContext
from koho.delivery import Delivery, Receipt
from koho.errors import ConfigError
from koho.social_text import inert

GRAPH = "https://graph.facebook.com/v21.0"
#: Facebook's limit on a post's message, in characters.
MESSAGE_MAX = 63206
THROTTLED = {4, 17, 32, 613}
LIMITS = Limits(body_max=MESSAGE_MAX, overflow="truncate", batch_size=20)


class FacebookSettings(BaseSettings):
    """``KOHO_FACEBOOK_*``: the page, its page access token and the Graph API base URL."""

    model_config = SettingsConfigDict(env_prefix="KOHO_FACEBOOK_", extra="ignore")

    url: str = ""
    api_url: str = GRAPH
    page_id: str = ""
    page_token: SecretStr | None = None
    timeout: float = 15.0

    def configured(self) -> bool:
        """A page id and a token are set."""
        return bool(self.page_id) and self.page_token is not None

    def transport_url(self) -> str:
        """The URL in force: explicit, else the Graph API with credentials, else the outbox."""
        return self.url or (self.api_url if self.configured() else "outbox://outbox/facebook")


def load_settings() -> FacebookSettings:
    """Read ``KOHO_FACEBOOK_*`` (a malformed value is a configuration error naming it)."""
    return read_settings(FacebookSettings)


def message(article: Article) -> str:
    """The post's text: title and summary (the link is a separate field)."""
    # The same rule as X and LINE (koho.social_text): the link field is the post's one link.
    return fit(LIMITS, [inert(article.title, article.mentions), inert(article.summary, article.mentions)])


class FacebookChannel:
    """Posts each article once to the Page's feed; comments change notes; deletes."""

    name: ClassVar[str] = "facebook"
    limits: ClassVar[Limits] = LIMITS
    follows_up: ClassVar[bool] = True

    def __init__(self, settings: FacebookSettings, base_dir: Path | None = None):
        self.settings = settings
        self.url = settings.transport_url()
        self.base_dir = base_dir
        self._outbox: RequestOutbox | None = None
        self._session: requests.Session | None = None
        if is_outbox(self.url):
            return
        if not self.url.startswith(("https://", "http://")):
            raise ConfigError(f"KOHO_FACEBOOK_URL={self.url!r}: use outbox://folder or the Graph API's https:// URL")
        if not settings.configured():
            raise ConfigError(
                "KOHO_FACEBOOK_URL is the Graph API but KOHO_FACEBOOK_PAGE_ID and "
                "KOHO_FACEBOOK_PAGE_TOKEN are not both set"
            )

    def describe(self) -> str:
        """Where posts go (the token is never part of it)."""
        return self.url if is_outbox(self.url) else f"{self.url} (page {self.settings.page_id})"

    def plan(self, article: Article, ctx: PlanContext) -> list[Delivery]:
        """The feed post, the comment with a change note, or the deletion of the post."""
        base, page = self.settings.api_url.rstrip("/"), self.settings.page_id or "PAGE_ID"
        link = ctx.site.article_url(article.id)
        return plan_post_lifecycle(
            self.name,
            article,
            ctx,
            post=lambda: {
                "method": "POST",
                "url": f"{base}/{page}/feed",
                "form": {"message": message(article), "link": link},
            },
            answer=lambda parent: {
                "method": "POST",
                "url": f"{base}/{parent}/comments",
                "form": {"message": f"{correction_label(article.language)}{article.change_note}\n{link}"},
            },
            delete=lambda parent: {"method": "DELETE", "url": f"{base}/{parent}"},
        )

    def deliver(self, batch: Sequence[Delivery]) -> list[Receipt]:
        """Send in order; after throttling the rest of the batch waits for the next try."""
        if is_outbox(self.url):
            if self._outbox is None:
                self._outbox = RequestOutbox(self.url, self.base_dir)
            return deliver_to_outbox(self._outbox, batch)
        return send_in_order(batch, self._send, "Graph's throttling")

    def _send(self, delivery: Delivery) -> Receipt:
        request = json.loads(delivery.body())
        # The plan names the configured API URL; a different transport URL (a stand-in) wins.
        url = self.url.rstrip("/") + request["url"][len(self.settings.api_url.rstrip("/")) :]
        if self._session is None:
            self._session = requests.Session()
            self._session.headers["Authorization"] = f"Bearer {self.settings.page_token.get_secret_value()}"
        key = delivery.key
        try:
            response = self._session.request(
                request["method"], url, data=request.get("form"), timeout=self.settings.timeout
            )
        except requests.RequestException as exc:
            return unanswered(key, exc, "Graph API")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.ok:
            if request["method"] == "DELETE":
                return (
                    Receipt.sent(key, delivery.meta["parent"], "deleted")
                    if body.get("success")
                    else Receipt.failed(key, f"Graph did not confirm the deletion: {body!r}"[:300])
                )
            post_id = body.get("id")
            return (
                Receipt.sent(key, str(post_id))
                if post_id
                else Receipt.failed(key, "Graph answered without a post id: not counted as sent")
            )
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code, text = error.get("code"), " ".join(str(error.get("message", response.reason)).split())[:300]
        why = f"Graph {response.status_code} (code {code}): {text}"
        if request["method"] == "DELETE" and response.status_code == 404:
            return Receipt.skipped(key, f"the post was already deleted ({text})", delivery.meta.get("parent"))
        if response.status_code == 429 or code in THROTTLED:
            return Receipt.transient(key, why, _retry_after(response))
        if response.status_code >= 500 or error.get("is_transient"):
            return Receipt.transient(key, why)
        return Receipt.failed(key, why)

    def reconcile(self, batch: Sequence[Delivery]) -> list[Receipt]:
        """Look in the Page's feed (and a post's comments) for posts whose answer was lost
        (``Reconciles``); the outbox has nothing to look at: its writes are idempotent."""
        if is_outbox(self.url):
            return []
        posts: list[tuple[str, str]] = []
        for parent in {d.meta.get("parent") for d in batch if d.meta.get("kind") == "note"} | {None}:
            where = f"{self.settings.page_id}/feed" if parent is None else f"{parent}/comments"
            try:
                found = self._get(where, {"fields": "id,message", "limit": "100"})
            except requests.RequestException as exc:
                return [Receipt.uncertain(d.key, f"Graph API could not be asked: {type(exc).__name__}") for d in batch]
            posts += [(item["id"], item.get("message", "")) for item in found.get("data", [])]
        return match_posts(batch, posts, lambda d: json.loads(d.body()).get("form", {}).get("message", ""), "the Page")

    def _get(self, path: str, params: dict) -> dict:
        if self._session is None:
            self._session = requests.Session()
            self._session.headers["Authorization"] = f"Bearer {self.settings.page_token.get_secret_value()}"
        response = self._session.get(f"{self.url.rstrip('/')}/{path}", params=params, timeout=self.settings.timeout)
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            self._session.close()
            self._session = None


def _retry_after(response: requests.Response) -> float:
    """Seconds until Graph lets the page post again: Retry-After, else the business-use-case
    header's ``estimated_time_to_regain_access`` (minutes), else a minute."""
    if response.headers.get("Retry-After", "").isdigit():
        return max(1.0, float(response.headers["Retry-After"]))
    try:
        usage = json.loads(response.headers.get("X-Business-Use-Case-Usage", "{}"))
        minutes = max(
            entry.get("estimated_time_to_regain_access", 0) for entries in usage.values() for entry in entries
        )
        if minutes:
            return 60.0 * minutes
    except (ValueError, AttributeError, TypeError):
        pass
    return 60.0
