"""Deliveries (what a channel plans to send) and receipts (what the transport says happened)."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from koho.payloads import ApiRequest, MailRequest, Packed, Payload, PressRequest, RecordOnly


class State(StrEnum):
    """Ledger states. ``sent`` means the provider accepted the delivery, nothing less.

    ``uncertain``: the request went out and no answer came (a timeout after sending, a connection
    lost after SMTP DATA), or a crashed run's lease was taken over. Never resent blindly: a later
    run asks the provider where the channel can (``Reconciles``), else resends it as a counted
    possible duplicate (mail is at-least-once; file writes and LINE's retry key are idempotent).
    """

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNCERTAIN = "uncertain"


#: States a run may still send (claim): new or retried work, and outcomes to reconcile.
OPEN_STATES = (State.PENDING, State.UNCERTAIN)


def by_bytes(body: bytes, prefix: str) -> str:
    """A site file's revision from its bytes (ADR 0014): the same bytes are recorded once."""
    return prefix + hashlib.sha256(body).hexdigest()[:16]


def delivery_key(channel: str, target: str, article_id: str, revision: str, language: str | None) -> str:
    """The idempotency key ``channel:target:article_id:revision[:language]``."""
    parts = [channel, target, article_id, revision]
    if language:
        parts.append(language)
    return ":".join(parts)


@dataclass(frozen=True)
class Delivery:
    """One thing a channel will send: a page, a feed file, a media file, a mail, an API request.

    ``payload`` is what will be sent, typed (``koho.payloads``): a file's bytes, the media file
    to copy, the provider's request, the recipient and item of a mail, or nothing to send but a
    row to record. Planning is pure, and a dry run can show precisely what would go out.
    """

    channel: str
    target: str
    article_id: str
    revision: str
    language: str | None
    payload: Payload
    content_type: str = "application/octet-stream"

    @functools.cached_property
    def key(self) -> str:
        """Idempotency key; a unique index on it makes re-runs no-ops. Made once per delivery (a
        fan-out's record, claim, send, receipt and tally each ask for it: 14 joins per mail)."""
        return delivery_key(self.channel, self.target, self.article_id, self.revision, self.language)

    def body(self) -> bytes:
        """The bytes a store or an outbox writes: a file's (read from the source for copied
        media), or an API request's JSON. A mail is rendered by its channel, and a record-only
        row has no bytes: asking for theirs is a bug (TypeError)."""
        payload = self.payload
        if isinstance(payload, Path):  # a media file: read without following a link (koho.media)
            from koho.media import read_regular

            return read_regular(payload)
        if isinstance(payload, ApiRequest):
            return payload.to_bytes()
        if isinstance(payload, Packed):
            return payload.unpack()
        if isinstance(payload, (MailRequest, PressRequest, RecordOnly)):
            raise TypeError(f"{self.key}: a {type(payload).__name__} has no bytes of its own")
        return payload


@dataclass(frozen=True)
class Receipt:
    """The outcome of one delivery.

    ``retry`` marks a transient failure (429, 5xx, timeout): the row stays pending and the
    delivery is tried again, after ``retry_after`` seconds when the provider said so.
    ``until`` marks a wait: a quota that resets at a known time refused it (ADR 0030); the row
    stays pending, no run sends it before then, and it is neither a failure nor late meanwhile.
    """

    key: str
    state: State
    provider_ref: str | None = None
    detail: str | None = None
    retry: bool = False
    retry_after: float | None = None
    #: Further provider ids of the same delivery that reconciliation found (a post made twice
    #: before koho knew): recorded as rows of their own, so a withdrawal deletes them too.
    also: tuple[str, ...] = ()
    #: A wait's end (aware): when the provider's quota resets.
    until: datetime | None = None

    @classmethod
    def sent(cls, key: str, ref: str | None, detail: str | None = None) -> Receipt:
        """The provider accepted it; ``ref`` is its id (ETag, message id, post id)."""
        return cls(key, State.SENT, ref, detail)

    @classmethod
    def skipped(cls, key: str, why: str, ref: str | None = None) -> Receipt:
        """Nothing was sent, for a stated reason (unchanged bytes, embargo, not configured)."""
        return cls(key, State.SKIPPED, ref, why)

    @classmethod
    def failed(cls, key: str, why: str) -> Receipt:
        """Permanent failure with the provider's reason; not retried automatically."""
        return cls(key, State.FAILED, None, why)

    @classmethod
    def transient(cls, key: str, why: str, retry_after: float | None = None) -> Receipt:
        """Try again later; the ledger row stays pending."""
        return cls(key, State.PENDING, None, why, retry=True, retry_after=retry_after)

    @classmethod
    def waits(cls, key: str, why: str, until: datetime) -> Receipt:
        """A quota refused it until ``until`` (aware), when it resets: pending, sent by the first
        run after that; ``why`` says so in words an operator understands."""
        return cls(key, State.PENDING, None, why, until=until)

    @classmethod
    def uncertain(cls, key: str, why: str) -> Receipt:
        """The request went out and no answer came: reconciled by a later run, never resent at once."""
        return cls(key, State.UNCERTAIN, None, why)
