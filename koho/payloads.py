"""What a delivery carries: exactly what will be sent, typed (ADR 0024).

A ``Delivery``'s payload is one of:

* ``bytes`` — a file's content, written to a store (pages, feeds, e-books);
* ``Packed`` — the same, compressed while a full build holds every page of the site;
* ``pathlib.Path`` — a media file under content/media/, copied to a store as it is;
* ``ApiRequest`` — one HTTP request to a provider (X, Facebook, LINE, YouTube): what the
  ``outbox://`` transport writes and what the API client carries out;
* ``MailRequest`` — one message to one subscriber, rendered at delivery time;
* ``PressRequest`` — one press release to one outlet of the media list, with its PDFs;
* ``RecordOnly`` — a row the ledger keeps with its reason, with nothing to send (a change note
  the post already carries, a language a channel could not be given).

Payloads live in memory for one run and never in the ledger: a row holds the key, the state and
the provider's id, so no address, token or message text is ever stored there. A mail payload
names its recipient by subscriber id in everything it shows (its ``repr`` leaves the address
out), and no payload holds a credential: transports add those when they send.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from koho.article import Article
    from koho.bulletin import BulletinIssue
    from koho.site import Site


@dataclass(frozen=True)
class ApiRequest:
    """One request to a provider's API, as the provider would receive it (no credentials)."""

    method: str
    url: str
    #: A JSON body (X, LINE, YouTube).
    json: Mapping[str, Any] | None = field(default=None, hash=False)
    #: A form-encoded body (Facebook's Graph API).
    form: Mapping[str, str] | None = field(default=None, hash=False)
    #: The provider's id of what the request acts on: the post it answers or deletes, the video
    #: whose description it writes. Not part of the request's bytes.
    refers_to: str | None = None
    #: A request the client makes first (YouTube reads the snippet it keeps).
    after: ApiRequest | None = None

    def as_json(self) -> dict[str, Any]:
        """The request as one JSON object: method, url, its body, the request it comes after."""
        out: dict[str, Any] = {"method": self.method, "url": self.url}
        if self.json is not None:
            out["json"] = self.json
        if self.form is not None:
            out["form"] = self.form
        if self.after is not None:
            out["after"] = self.after.as_json()
        return out

    def to_bytes(self) -> bytes:
        """Stable JSON bytes: what the outbox writes, byte for byte the same on every plan."""
        return json.dumps(self.as_json(), ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8") + b"\n"

    def json_field(self, *path: str | int) -> Any:
        """A value inside the JSON body (``json_field("messages", 0, "text")``); KeyError if absent."""
        value: Any = self.json
        if value is None:
            raise KeyError(path[0] if path else "json")
        for step in path:
            value = value[step]
        return value


@dataclass(frozen=True)
class Digest:
    """A 区報 issue's digest for one reader: the issue and the articles in their topics."""

    issue: BulletinIssue
    articles: tuple[Article, ...]


@dataclass(frozen=True)
class MailRequest:
    """One message to one subscriber: the recipient and what to render for them.

    Rendering waits for delivery, once per article or digest selection for the whole batch:
    tens of thousands of finished messages held in a plan would cost hundreds of megabytes.
    """

    #: The ledger names the recipient by this id (target ``subscriber-<id>``), never the address.
    subscriber_id: int
    #: Where the message goes; left out of ``repr`` so a logged payload names nobody.
    address: str = field(repr=False)
    #: The subscription's link generation, signed into the message's links (``koho.tokens``).
    link_nonce: str
    #: The article mailed, or the digest of an issue.
    item: Article | Digest
    site: Site


@dataclass(frozen=True)
class PressRequest:
    """One press release to one outlet of the media list, composed at delivery time with its
    PDFs read then (ADR 0035). The ledger names the outlet by id (``outlet-<id>``)."""

    outlet_id: int
    #: Where the message goes; left out of ``repr`` so a logged payload names nobody.
    address: str = field(repr=False)
    article: Article
    site: Site


@dataclass(frozen=True)
class RecordOnly:
    """A ledger row with nothing to send: delivering it records ``skipped`` with ``reason``."""

    reason: str


@dataclass(frozen=True)
class Packed:
    """A file's bytes held zlib-compressed until they are written: a full build plans every
    page of the site before it delivers any, and the pages packed take a sixth of the memory
    (ADR 0038). ``unpack`` gives the bytes back."""

    data: bytes = field(repr=False)

    @classmethod
    def of(cls, body: bytes) -> Packed:
        """``body`` packed (level 1: the fastest; HTML still shrinks several times)."""
        return cls(zlib.compress(body, 1))

    def unpack(self) -> bytes:
        """The file's bytes."""
        return zlib.decompress(self.data)


#: What a ``Delivery`` carries (see the module's docstring).
Payload: TypeAlias = bytes | Packed | Path | ApiRequest | MailRequest | PressRequest | RecordOnly
