"""YouTube: the description of the ねりまほっとライン episode an article names (``youtube.video_id``).

Delivery reads the video's snippet (``videos.list``, 1 quota unit), and writes it back with the
new description (``videos.update``, 50 units) keeping title, category, tags and languages; when
the description is already current nothing is written. The Data API allows 10,000 units a day
(Pacific time); every unit spent is recorded in the ledger (``quota_usage``) and work that would
exceed ``KOHO_YOUTUBE_DAILY_QUOTA`` waits, with the numbers, for the next quota day, as work the
API itself refuses for quota (403 ``quotaExceeded``) does (ADR 0030).

The description follows YouTube's rules: at most 5,000 UTF-8 bytes and no ``<`` or ``>`` (they
become ＜ ＞); the article link comes first, then the text cut at a sentence boundary.

OAuth: a refresh token, client id and client secret from ``KOHO_YOUTUBE_*`` or, for the two
secrets, Prefect Secret blocks (``KOHO_YOUTUBE_REFRESH_TOKEN_BLOCK``,
``KOHO_YOUTUBE_CLIENT_SECRET_BLOCK``); google-auth refreshes the access token when it expires.
Without credentials the transport is ``outbox://outbox/youtube``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from channels.common.api import ApiSettings, QuotaApiChannel, read_settings
from channels.common.posts import request_of
from channels.common.textfit import fit, plain_text
from channels.common.words import correction_label
from koho import clock as koho_clock
from koho.article import Article
from koho.channel import Limits, PlanContext, SpendsQuota
from koho.delivery import Delivery, Receipt
from koho.payloads import ApiRequest
from koho.quota import QuotaBook
from koho.secret_blocks import secret_or_block
from koho.site import Site

if TYPE_CHECKING:
    from googleapiclient._apis.youtube.v3 import Video, VideoSnippet
    from googleapiclient.errors import HttpError

API = "https://youtube.googleapis.com/"
TOKEN_URI = "https://oauth2.googleapis.com/token"
SCOPES = ["https://www.googleapis.com/auth/youtube"]
DESCRIPTION_MAX_BYTES = 5000
LIST_COST, UPDATE_COST = 1, 50
#: The Data API's quota day ends at midnight Pacific time.
QUOTA_ZONE = ZoneInfo("America/Los_Angeles")
#: Snippet fields videos.update accepts and koho keeps as they are.
KEPT = ("title", "categoryId", "tags", "defaultLanguage", "defaultAudioLanguage")
LIMITS = Limits(body_max=DESCRIPTION_MAX_BYTES, length_unit="bytes", overflow="truncate", batch_size=20)


class YouTubeSettings(ApiSettings):
    """``KOHO_YOUTUBE_*``: OAuth client and refresh token, endpoints, the daily unit budget."""

    model_config = SettingsConfigDict(env_prefix="KOHO_YOUTUBE_", extra="ignore")
    OUTBOX: ClassVar[str] = "outbox://outbox/youtube"

    api_url: str = API
    token_uri: str = TOKEN_URI
    client_id: str = ""
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    client_secret_block: str = ""
    refresh_token_block: str = ""
    daily_quota: int = 10_000
    timeout: float = 20.0

    def api(self) -> str:
        """The Data API's root URL."""
        return self.api_url

    def missing(self) -> list[str]:
        """The client id and the two secrets (each or the block that holds it), those not set."""
        return (
            [self.env("client_id")] * (not self.client_id)
            + [f"{self.env('client_secret')} (or _BLOCK)"]
            * (self.client_secret is None and not self.client_secret_block)
            + [f"{self.env('refresh_token')} (or _BLOCK)"]
            * (self.refresh_token is None and not self.refresh_token_block)
        )

    def secrets(self) -> tuple[str, str]:
        """(client secret, refresh token): from the environment, else from Prefect Secret blocks
        (``koho.secret_blocks``: channels import no Prefect)."""
        return (
            secret_or_block(self.client_secret, self.client_secret_block, self.env("client_secret_block")),
            secret_or_block(self.refresh_token, self.refresh_token_block, self.env("refresh_token_block")),
        )


def load_settings() -> YouTubeSettings:
    """Read ``KOHO_YOUTUBE_*`` (a malformed value is a configuration error naming it)."""
    return read_settings(YouTubeSettings)


def clean(text: str) -> str:
    """YouTube refuses ``<`` and ``>`` in descriptions: use the full-width forms."""
    return text.replace("<", "＜").replace(">", "＞")


def description(article: Article, site: Site) -> str:
    """The link first, then title, change note, summary and body, within 5,000 UTF-8 bytes."""
    link = site.article_url(article.id)
    parts = [article.title]
    if article.change_note:
        parts.append(f"{correction_label(article.language)}{article.change_note}")
    parts += [article.summary, plain_text(article.html)]
    head = f"{link}\n\n"
    text = clean("\n\n".join(p for p in parts if p))
    return fit(LIMITS, [text], lead=head)


def quota_day(now: datetime | None = None) -> str:
    """The Data API quota period ``now`` falls in (a Pacific-time date)."""
    return (now or koho_clock.now()).astimezone(QUOTA_ZONE).date().isoformat()


def next_quota_day(now: datetime) -> datetime:
    """When the quota day ``now`` falls in ends: the next midnight Pacific time (aware UTC; a
    daylight-saving change that day moves it, which the zone knows)."""
    day = now.astimezone(QUOTA_ZONE).date() + timedelta(days=1)
    return datetime.combine(day, time(0), QUOTA_ZONE).astimezone(UTC)


#: The API's reasons that mean the project's daily units are spent: over at the quota day's end.
DAILY_REASONS = ("quotaExceeded", "dailyLimitExceeded")
#: Reasons that mean a short-term rate (requests per 100 s): no reset time is given, so a
#: transient failure with back-off, not a wait until tomorrow.
RATE_REASONS = ("rateLimitExceeded", "userRateLimitExceeded")


class YouTubeChannel(QuotaApiChannel, SpendsQuota):
    """Keeps each related video's description in step with its article; the Data API's daily
    units are booked in the run's ledger (``SpendsQuota``)."""

    name: ClassVar[str] = "youtube"
    limits: ClassVar[Limits] = LIMITS

    api_name: ClassVar[str] = "the Data API"
    settings: YouTubeSettings

    def __init__(
        self, settings: YouTubeSettings, base_dir: Path | None = None, clock: Callable[[], datetime] | None = None
    ):
        super().__init__(settings, base_dir)
        self._clock = clock or koho_clock.now

    def open_booked(self, book: QuotaBook) -> YouTubeApi:
        """google-api-python-client's service (imported only when the API is used), booking units."""
        return YouTubeApi(self.url, self.settings, book, self._clock)

    def plan(self, article: Article, ctx: PlanContext) -> list[Delivery]:
        """One description update per revision of an article that names a video."""
        if not article.youtube_video_id or article.withdrawn:
            return []
        vid = article.youtube_video_id
        request = ApiRequest(
            "PUT",
            f"{API}youtube/v3/videos?part=snippet",
            json={
                "id": vid,
                "snippet": {
                    "description": description(article, ctx.site),
                    **{k: "(kept from videos.list)" for k in ("title", "categoryId")},
                },
            },
            refers_to=vid,
            after=ApiRequest("GET", f"{API}youtube/v3/videos?part=snippet&id={vid}"),
        )
        return [
            Delivery(
                self.name, f"video-{vid}", article.id, article.revision, article.language, request, "application/json"
            )
        ]

    def send(self, api: YouTubeApi, batch: Sequence[Delivery]) -> list[Receipt]:
        """Write each description."""
        return [api.update(d) for d in batch]


class YouTubeApi:
    """google-api-python-client over an authorized httplib2 client; units booked in ``book``."""

    PROVIDER = "youtube-data-api"

    def __init__(self, url: str, settings: YouTubeSettings, book: QuotaBook, clock: Callable[[], datetime]):
        import google_auth_httplib2
        import httplib2
        from google.oauth2.credentials import Credentials
        from googleapiclient.discovery import build

        client_secret, refresh_token = settings.secrets()
        # google-auth ships types, but not for this constructor's parameters.
        self.credentials = Credentials(  # type: ignore[no-untyped-call]
            token=None,
            refresh_token=refresh_token,
            client_id=settings.client_id,
            client_secret=client_secret,
            token_uri=settings.token_uri,
            scopes=SCOPES,
        )
        http = google_auth_httplib2.AuthorizedHttp(self.credentials, http=httplib2.Http(timeout=settings.timeout))
        # static_discovery: the API description ships with the library, no discovery request.
        self.service = build(
            "youtube",
            "v3",
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": url},
        )
        self.book = book
        self.budget = settings.daily_quota
        self._clock = clock
        #: The quota day on which the API itself said the units are spent (403 quotaExceeded):
        #: koho's book was behind (another application of the project), and every further
        #: update that day waits without a request.
        self._spent_day: str | None = None

    def _refuse(self, key: str, need: int) -> Receipt | None:
        now = self._clock()
        day = quota_day(now)
        if need > self.budget:  # no day ever has room for it: a setting to fix, not a wait
            return Receipt.failed(
                key, f"refused: this update needs up to {need} units and the daily budget is {self.budget:,}"
            )
        if self._spent_day == day:
            return _waits(key, f"the Data API refused an earlier update on {day} (Pacific time) for quota", now)
        spent = self.book.quota_spent(self.PROVIDER, day)
        if spent + need > self.budget:
            return _waits(
                key,
                f"the Data API budget is {self.budget:,} units a day; {spent:,} are spent on {day} "
                f"(Pacific time) and this update needs up to {need}",
                now,
            )
        return None

    def _spend(self, units: int) -> None:
        self.book.spend_quota(self.PROVIDER, quota_day(self._clock()), units)

    def update(self, delivery: Delivery) -> Receipt:
        """Read the snippet, write the description if it changed; account for every unit."""
        from google.auth.exceptions import RefreshError, TransportError
        from googleapiclient.errors import HttpError

        request = request_of(delivery)
        key, vid = delivery.key, request.refers_to
        if vid is None:  # plan() always names it
            return Receipt.failed(key, "the request names no video")
        refused = self._refuse(key, LIST_COST + UPDATE_COST)
        if refused:
            return refused
        wanted = request.json_field("snippet", "description")
        spent = 0
        try:
            spent += LIST_COST
            found = self.service.videos().list(part="snippet", id=vid).execute(num_retries=0)
            items = found.get("items") or []
            if not items:
                return Receipt.failed(key, f"no video {vid} visible to these credentials (units: {spent})")
            snippet = items[0]["snippet"]
            if snippet.get("description", "") == wanted:
                return Receipt.skipped(key, f"description already current (units: {spent})", vid)
            kept = {k: v for k, v in snippet.items() if k in KEPT}
            body: Video = {"id": vid, "snippet": cast("VideoSnippet", {**kept, "description": wanted})}
            spent += UPDATE_COST
            answer = self.service.videos().update(part="snippet", body=body).execute(num_retries=0)
        except HttpError as exc:
            status = int(exc.resp.status)
            reason = _reason(exc)
            why = f"YouTube {status}: {reason} (units: {spent})"
            codes = set(reason.rpartition("[")[2].rstrip("]").split(","))
            if status == 403 and codes & set(DAILY_REASONS):
                now = self._clock()
                self._spent_day = quota_day(now)
                return _waits(key, why, now)
            if status == 429 or status >= 500 or (status == 403 and codes & set(RATE_REASONS)):
                return Receipt.transient(key, why)
            return Receipt.failed(key, why)
        except RefreshError as exc:
            # The OAuth server's error code (invalid_grant, ...), never the request.
            code = exc.args[1].get("error") if len(exc.args) > 1 and isinstance(exc.args[1], dict) else "refused"
            return Receipt.failed(key, f"YouTube OAuth token refresh failed: {code}")
        except (TransportError, OSError, TimeoutError) as exc:
            return Receipt.transient(key, f"YouTube unreachable: {type(exc).__name__} (units: {spent})")
        finally:
            if spent:
                self._spend(spent)
        if answer.get("id") != vid:
            return Receipt.failed(key, f"YouTube answered without the video id (units: {spent})")
        return Receipt.sent(key, vid, f"description updated (units: {spent})")

    def close(self) -> None:
        """Close the HTTP connections."""
        self.service.close()


def _waits(key: str, why: str, now: datetime) -> Receipt:
    """An update the quota day has no room for: it goes out when the day ends."""
    return Receipt.waits(
        key,
        f"waiting for YouTube's quota: {why}; it goes out when the quota day ends (midnight Pacific time)",
        next_quota_day(now),
    )


def _reason(exc: HttpError) -> str:
    try:
        error = json.loads(exc.content)["error"]
        reasons = ",".join(e.get("reason", "") for e in error.get("errors", []))
        return " ".join(f"{error.get('message', '')} [{reasons}]".split())[:300]
    except (ValueError, KeyError, TypeError):
        return str(exc.resp.reason)
