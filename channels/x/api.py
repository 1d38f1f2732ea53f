"""The X API v2 transport: tweepy's Client with OAuth 1.0a user context.

tweepy fixes its host (``https://api.twitter.com``) and sets no timeout. A requests transport
adapter mounted on the client's session adds the timeout and, when ``KOHO_X_URL`` names another
base URL (a loopback fake in tests), sends the request there instead. The request is signed
before the adapter sees it, over the real URL, so the signature a server checks is the one X
would check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import requests
import tweepy
from pydantic import SecretStr
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from channels.common.posts import match_posts, unanswered
from channels.x.channel import API, XSettings
from koho import clock as koho_clock
from koho.delivery import Delivery, Receipt
from koho.payloads import ApiRequest


class _HostAdapter(HTTPAdapter):
    """Adds a default timeout; optionally rewrites ``https://api.twitter.com/`` to ``base``."""

    def __init__(self, base: str | None, timeout: float):
        super().__init__(max_retries=0)  # koho decides about retries, with the ledger
        self.base = base.rstrip("/") if base else None
        self.timeout = timeout

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> Response:
        if self.base and request.url and request.url.startswith(API + "/"):
            request.url = self.base + request.url[len(API) :]
        return super().send(
            request,
            stream=stream,
            timeout=self.timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


class XApi:
    """Creates and deletes posts; every outcome becomes a receipt, never an exception."""

    def __init__(self, url: str, settings: XSettings, clock: Callable[[], datetime] = koho_clock.now):
        # All set: the channel checked its settings before opening the API.
        def secret(value: SecretStr | None) -> str:
            return value.get_secret_value() if value is not None else ""

        self.client = tweepy.Client(
            consumer_key=secret(settings.consumer_key),
            consumer_secret=secret(settings.consumer_secret),
            access_token=secret(settings.access_token),
            access_token_secret=secret(settings.access_token_secret),
            wait_on_rate_limit=False,
        )  # a wait is the pipeline's decision
        base = None if url.rstrip("/") == API else url
        adapter = _HostAdapter(base, settings.timeout)
        self.client.session.mount(API + "/", adapter)
        self._clock = clock
        self._user_id: str | None = None

    def send(self, delivery: Delivery, request: ApiRequest) -> Receipt:
        """Carry out the delivery's request: create a post (or reply) or delete one."""
        key = delivery.key
        try:
            if request.method == "DELETE":
                response = self.client.delete_tweet(request.refers_to, user_auth=True)
                deleted = (response.data or {}).get("deleted")
                if deleted is True:
                    return Receipt.sent(key, request.refers_to, "deleted")
                return Receipt.failed(key, f"X did not confirm the deletion: {response.data!r}")
            reply = request.refers_to  # the post a change note answers
            response = self.client.create_tweet(
                text=request.json_field("text"), in_reply_to_tweet_id=reply, user_auth=True
            )
        except tweepy.NotFound as exc:
            if request.method == "DELETE":  # already gone: what a withdrawal wants
                return Receipt.skipped(key, f"the post was already deleted ({_message(exc)})", request.refers_to)
            return Receipt.failed(key, f"X 404: {_message(exc)}")
        except tweepy.TooManyRequests as exc:
            reset = _reset(exc.response.headers)
            if reset is None:
                return Receipt.transient(key, "X 429 rate limited (no reset time given)", 60.0)
            now = self._clock()
            # Never before the provider's reset, and never in the past: a skewed clock must not
            # make the wait a busy loop.
            until = max(reset, now + timedelta(seconds=1))
            return Receipt.waits(
                key,
                f"waiting for X's rate limit: X 429, the window resets at {reset:%Y-%m-%d %H:%M:%S} UTC",
                until,
            )
        except tweepy.TwitterServerError as exc:
            return Receipt.transient(key, f"X {exc.response.status_code}: {_message(exc)}")
        except tweepy.Forbidden as exc:
            if "duplicate content" in _message(exc) and request.method == "POST":
                # X refuses a text it already has: most likely our own post whose answer was
                # lost. Uncertain, so the next run finds it in the timeline and records its id
                # (a withdrawal can then delete it), instead of a failure with no post id.
                return Receipt.uncertain(key, f"X 403: {_message(exc)}; looking for it in the timeline")
            return Receipt.failed(key, f"X {exc.response.status_code}: {_message(exc)}")
        except (tweepy.Unauthorized, tweepy.BadRequest) as exc:
            return Receipt.failed(key, f"X {exc.response.status_code}: {_message(exc)}")
        except tweepy.HTTPException as exc:
            return Receipt.failed(key, f"X {exc.response.status_code}: {_message(exc)}")
        except requests.RequestException as exc:
            # A timeout after the request went out may hide an accepted post: uncertain.
            return unanswered(key, exc, "X")
        post_id = (response.data or {}).get("id")
        if not post_id:
            return Receipt.failed(key, "X answered without a post id: not counted as sent")
        return Receipt.sent(key, str(post_id))

    def reconcile(self, batch: list[Delivery]) -> list[Receipt]:
        """Find posts whose answer was lost in the account's recent timeline (100 newest)."""
        try:
            if self._user_id is None:
                self._user_id = str(self.client.get_me(user_auth=True).data.id)
            found = self.client.get_users_tweets(self._user_id, max_results=100, user_auth=True)
        except (tweepy.TweepyException, requests.RequestException) as exc:
            return [Receipt.uncertain(d.key, f"X could not be asked: {type(exc).__name__}") for d in batch]
        posts = [(str(t.id), t.text) for t in (found.data or [])]
        return match_posts(batch, posts, lambda request: str(request.json_field("text")), "X")

    def close(self) -> None:
        """Close the HTTP session."""
        self.client.session.close()


#: X's reset headers (epoch seconds): the 15-minute window's, and the 24-hour caps' when spent.
_RESETS = (
    ("x-rate-limit-remaining", "x-rate-limit-reset"),
    ("x-user-limit-24hour-remaining", "x-user-limit-24hour-reset"),
    ("x-app-limit-24hour-remaining", "x-app-limit-24hour-reset"),
)


def _reset(headers: Mapping[str, str]) -> datetime | None:
    """When X lets the refused request through again (aware UTC): the latest reset among the
    limits it says are spent (or the window's, when it says none is); None without one."""
    found: list[datetime] = []
    for remaining, reset in _RESETS:
        value = headers.get(reset, "")
        if value.isdigit() and (headers.get(remaining) == "0" or reset == "x-rate-limit-reset"):
            found.append(datetime.fromtimestamp(int(value), UTC))
    return max(found, default=None)


def _message(exc: tweepy.HTTPException) -> str:
    # X's own words (api_messages), never the request: it carries the OAuth header.
    text = "; ".join(m for m in exc.api_messages if m) or getattr(exc.response, "reason", "") or "error"
    return " ".join(text.split())[:300]
