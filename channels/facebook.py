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
from typing import Any, ClassVar

import requests
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from channels.common.api import ApiChannel, ApiSettings, read_settings
from channels.common.outbox import is_outbox
from channels.common.posts import (
    NOTE_PREFIX,
    answers_or_deletes,
    match_posts,
    plan_post_lifecycle,
    send_in_order,
    unanswered,
)
from channels.common.textfit import fit
from channels.common.words import correction_label
from koho.article import Article
from koho.channel import FollowsUp, FollowUpContext, Limits, Reconciles
from koho.delivery import Delivery, Receipt
from koho.payloads import ApiRequest
from koho.social_text import inert

GRAPH = "https://graph.facebook.com/v21.0"
#: Facebook's limit on a post's message, in characters.
MESSAGE_MAX = 63206
THROTTLED = {4, 17, 32, 613}
LIMITS = Limits(body_max=MESSAGE_MAX, overflow="truncate", batch_size=20)


class FacebookSettings(ApiSettings):
    """``KOHO_FACEBOOK_*``: the page, its page access token and the Graph API base URL."""

    model_config = SettingsConfigDict(env_prefix="KOHO_FACEBOOK_", extra="ignore")
    OUTBOX: ClassVar[str] = "outbox://outbox/facebook"

    api_url: str = GRAPH
    page_id: str = ""
    page_token: SecretStr | None = None

    def api(self) -> str:
        """The Graph API's versioned base URL."""
        return self.api_url

    def missing(self) -> list[str]:
        """The page id and the token, those not set."""
        return [self.env("page_id")] * (not self.page_id) + [self.env("page_token")] * (self.page_token is None)


def load_settings() -> FacebookSettings:
    """Read ``KOHO_FACEBOOK_*`` (a malformed value is a configuration error naming it)."""
    return read_settings(FacebookSettings)


def message(article: Article) -> str:
    """The post's text: title and summary (the link is a separate field)."""
    # The same rule as X and LINE (koho.social_text): the link field is the post's one link.
    return fit(LIMITS, [inert(article.title, article.mentions), inert(article.summary, article.mentions)])


class FacebookChannel(ApiChannel, FollowsUp, Reconciles):
    """Posts each article once to the Page's feed; comments change notes; deletes."""

    name: ClassVar[str] = "facebook"
    limits: ClassVar[Limits] = LIMITS
    api_name: ClassVar[str] = "the Graph API"
    settings: FacebookSettings

    def describe(self) -> str:
        """Where posts go (the token is never part of it)."""
        return self.url if is_outbox(self.url) else f"{self.url} (page {self.settings.page_id})"

    def follows_up(self, article: Article) -> bool:
        """A change note is answered and a withdrawal deletes: both need the post's id."""
        return answers_or_deletes(article)

    def plan(self, article: Article, ctx: FollowUpContext) -> list[Delivery]:
        """The feed post, the comment with a change note, or the deletion of the post."""
        base, page = self.settings.api_url.rstrip("/"), self.settings.page_id or "PAGE_ID"
        link = ctx.site.article_url(article.id)
        return plan_post_lifecycle(
            self.name,
            article,
            ctx,
            post=lambda: ApiRequest("POST", f"{base}/{page}/feed", form={"message": message(article), "link": link}),
            answer=lambda parent: ApiRequest(
                "POST",
                f"{base}/{parent}/comments",
                form={"message": f"{correction_label(article.language)}{article.change_note}\n{link}"},
                refers_to=parent,
            ),
            delete=lambda parent: ApiRequest("DELETE", f"{base}/{parent}", refers_to=parent),
        )

    def open_api(self) -> GraphApi:
        """A requests session carrying the page token."""
        return GraphApi(self.url, self.settings)

    def send(self, api: GraphApi, batch: Sequence[Delivery]) -> list[Receipt]:
        """Send in order; after throttling the rest of the batch waits for the next try."""
        return send_in_order(batch, api.send, "Graph's throttling")

    def reconcile(self, batch: Sequence[Delivery]) -> list[Receipt]:
        """Look in the Page's feed (and a post's comments) for posts whose answer was lost
        (``Reconciles``)."""
        return self.ask_api(batch, lambda api, todo: api.reconcile(todo))


class GraphApi:
    """The Graph API over one requests session; every outcome is a receipt."""

    def __init__(self, url: str, settings: FacebookSettings):
        self.url, self.settings = url, settings
        self._session = requests.Session()
        token = settings.page_token.get_secret_value() if settings.page_token is not None else ""
        self._session.headers["Authorization"] = f"Bearer {token}"

    def send(self, delivery: Delivery, request: ApiRequest) -> Receipt:
        """Create, comment on or delete a post as the delivery's request says."""
        # The plan names the configured API URL; a different transport URL (a stand-in) wins.
        url = self.url.rstrip("/") + request.url[len(self.settings.api_url.rstrip("/")) :]
        key = delivery.key
        try:
            response = self._session.request(
                request.method, url, data=dict(request.form or {}) or None, timeout=self.settings.timeout
            )
        except requests.RequestException as exc:
            return unanswered(key, exc, "Graph API")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.ok:
            if request.method == "DELETE":
                return (
                    Receipt.sent(key, request.refers_to, "deleted")
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
        if request.method == "DELETE" and response.status_code == 404:
            return Receipt.skipped(key, f"the post was already deleted ({text})", request.refers_to)
        if response.status_code == 429 or code in THROTTLED:
            return Receipt.transient(key, why, _retry_after(response))
        if response.status_code >= 500 or error.get("is_transient"):
            return Receipt.transient(key, why)
        return Receipt.failed(key, why)

    def reconcile(self, batch: Sequence[Delivery]) -> list[Receipt]:
        """Find posts whose answer was lost in the Page's feed (and a post's comments)."""
        posts: list[tuple[str, str]] = []
        notes = [d.payload for d in batch if d.target.startswith(NOTE_PREFIX) and isinstance(d.payload, ApiRequest)]
        for parent in {n.refers_to for n in notes} | {None}:
            where = f"{self.settings.page_id}/feed" if parent is None else f"{parent}/comments"
            try:
                found = self._get(where, {"fields": "id,message", "limit": "100"})
            except requests.RequestException as exc:
                return [Receipt.uncertain(d.key, f"Graph API could not be asked: {type(exc).__name__}") for d in batch]
            posts += [(item["id"], item.get("message", "")) for item in found.get("data", [])]
        return match_posts(batch, posts, lambda request: (request.form or {}).get("message", ""), "the Page")

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        response = self._session.get(f"{self.url.rstrip('/')}/{path}", params=params, timeout=self.settings.timeout)
        response.raise_for_status()
        found = response.json()
        return found if isinstance(found, dict) else {}

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()


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
            return 60.0 * float(minutes)
    except (ValueError, AttributeError, TypeError):
        pass
    return 60.0
