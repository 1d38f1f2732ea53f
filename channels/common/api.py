"""``ApiChannel``: the skeleton every API channel shares (X, Facebook, LINE, YouTube), in the
spirit of Apprise's ``NotifyBase``.

A channel says only what is its own: its settings (``ApiSettings``: which credentials make it
configured, its API URL, its outbox folder), how to open its client (``open_api``) and how the
client sends a batch (``send``). The base does the rest the same way for all: the transport URL
in force (explicit ``KOHO_<CHANNEL>_URL``, else the API when configured, else
``outbox://outbox/<channel>``), checking that URL and the credentials when the channel is built
(before planning, so the pre-flight names the setting), opening the outbox or the client on first
delivery (so planning needs no credentials and the SDK is imported only when the API is used),
and closing it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from channels.common.outbox import RequestOutbox, deliver_to_outbox, is_outbox
from koho.channel import Limits
from koho.delivery import Delivery, Receipt
from koho.errors import ConfigError
from koho.quota import QuotaBook

S = TypeVar("S", bound=BaseSettings)


class ApiSettings(BaseSettings):
    """What every API channel's ``KOHO_<CHANNEL>_*`` settings have: an explicit transport URL and
    a timeout; subclasses add their credentials and say which are ``missing``."""

    #: Where requests are written when the channel is not configured.
    OUTBOX: ClassVar[str] = "outbox://outbox"

    url: str = ""
    timeout: float = 15.0

    def api(self) -> str:
        """The provider's API URL (a setting where a stand-in may replace it)."""
        raise NotImplementedError

    def missing(self) -> list[str]:
        """The settings the API needs that are not set (environment variable names)."""
        raise NotImplementedError

    def configured(self) -> bool:
        """Every credential the API needs is set."""
        return not self.missing()

    def transport_url(self) -> str:
        """The URL in force: explicit, else the API when configured, else the outbox."""
        return self.url or (self.api() if self.configured() else self.OUTBOX)

    def env(self, name: str) -> str:
        """The environment variable of a setting: ``url`` -> ``KOHO_X_URL``."""
        return f"{self.model_config.get('env_prefix', '')}{name.upper()}"


def read_settings(cls: type[S]) -> S:
    """Instantiate a channel's pydantic-settings class from the environment; a malformed value
    is a configuration error naming the variable, never a traceback."""
    try:
        return cls()
    except ValidationError as exc:
        first = exc.errors()[0]
        prefix = cls.model_config.get("env_prefix", "")
        raise ConfigError(f"{prefix}{str(first['loc'][0]).upper()}: {first['msg']}") from None


class ApiChannel:
    """An API channel: outbox or provider API by URL, checked when built, opened on first use."""

    name: ClassVar[str]
    limits: ClassVar[Limits]
    #: How messages name the provider's API ("the Graph API").
    api_name: ClassVar[str] = "the API"

    def __init__(self, settings: ApiSettings, base_dir: Path | None = None):
        self.settings = settings
        self.url = settings.transport_url()
        self.base_dir = base_dir
        self._client: Any = None
        if is_outbox(self.url):
            return
        if not self.url.startswith(("https://", "http://")):
            raise ConfigError(
                f"{settings.env('url')}={self.url!r}: use outbox://folder or {self.api_name}'s https:// URL"
            )
        missing = settings.missing()
        if missing:
            raise ConfigError(f"{settings.env('url')} is {self.api_name} ({self.url}) but {', '.join(missing)} not set")

    def open_api(self) -> Any:
        """The provider's client for ``self.url`` (called once, on the first delivery)."""
        raise NotImplementedError

    def send(self, api: Any, batch: Sequence[Delivery]) -> list[Receipt]:
        """Send a batch through the client; one receipt per delivery, in order."""
        raise NotImplementedError

    def describe(self) -> str:
        """Where requests go (credentials are never part of it)."""
        return self.url

    def _transport(self) -> Any:
        if self._client is None:
            self._client = RequestOutbox(self.url, self.base_dir) if is_outbox(self.url) else self.open_api()
        return self._client

    def deliver(self, batch: Sequence[Delivery]) -> list[Receipt]:
        """Write each request to the outbox, or send the batch through the API."""
        client = self._transport()
        if isinstance(client, RequestOutbox):
            return deliver_to_outbox(client, batch)
        return self.send(client, batch)

    def ask_api(self, batch: Sequence[Delivery], ask: Callable[[Any, list[Delivery]], list[Receipt]]) -> list[Receipt]:
        """``ask(client, batch)`` through the API (reconciliation); the outbox has nothing to ask:
        its writes are idempotent, so nothing needs looking for."""
        client = self._transport()
        return [] if isinstance(client, RequestOutbox) else ask(client, list(batch))

    def close(self) -> None:
        """Close the client if it holds connections; safe to call twice."""
        if self._client is not None and hasattr(self._client, "close"):
            self._client.close()
        self._client = None


class QuotaApiChannel(ApiChannel):
    """An API channel whose deliveries spend a provider's quota (LINE, YouTube): it takes the
    run's book (``SpendsQuota``) and opens its client only with one, since spending that nobody
    books is a bug. The client is what the channel's ``open_booked`` returns, with a ``book``
    attribute the book is handed on to."""

    _book: QuotaBook | None = None

    def use_quota(self, book: QuotaBook) -> None:
        """Check and book the provider's quota against ``book`` (``SpendsQuota``)."""
        self._book = book
        if self._client is not None and not isinstance(self._client, RequestOutbox):
            self._client.book = book

    def open_api(self) -> Any:
        """The channel's client, booking in the book it was given."""
        if self._book is None:  # the pipeline gives one before delivering
            raise ConfigError(f"{self.name}: delivered without a quota book (pipeline.deliver gives one)")
        return self.open_booked(self._book)

    def open_booked(self, book: QuotaBook) -> Any:
        """The provider's client for ``self.url``, checking and booking its quota in ``book``."""
        raise NotImplementedError
