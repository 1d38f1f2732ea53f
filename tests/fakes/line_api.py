"""A fake LINE Messaging API: quota, quota consumption, Insight followers, broadcast.

Checks the bearer token and the broadcast body; honours X-Line-Retry-Key like LINE does (a
repeated key is answered 409 with the accepted request's id, and nobody is messaged twice). A
broadcast over the month's quota is refused 429 "monthly limit"; ``used`` starts again at 0 when
the month (Japan time, of koho's injected clock) rolls over, as LINE's quota renews.
"""

from __future__ import annotations

import itertools

from tests.fakes.base import FakeApi, Seen

TOKEN = "line-channel-Secret-0c4b"


class FakeLine(FakeApi):
    """``quota`` (None: unlimited), ``used`` and ``friends``; ``broadcasts`` holds what went out."""

    def __init__(self, quota: int | None = 1000, used: int = 0, friends: int = 120, blocks: int = 20):
        super().__init__()
        self.quota, self.used, self.friends, self.blocks = quota, used, friends, blocks
        self.insight_ready = True
        self.broadcasts: list[dict] = []
        self._accepted: dict[str, str] = {}
        self._ids = itertools.count(1)
        self.month = self._month()

    @staticmethod
    def _month() -> str:
        from channels.line import QUOTA_ZONE
        from koho.clock import now

        return now().astimezone(QUOTA_ZONE).strftime("%Y-%m")

    def route(self, seen: Seen):
        if self._month() != self.month:  # a new month: the quota renews
            self.month, self.used = self._month(), 0
        if seen.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"message": "Authentication failed due to the following reason: invalid token."}, {}
        if seen.method == "GET" and seen.path == "/v2/bot/message/quota":
            return 200, ({"type": "none"} if self.quota is None else {"type": "limited", "value": self.quota}), {}
        if seen.method == "GET" and seen.path == "/v2/bot/message/quota/consumption":
            return 200, {"totalUsage": self.used}, {}
        if seen.method == "GET" and seen.path == "/v2/bot/insight/followers":
            assert len(seen.query.get("date", "")) == 8, "date must be yyyyMMdd"
            if not self.insight_ready:
                return 200, {"status": "unready"}, {}
            return (
                200,
                {
                    "status": "ready",
                    "followers": self.friends,
                    "targetedReaches": self.friends // 2,
                    "blocks": self.blocks,
                },
                {},
            )
        if seen.method == "POST" and seen.path == "/v2/bot/message/broadcast":
            retry = seen.headers.get("X-Line-Retry-Key")
            if retry in self._accepted:
                return (
                    409,
                    {"message": "The retry key is already accepted"},
                    {"x-line-accepted-request-id": self._accepted[retry]},
                )
            body = seen.json()
            messages = body["messages"]
            assert 1 <= len(messages) <= 5 and all(m["type"] == "text" for m in messages), f"bad messages {body}"
            assert all(len(m["text"].encode("utf-16-le")) // 2 <= 5000 for m in messages), "text over 5000"
            reach = self.friends - self.blocks
            if self.quota is not None and self.used + reach > self.quota:
                return 429, {"message": "You have reached your monthly limit."}, {}
            self.used += reach
            request_id = f"req-{next(self._ids):04d}"
            if retry:
                self._accepted[retry] = request_id
            self.broadcasts.append(body)
            return 200, {}, {"x-line-request-id": request_id}
        return 404, {"message": "Not found"}, {}
