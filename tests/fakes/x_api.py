"""A fake X API v2 (``POST /2/tweets``, ``DELETE /2/tweets/:id``, ``GET /2/users/me`` and the
account's timeline ``GET /2/users/:id/tweets``) that checks OAuth 1.0a.

Every request's HMAC-SHA1 signature is verified with oauthlib over the URL the client signed
(``https://api.twitter.com/...``: tweepy's fixed host, which koho's adapter rewrites to here).
"""

from __future__ import annotations

import itertools

from oauthlib.oauth1 import RequestValidator
from oauthlib.oauth1.rfc5849 import signature
from oauthlib.oauth1.rfc5849.endpoints.base import BaseEndpoint

from tests.fakes.base import FakeApi, Seen

USER_ID = "1600000000000000001"
CREDENTIALS = {
    "consumer_key": "ck-fake-x",
    "consumer_secret": "cs-Secret-x-93a1",
    "access_token": "at-fake-x",
    "access_token_secret": "ats-Secret-x-7f2c",
}


TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429}


def _now() -> float:
    """koho's injected clock, in epoch seconds: the fake's windows move when the test's clock does."""
    from koho.clock import now

    return now().timestamp()


class FakeX(FakeApi):
    """Posts live in ``self.posts`` (id -> body); duplicate texts are refused like X does."""

    def __init__(self, credentials: dict[str, str] = CREDENTIALS):
        super().__init__()
        self.credentials = credentials
        self.posts: dict[str, dict] = {}
        self._ids = itertools.count(1900000000000000001)
        self._endpoint = BaseEndpoint(RequestValidator())
        #: (posts, seconds) a window allows (``limit_posts``), and when this window's were made.
        self.window: tuple[int, float] | None = None
        self.window_posts: list[float] = []

    def rate_limit_next(self, count: int = 1, reset_in: float = 1.0) -> None:
        """429 with X's headers; the window resets ``reset_in`` seconds from now (koho's clock)."""
        self.fail_next(
            count,
            status=429,
            headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(_now() + reset_in))},
            body=TOO_MANY,
        )

    def limit_posts(self, per_window: int, window: float = 900.0) -> None:
        """Allow ``per_window`` posts in each ``window`` seconds of koho's clock (X's 15-minute
        windows); more are refused 429 with the window's reset, until it rolls over."""
        self.window = (per_window, window)

    def _check_signature(self, seen: Seen) -> None:
        auth = seen.headers.get("Authorization", "")
        assert auth.startswith("OAuth "), "no OAuth 1.0a Authorization header"
        uri = (
            "https://api.twitter.com"
            + seen.path
            + (("?" + "&".join(f"{k}={v}" for k, v in seen.query.items())) if seen.query else "")
        )
        request = self._endpoint._create_request(
            uri,
            seen.method,
            seen.body.decode() or None,
            {"Authorization": auth, "Content-Type": seen.headers.get("Content-Type", "")},
        )
        assert request.client_key == self.credentials["consumer_key"], "unknown consumer key"
        assert request.resource_owner_key == self.credentials["access_token"], "unknown access token"
        assert signature.verify_hmac_sha1(
            request, self.credentials["consumer_secret"], self.credentials["access_token_secret"]
        ), "bad OAuth signature"

    def route(self, seen: Seen):
        try:
            self._check_signature(seen)
        except AssertionError as exc:
            self.rejected.append(str(exc))
            return 401, {"title": "Unauthorized", "detail": str(exc), "status": 401}, {}
        if seen.method == "POST" and seen.path == "/2/tweets" and self.window is not None:
            per_window, length = self.window
            start = _now() // length * length
            self.window_posts = [t for t in self.window_posts if t >= start]
            if len(self.window_posts) >= per_window:
                reset = str(int(start + length))
                return 429, TOO_MANY, {"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}
            self.window_posts.append(_now())
        if seen.method == "POST" and seen.path == "/2/tweets":
            body = seen.json()
            assert set(body) <= {"text", "reply"}, f"unexpected fields {sorted(body)}"
            assert isinstance(body["text"], str) and body["text"], "text missing"
            from koho.social_text import x_weighted_length

            assert x_weighted_length(body["text"]) <= 280, "text over 280 weighted"
            if any(p["text"] == body["text"] for p in self.posts.values()):
                return (
                    403,
                    {
                        "detail": "You are not allowed to create a Tweet with duplicate content.",
                        "status": 403,
                        "title": "Forbidden",
                    },
                    {},
                )
            parent = body.get("reply", {}).get("in_reply_to_tweet_id")
            if parent is not None and parent not in self.posts:
                return 400, {"errors": [{"message": "The Tweet you are replying to is not visible"}]}, {}
            post_id = str(next(self._ids))
            self.posts[post_id] = body
            return 201, {"data": {"id": post_id, "text": body["text"], "edit_history_tweet_ids": [post_id]}}, {}
        if seen.method == "GET" and seen.path == "/2/users/me":
            return 200, {"data": {"id": USER_ID, "name": "練馬区", "username": "nerima_koho"}}, {}
        if seen.method == "GET" and seen.path == f"/2/users/{USER_ID}/tweets":
            newest = sorted(self.posts, reverse=True)[: int(seen.query.get("max_results", 10))]
            data = [{"id": i, "text": self.posts[i]["text"], "edit_history_tweet_ids": [i]} for i in newest]
            return 200, {"data": data, "meta": {"result_count": len(data)}}, {}
        if seen.method == "DELETE" and seen.path.startswith("/2/tweets/"):
            post_id = seen.path.rsplit("/", 1)[1]
            if post_id not in self.posts:
                return 404, {"errors": [{"message": f"Could not find tweet with id: [{post_id}]."}]}, {}
            del self.posts[post_id]
            return 200, {"data": {"deleted": True}}, {}
        return 404, {"title": "Not Found"}, {}
