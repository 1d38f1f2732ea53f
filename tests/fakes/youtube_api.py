"""A fake YouTube Data API v3 (videos.list / videos.update) and OAuth token endpoint.

Access tokens expire (``expire_token()``); the token endpoint checks the refresh grant and the
client credentials. Updates are checked like YouTube does: title and categoryId required, the
description at most 5,000 bytes and free of < and >.
"""

from __future__ import annotations

import itertools
from urllib.parse import parse_qsl

from tests.fakes.base import FakeApi, Seen

CLIENT_ID = "1234-koho.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-yt-Secret-6a7b"
REFRESH_TOKEN = "1//yt-refresh-Secret-2e9f"


class FakeYouTube(FakeApi):
    """``videos`` maps id -> snippet; ``units`` counts quota as YouTube would."""

    def __init__(self):
        super().__init__()
        self.videos: dict[str, dict] = {}
        self.units = 0
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
        if seen.method == "GET" and seen.path == "/youtube/v3/videos":
            self.units += 1
            assert seen.query.get("part") == "snippet", f"part {seen.query.get('part')}"
            vid = seen.query.get("id")
            items = [{"kind": "youtube#video", "id": vid, "snippet": self.videos[vid]}] if vid in self.videos else []
            return 200, {"kind": "youtube#videoListResponse", "items": items}, {}
        if seen.method == "PUT" and seen.path == "/youtube/v3/videos":
            self.units += 50
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
