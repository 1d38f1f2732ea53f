"""A fake YouTube Data API v3 (videos.list / videos.update) and OAuth token endpoint.

Access tokens expire (``expire_token()``); the token endpoint checks the refresh grant and the
client credentials. Updates are checked like YouTube does: title and categoryId required, the
description at most 5,000 bytes and free of < and >. With a ``daily_quota``, units are counted per
quota day (a Pacific-time date of koho's injected clock) and a request the day has no room for is
refused 403 ``quotaExceeded``, as YouTube does, until the day rolls over.
"""

from __future__ import annotations

import itertools
from urllib.parse import parse_qsl

from tests.fakes.base import FakeApi, Seen

CLIENT_ID = "1234-koho.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-yt-Secret-6a7b"
REFRESH_TOKEN = "1//yt-refresh-Secret-2e9f"


class FakeYouTube(FakeApi):
    """``videos`` maps id -> snippet; ``units`` counts quota as YouTube would (``by_day`` per
    quota day); ``daily_quota`` (None: no limit) is the project's units a day."""

    def __init__(self, daily_quota: int | None = None):
        super().__init__()
        self.videos: dict[str, dict] = {}
        self.units = 0
        self.daily_quota = daily_quota
        self.by_day: dict[str, int] = {}
        self.tokens_issued = 0
        self._valid: set[str] = set()
        self._ids = itertools.count(1)

    def add_video(self, vid: str, **snippet) -> None:
        self.videos[vid] = {
            "title": "ねりまほっとライン",
            "categoryId": "25",
            "tags": ["練馬区"],
            "description": "",
            "channelId": "UCkoho",
            **snippet,
        }

    def expire_token(self) -> None:
        self._valid.clear()

    def route(self, seen: Seen):
        if seen.path == "/token":
            form = dict(parse_qsl(seen.body.decode()))
            if (
                form.get("grant_type"),
                form.get("refresh_token"),
                form.get("client_id"),
                form.get("client_secret"),
            ) != ("refresh_token", REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET):
                return 400, {"error": "invalid_grant", "error_description": "Bad Request"}, {}
            token = f"ya29.access-{next(self._ids)}"
            self._valid.add(token)
            self.tokens_issued += 1
            return (
                200,
                {"access_token": token, "expires_in": 3599, "token_type": "Bearer", "scope": form.get("scope", "")},
                {},
            )
        token = seen.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self._valid:
            return (
                401,
                {
                    "error": {
                        "code": 401,
                        "message": "Request had invalid authentication credentials.",
                        "errors": [{"reason": "authError"}],
                    }
                },
                {},
            )
        cost = {"GET": 1, "PUT": 50}.get(seen.method, 0) if seen.path == "/youtube/v3/videos" else 0
        if cost and not self._spend(cost):
            return (
                403,
                {
                    "error": {
                        "code": 403,
                        "message": "The request cannot be completed because you have exceeded your "
                        '<a href="/youtube/v3/getting-started#quota">quota</a>.',
                        "errors": [{"reason": "quotaExceeded", "domain": "youtube.quota"}],
                    }
                },
                {},
            )
        if seen.method == "GET" and seen.path == "/youtube/v3/videos":
            assert seen.query.get("part") == "snippet", f"part {seen.query.get('part')}"
            vid = seen.query.get("id")
            items = [{"kind": "youtube#video", "id": vid, "snippet": self.videos[vid]}] if vid in self.videos else []
            return 200, {"kind": "youtube#videoListResponse", "items": items}, {}
        if seen.method == "PUT" and seen.path == "/youtube/v3/videos":
            body = seen.json()
            snippet = body.get("snippet", {})
            assert body.get("id") in self.videos, "unknown video"
            assert snippet.get("title") and snippet.get("categoryId"), "title and categoryId are required"
            text = snippet.get("description", "")
            if len(text.encode("utf-8")) > 5000 or "<" in text or ">" in text:
                return (
                    400,
                    {
                        "error": {
                            "code": 400,
                            "message": "The request metadata specifies an invalid video description.",
                            "errors": [{"reason": "invalidDescription"}],
                        }
                    },
                    {},
                )
            self.videos[body["id"]].update(snippet)
            return 200, {"kind": "youtube#video", "id": body["id"], "snippet": self.videos[body["id"]]}, {}
        return 404, {"error": {"code": 404, "message": "Not Found"}}, {}

    def _spend(self, units: int) -> bool:
        """Count ``units`` on today's quota (an invalid request costs its units too, as on
        YouTube); False when the day has no room for them."""
        from channels.youtube import quota_day

        day = quota_day()  # koho's injected clock: the test moves the day
        if self.daily_quota is not None and self.by_day.get(day, 0) + units > self.daily_quota:
            return False
        self.by_day[day] = self.by_day.get(day, 0) + units
        self.units += units
        return True
