"""A fake Facebook Graph API: page feed posts, comments and deletions, bearer token checked."""

from __future__ import annotations

import itertools
from urllib.parse import parse_qsl

from tests.fakes.base import FakeApi, Seen

PAGE_ID = "104857600000001"
PAGE_TOKEN = "EAAG-page-Secret-5d1e"


class FakeGraph(FakeApi):
    """Posts in ``self.posts`` (id -> form), comments in ``self.comments`` (post id -> messages)."""

    def __init__(self, version: str = "v21.0"):
        super().__init__()
        self.version = version
        self.posts: dict[str, dict] = {}
        self.comments: dict[str, list[str]] = {}
        self._ids = itertools.count(9000001)

    def route(self, seen: Seen):
        if seen.headers.get("Authorization") != f"Bearer {PAGE_TOKEN}":
            return 400, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}, {}
        assert "access_token" not in seen.query, "token in the URL"
        prefix = f"/{self.version}/"
        assert seen.path.startswith(prefix), f"unexpected path {seen.path}"
        parts = seen.path[len(prefix) :].split("/")
        form = dict(parse_qsl(seen.body.decode()))
        if seen.method == "POST" and parts == [PAGE_ID, "feed"]:
            assert form.get("message") and form.get("link", "").startswith("https://"), f"bad feed post {form}"
            post_id = f"{PAGE_ID}_{next(self._ids)}"
            self.posts[post_id] = form
            return 200, {"id": post_id}, {}
        if seen.method == "GET" and parts == [PAGE_ID, "feed"]:
            newest = sorted(self.posts, reverse=True)[: int(seen.query.get("limit", 25))]
            return 200, {"data": [{"id": i, "message": self.posts[i]["message"]} for i in newest]}, {}
        if seen.method == "GET" and len(parts) == 2 and parts[1] == "comments" and parts[0] in self.posts:
            found = self.comments.get(parts[0], [])
            return 200, {"data": [{"id": f"{parts[0]}_c{n}", "message": m} for n, m in enumerate(found, 1)]}, {}
        if seen.method == "POST" and len(parts) == 2 and parts[1] == "comments":
            if parts[0] not in self.posts:
                return 400, {"error": {"message": "Unsupported post request.", "code": 100}}, {}
            self.comments.setdefault(parts[0], []).append(form["message"])
            return 200, {"id": f"{parts[0]}_c{len(self.comments[parts[0]])}"}, {}
        if seen.method == "DELETE" and len(parts) == 1:
            if self.posts.pop(parts[0], None) is None:
                return 404, {"error": {"message": "Object does not exist", "code": 100}}, {}
            return 200, {"success": True}, {}
        return 404, {"error": {"message": "Unknown path", "code": 803}}, {}
