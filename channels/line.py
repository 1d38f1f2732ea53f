"""The ward's LINE official account: broadcasts for urgent news and for each 区報 issue.

A broadcast reaches every friend of the account and costs one message per friend from the
account's monthly quota, so it is kept for what everyone needs to see now (``priority:
urgent``) and for the bulletin issue. Before each broadcast the quota the API reports is read
(``GET /v2/bot/message/quota`` and ``/quota/consumption``) and compared with the friends a
broadcast reaches (the Insight API's followers minus blocks, or ``KOHO_LINE_AUDIENCE``): a
broadcast that would exceed the month's quota is not sent; it waits, with the numbers, for the
quota to renew on the first of next month (Japan time, the account's), as one LINE itself refuses
for the monthly limit (429) does (ADR 0030). What
koho broadcast is booked in the run's ledger (``SpendsQuota``: ``quota_usage``, by month), and
counts when it is more than LINE reports yet (its consumption figures lag).

Each broadcast carries an ``X-Line-Retry-Key`` derived from its ledger key: if a timeout hid an
accepted broadcast, the retry is answered 409 with the accepted request's id instead of reaching
everyone twice. Transport by ``KOHO_LINE_URL``: empty means the API (``KOHO_LINE_API_URL``, the
SDK's host) when a channel access token is set, else ``outbox://outbox/line``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from channels.common.api import ApiSettings, QuotaApiChannel, read_settings
from channels.common.posts import ONCE, request_of
from channels.common.textfit import fit
from koho import clock as koho_clock
from koho.article import Article
from koho.bulletin import BulletinIssue
from koho.channel import Limits, PlanContext, PlansIssues, SpendsQuota
from koho.delivery import Delivery, Receipt
from koho.payloads import ApiRequest
from koho.quota import QuotaBook

if TYPE_CHECKING:
    from linebot.v3.messaging.exceptions import ApiException
from koho.social_text import inert

API = "https://api.line.me"
#: LINE's limit on one text message, in UTF-16 code units (an emoji counts 2).
TEXT_MAX = 5000
BROADCAST = "broadcast"
LIMITS = Limits(body_max=TEXT_MAX, length_unit="utf16", overflow="truncate", batch_size=5)


#: The official account's time zone: its monthly quota renews at midnight on the 1st there.
QUOTA_ZONE = ZoneInfo("Asia/Tokyo")


def next_quota_month(now: datetime) -> datetime:
    """When the quota month ``now`` falls in ends: the 1st of next month, 00:00 Japan time (aware)."""
    local = now.astimezone(QUOTA_ZONE)
    first = date(local.year + local.month // 12, local.month % 12 + 1, 1)
    return datetime.combine(first, time(0), QUOTA_ZONE)


def _waits(key: str, why: str, now: datetime) -> Receipt:
    """A broadcast the month's quota has no room for: it goes out when the quota renews."""
    until = next_quota_month(now)
    return Receipt.waits(
        key, f"waiting for LINE's monthly quota: {why}; it goes out when the quota renews on {until:%Y-%m-%d}", until
    )


class LineSettings(ApiSettings):
    """``KOHO_LINE_*``: the channel access token, the API host and the audience fallback."""

    model_config = SettingsConfigDict(env_prefix="KOHO_LINE_", extra="ignore")
    OUTBOX: ClassVar[str] = "outbox://outbox/line"

    api_url: str = API
    channel_access_token: SecretStr | None = None
    #: Friends a broadcast reaches when the Insight API has no figure yet (0: refuse instead).
    audience: int = 0

    def api(self) -> str:
        """The Messaging API's host (the SDK's)."""
        return self.api_url

    def missing(self) -> list[str]:
        """The channel access token, if not set."""
        return [self.env("channel_access_token")] * (self.channel_access_token is None)


def load_settings() -> LineSettings:
    """Read ``KOHO_LINE_*`` (a malformed value is a configuration error naming it)."""
    return read_settings(LineSettings)


def broadcast_text(title: str, summary: str, url: str, mentions: Iterable[str] = ()) -> str:
    """Title, summary and link within LINE's 5,000 units (the link is never cut); @names not in
    ``mentions``, cashtags and URLs in the title and summary made inert (``koho.social_text``)."""
    return fit(LIMITS, [inert(title, mentions), inert(summary, mentions)], url)


def retry_key(delivery_key: str) -> str:
    """The same UUID for every attempt of one delivery: LINE then accepts it at most once."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "koho:" + delivery_key))


class LineChannel(QuotaApiChannel, PlansIssues[PlanContext], SpendsQuota):
    """Broadcasts urgent articles and bulletin issues to the account's friends, within the
    month's message quota (``SpendsQuota``)."""

    name: ClassVar[str] = "line"
    limits: ClassVar[Limits] = LIMITS
    api_name: ClassVar[str] = "the Messaging API"
    settings: LineSettings

    def open_booked(self, book: QuotaBook) -> LineApi:
        """line-bot-sdk's clients (imported only when the API is used), booking broadcasts' messages."""
        return LineApi(self.url, self.settings, book)

    def _delivery(self, item_id: str, language: str, text: str) -> Delivery:
        request = ApiRequest(
            "POST", f"{API}/v2/bot/message/broadcast", json={"messages": [{"type": "text", "text": text}]}
        )
        return Delivery(self.name, BROADCAST, item_id, ONCE, language, request, "application/json")

    def plan(self, article: Article, ctx: PlanContext) -> list[Delivery]:
        """One broadcast, once, for an urgent article; nothing for other news."""
        if not article.urgent or article.withdrawn:
            return []
        url = ctx.site.article_url(article.id)
        return [
            self._delivery(
                article.id, article.language, broadcast_text(article.title, article.summary, url, article.mentions)
            )
        ]

    def plan_issue(self, issue: BulletinIssue, ctx: PlanContext) -> list[Delivery]:
        """One broadcast, once, when a 区報 issue has appeared: its name and its page."""
        if not issue.is_due(ctx.now) or not issue.articles:
            return []
        url = ctx.site.issue_url(issue.day)
        # Each title under its own article's mentions; inert() leaves inert text as it is.
        titles = "\n".join(f"・{inert(a.title, a.mentions)}" for a in issue.articles)
        mentions = {m for a in issue.articles for m in a.mentions}
        return [
            self._delivery(
                issue.id, ctx.site.language, broadcast_text(f"{issue.label}を発行しました。", titles, url, mentions)
            )
        ]

    def send(self, api: LineApi, batch: Sequence[Delivery]) -> list[Receipt]:
        """Broadcast each delivery after checking the month's quota."""
        return [api.broadcast(d) for d in batch]


class LineApi:
    """line-bot-sdk v3: quota, audience and broadcast; every outcome is a receipt."""

    PROVIDER = "line-messaging-api"

    def __init__(
        self, url: str, settings: LineSettings, book: QuotaBook, clock: Callable[[], datetime] = koho_clock.now
    ):
        from linebot.v3 import insight, messaging

        # Set: the channel checked its settings before opening the API.
        token = settings.channel_access_token.get_secret_value() if settings.channel_access_token else ""
        configs = [module.Configuration(host=url.rstrip("/"), access_token=token) for module in (messaging, insight)]
        for config in configs:
            # urllib3 would otherwise retry 429s on its own; koho retries with the ledger's knowledge.
            config.retries = False
        self._messaging_client = messaging.ApiClient(configs[0])
        self._insight_client = insight.ApiClient(configs[1])
        self.messaging = messaging.MessagingApi(self._messaging_client)
        self.insight = insight.Insight(self._insight_client)
        self.settings = settings
        self.timeout = (min(5.0, settings.timeout), settings.timeout)
        self._clock = clock
        #: Where broadcasts' messages are booked by month: LINE's consumption figures lag.
        self.book = book
        #: What the broadcast being sent costs (set by the quota check).
        self._pending_cost = 0

    def _today(self) -> date:
        """The account's date (Japan time): LINE's quota months and Insight's days are its."""
        return self._clock().astimezone(QUOTA_ZONE).date()

    def _month(self) -> str:
        """The quota period: LINE's quota is per calendar month."""
        return self._today().strftime("%Y-%m")

    def _audience(self) -> int | None:
        # Insight figures are final a day or two later (Asia/Tokyo dates); take the newest ready one.
        for days_back in (1, 2):
            day = (self._today() - timedelta(days=days_back)).strftime("%Y%m%d")
            found = self.insight.get_number_of_followers(var_date=day, _request_timeout=self.timeout)
            if found.status == "ready" and found.followers is not None:
                return max(0, int(found.followers) - int(found.blocks or 0))
        return self.settings.audience or None

    def _quota_problem(self, key: str) -> Receipt | None:
        """Why the month's quota lets this broadcast not go out now: it waits for the next
        month, or fails when no month could hold it (or the audience is unknown)."""
        quota = self.messaging.get_message_quota(_request_timeout=self.timeout)
        if quota.type != "limited":
            return None
        used = self.messaging.get_message_quota_consumption(_request_timeout=self.timeout).total_usage
        used = max(used, self.book.quota_spent(self.PROVIDER, self._month()))
        audience = self._audience()
        if audience is None:
            return Receipt.failed(
                key,
                "refused: LINE reports a monthly quota but no follower count yet; set KOHO_LINE_AUDIENCE "
                "to the number of friends a broadcast reaches",
            )
        if audience > quota.value:  # no month has room: the plan must change, waiting cannot help
            return Receipt.failed(
                key,
                f"refused: a broadcast reaches about {audience:,} friends and the LINE monthly quota is "
                f"{quota.value:,} messages",
            )
        if used + audience > quota.value:
            return _waits(
                key,
                f"the quota is {quota.value:,} messages, {used:,} are used, and a broadcast reaches about "
                f"{audience:,} friends ({used + audience - quota.value:,} too many)",
                self._clock(),
            )
        self._pending_cost = audience
        return None

    def broadcast(self, delivery: Delivery) -> Receipt:
        """Check the quota, then broadcast with a retry key; the receipt holds LINE's request id."""
        from linebot.v3.messaging import BroadcastRequest, TextMessage
        from linebot.v3.messaging.exceptions import ApiException

        key = delivery.key
        self._pending_cost = 0
        try:
            problem = self._quota_problem(key)
            if problem:
                return problem
            text = str(request_of(delivery).json_field("messages", 0, "text"))
            answer = self.messaging.broadcast_with_http_info(
                BroadcastRequest(messages=[TextMessage(text=text)]),
                x_line_retry_key=retry_key(key),
                _request_timeout=self.timeout,
            )
        except ApiException as exc:
            return _receipt_for_error(key, exc, self._clock())
        except Exception as exc:  # urllib3 timeouts and connection errors
            if type(exc).__module__.startswith(("urllib3", "socket")) or isinstance(exc, OSError):
                return Receipt.transient(key, f"LINE unreachable: {type(exc).__name__}")
            raise
        if self._pending_cost:
            self.book.spend_quota(self.PROVIDER, self._month(), self._pending_cost)
        request_id = (answer.headers or {}).get("x-line-request-id") or (answer.headers or {}).get("X-Line-Request-Id")
        if not request_id:
            return Receipt.failed(key, "LINE accepted the broadcast without a request id: not counted as sent")
        return Receipt.sent(key, f"line-request:{request_id}")

    def close(self) -> None:
        """Close both SDK clients."""
        self._messaging_client.close()
        self._insight_client.close()


def _receipt_for_error(key: str, exc: ApiException, now: datetime) -> Receipt:
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    try:
        text = " ".join(str(json.loads(exc.body or b"{}").get("message", exc.reason)).split())[:300]
    except (ValueError, AttributeError):
        text = str(exc.reason)
    why = f"LINE {exc.status}: {text}"
    if exc.status == 409 and headers.get("x-line-accepted-request-id"):
        # The same retry key was accepted before (a timeout hid it): sent once, not twice.
        return Receipt.sent(key, f"line-request:{headers['x-line-accepted-request-id']}", "accepted earlier")
    if exc.status == 429 and "monthly limit" in text.lower():
        return _waits(key, why, now)
    if exc.status == 429 or exc.status >= 500:
        wait = headers.get("retry-after")
        return Receipt.transient(key, why, float(wait) if wait and wait.isdigit() else None)
    return Receipt.failed(key, why)
