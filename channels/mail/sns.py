"""SES bounces and complaints delivered by Amazon SNS: verify the message, then act on it.

SNS POSTs a JSON envelope to our HTTP(S) endpoint. Nothing in it is trusted until its signature
checks out against the certificate at ``SigningCertURL``, and that URL is only fetched from an
SNS host over HTTPS (AWS: "Verifying the signatures of Amazon SNS messages"). Then:

* ``SubscriptionConfirmation``: GET ``SubscribeURL`` (same host rules) to confirm.
* ``Notification``: the ``Message`` is SES's JSON, in either shape (``notificationType`` from
  identity notifications, ``eventType`` from event publishing). A permanent bounce moves the
  recipient to ``suppressed``; a transient or undetermined bounce is only logged; a complaint
  moves the recipient to ``unsubscribed``. Addresses we do not know are ignored.
* ``UnsubscribeConfirmation``: logged; we never re-subscribe on our own.

Replays (ADR 0013): a verified message whose ``Timestamp`` is more than ``MAX_AGE`` (an hour)
before koho's clock is refused (400), and each ``MessageId`` is acted on once (``SeenMessages``,
table ``sns_messages``): a captured bounce or complaint replayed after the address signed up
again is answered 200 and changes nothing. The memory only needs to span ``MAX_AGE``, so older
rows are pruned. The SNS delivery policy's retries must stay within that hour (the default does).

Raw message delivery must stay off for the subscription: a raw body carries no signature, so it
is refused as malformed. Addresses are personal data: logs name subscribers by id only.

Why not a library: the Python SNS validators on PyPI (aws-sns-message-validator,
validate-aws-sns-message, validatesns) are unmaintained and verify SignatureVersion 1 (SHA1)
only; ``cryptography`` is already installed and the algorithm is a page long.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from http.client import HTTPMessage
from typing import IO, Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from koho import clock as koho_clock
from koho.ledger_schema import sns_messages
from koho.subscribers import SubscriberStore

log = logging.getLogger(__name__)

#: Hosts SNS serves certificates and confirmations from, in every partition (``.com.cn`` too).
SNS_HOST = r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?"
#: Keys of the string to sign, in byte order, per message type (AWS documents both lists).
SIGNED_KEYS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
#: Keys that may be absent from the signed string (left out, not signed as empty).
_OPTIONAL = {"Subject"}
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
_MAX_CERT_BYTES = 64 * 1024
_MAX_REPLY_BYTES = 64 * 1024
#: Messages signed longer ago than this are refused: a captured one cannot be replayed later.
MAX_AGE = timedelta(hours=1)


class SnsRefused(Exception):
    """A message koho will not act on; ``status`` is the HTTP answer (400 malformed, 403 not
    authentic, 503 could not be checked right now, so SNS retries)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class SnsResult:
    """What one POST did: ``status`` for the HTTP layer, counts of subscribers changed."""

    status: int
    outcome: str  # notification | ignored | subscription-confirmed | unsubscribe-confirmed | refused
    suppressed: int = 0
    unsubscribed: int = 0
    recorded: int = 0  # transient/undetermined bounces: logged, state unchanged
    unchanged: int = 0  # known subscribers already out of the list
    unknown: int = 0  # addresses not in the store
    detail: str = ""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could lead off the allowed host after the URL check passed.
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


class SnsVerifier:
    """Checks SNS signatures; fetches (and caches) signing certificates; confirms subscriptions.

    ``topic_arns`` limits which topics are accepted. Set it in production: without it anyone can
    subscribe this endpoint to a topic of their own and have SNS sign whatever they publish.
    ``host_pattern`` (a full-match regex on the URL's host) and ``schemes`` default to SNS over
    HTTPS; tests widen them to serve certificates from loopback over plain HTTP.
    """

    def __init__(
        self,
        topic_arns: Iterable[str] | None = None,
        *,
        host_pattern: str = SNS_HOST,
        schemes: Iterable[str] = ("https",),
        timeout: float = 10.0,
        cache_size: int = 16,
    ):
        self.topic_arns = frozenset(topic_arns) if topic_arns is not None else None
        self.host = re.compile(host_pattern, re.IGNORECASE)
        self.schemes = frozenset(s.lower() for s in schemes)
        self.timeout = timeout
        self._cache: OrderedDict[str, x509.Certificate] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._opener = urllib.request.build_opener(_NoRedirects)
        if self.topic_arns is None:
            log.warning("SNS: no topic ARNs configured; messages from any SNS topic are accepted")

    def check_url(self, url: str, what: str, suffix: str = "") -> str:
        """``url`` if its scheme and host are allowed, else SnsRefused(403). No network."""
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
            _ = parts.port  # a malformed port raises here rather than at fetch time
        except ValueError:
            raise SnsRefused(403, f"{what} is not a URL") from None
        if parts.scheme.lower() not in self.schemes:
            raise SnsRefused(403, f"{what} scheme {parts.scheme!r} is not allowed")
        # user@host URLs have fooled URL parsers into fetching from the wrong host
        if parts.username is not None or parts.password is not None or not self.host.fullmatch(host):
            raise SnsRefused(403, f"{what} host {host!r} is not an allowed SNS host")
        if suffix and not parts.path.endswith(suffix):
            raise SnsRefused(403, f"{what} does not name a {suffix} file")
        return url

    def verify(self, message: dict[str, Any]) -> None:
        """Raise SnsRefused unless ``message`` (a parsed envelope) is signed by SNS for an allowed
        topic with a currently valid certificate."""
        topic = message.get("TopicArn")
        if self.topic_arns is not None and topic not in self.topic_arns:
            raise SnsRefused(403, f"topic {topic!r} is not one of ours")
        algorithm = _HASHES.get(str(message.get("SignatureVersion", "")))
        if algorithm is None:
            raise SnsRefused(403, f"unsupported SignatureVersion {message.get('SignatureVersion')!r}")
        url = message.get("SigningCertURL")
        if not isinstance(url, str):
            raise SnsRefused(403, "no SigningCertURL")
        signature = message.get("Signature")
        try:
            raw = base64.b64decode(signature if isinstance(signature, str) else "", validate=True)
        except (binascii.Error, ValueError):
            raise SnsRefused(403, "Signature is not base64") from None
        cert = self.certificate(self.check_url(url, "SigningCertURL", ".pem"))
        now = datetime.now(UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise SnsRefused(
                403,
                f"signing certificate is not valid now ({cert.not_valid_before_utc:%Y-%m-%d}"
                f" to {cert.not_valid_after_utc:%Y-%m-%d})",
            )
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise SnsRefused(403, "signing certificate does not hold an RSA key")
        try:
            key.verify(raw, string_to_sign(message), padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            raise SnsRefused(403, "signature does not match the message") from None

    def certificate(self, url: str) -> x509.Certificate:
        """The certificate at ``url`` (already checked), fetched once per URL and kept.

        Trust comes from fetching it over HTTPS from an SNS host, as AWS's own SDK validators do:
        the PEM holds the leaf only, so there is no chain to build offline.
        """
        with self._lock:
            if url in self._cache:
                self._cache.move_to_end(url)
                return self._cache[url]
        try:
            cert = x509.load_pem_x509_certificate(self._get(url, _MAX_CERT_BYTES))
        except ValueError:
            raise SnsRefused(403, "SigningCertURL does not hold a PEM certificate") from None
        with self._lock:
            self._cache[url] = cert
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return cert

    def confirm(self, subscribe_url: str) -> None:
        """GET the SubscribeURL of a verified SubscriptionConfirmation."""
        self._get(self.check_url(subscribe_url, "SubscribeURL"), _MAX_REPLY_BYTES)

    def _get(self, url: str, limit: int) -> bytes:
        try:
            with self._opener.open(url, timeout=self.timeout) as reply:
                data: bytes = reply.read(limit + 1)
        except (urllib.error.URLError, OSError) as exc:
            # Not the sender's fault as far as we can tell: 503 lets SNS retry later.
            raise SnsRefused(503, f"could not fetch {urlsplit(url).hostname}: {exc}") from None
        if len(data) > limit:
            raise SnsRefused(403, f"reply from {urlsplit(url).hostname} is larger than {limit} bytes")
        return data


class SeenMessages:
    """The MessageIds acted on within ``MAX_AGE``, in the ledger's database (``sns_messages``),
    so every worker and a restarted service know them."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def claim(self, message_id: str, sent_at: datetime, now: datetime) -> bool:
        """Record ``message_id``; False if it was recorded before (a replay or SNS's own resend)."""
        with self.engine.begin() as conn:
            conn.execute(delete(sns_messages).where(sns_messages.c.sent_at < now - MAX_AGE))
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(sns_messages).values(message_id=message_id, sent_at=sent_at))
        except IntegrityError:
            return False
        return True

    def forget(self, message_id: str) -> None:
        """Undo a claim whose message could not be acted on, so SNS's retry is."""
        with self.engine.begin() as conn:
            conn.execute(delete(sns_messages).where(sns_messages.c.message_id == message_id))


def signed_at(message: dict[str, Any]) -> datetime:
    """The envelope's ``Timestamp`` (ISO 8601, UTC) as an aware datetime; SnsRefused(400) if not one."""
    try:
        value = datetime.fromisoformat(message["Timestamp"])
    except (ValueError, TypeError):
        raise SnsRefused(400, "Timestamp is not a time") from None
    if value.tzinfo is None:
        raise SnsRefused(400, "Timestamp has no time zone")
    return value.astimezone(UTC)


def string_to_sign(message: dict[str, Any]) -> bytes:
    """The canonical bytes SNS signs: ``key\\nvalue\\n`` for the type's keys, in byte order."""
    out = []
    for key in SIGNED_KEYS[message["Type"]]:
        value = message.get(key)
        if value is None and key in _OPTIONAL:
            continue
        out.append(f"{key}\n{value}\n")
    return "".join(out).encode("utf-8")


def parse_envelope(body: bytes, message_type_header: str | None) -> dict[str, Any]:
    """The SNS envelope as a dict; SnsRefused(400) for anything that is not one."""
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting is malformed too
        raise SnsRefused(400, "body is not JSON") from None
    if not isinstance(message, dict):
        raise SnsRefused(400, "body is not a JSON object")
    kind = message.get("Type")
    if kind not in SIGNED_KEYS:
        raise SnsRefused(400, f"unknown message Type {kind!r}")
    if message_type_header is not None and message_type_header.strip() != kind:
        raise SnsRefused(400, f"x-amz-sns-message-type {message_type_header!r} does not match Type {kind!r}")
    missing = [k for k in SIGNED_KEYS[kind] if k not in _OPTIONAL and not isinstance(message.get(k), str)]
    if missing:
        raise SnsRefused(400, f"{kind} lacks {', '.join(missing)}")
    return message


def handle_sns(
    body: bytes,
    message_type_header: str | None,
    store: SubscriberStore,
    verifier: SnsVerifier,
    now: Callable[[], datetime] | None = None,
) -> SnsResult:
    """Handle one SNS POST (body and the ``x-amz-sns-message-type`` header) end to end.

    Never raises for bad input: the result's status says what to answer (200 done or ignored,
    400 malformed or stale, 403 not authentic, 502/503 retry later). Database errors do
    propagate, so the web layer answers 500 and SNS delivers the message again. ``now`` is
    koho's clock unless the caller injects one.
    """
    # UTC, as the ledger stores times (SQLite compares them as text: an offset must not differ).
    current = (now or koho_clock.now)().astimezone(UTC)
    try:
        message = parse_envelope(body, message_type_header)
        verifier.verify(message)
        sent_at = signed_at(message)  # only now is it SNS's own statement
        if current - sent_at > MAX_AGE:
            raise SnsRefused(400, f"message is older than {MAX_AGE} (Timestamp {message['Timestamp']})")
    except SnsRefused as refused:
        log.warning("SNS message refused (%d): %s", refused.status, refused.reason)
        return SnsResult(refused.status, "refused", detail=refused.reason)
    seen = SeenMessages(store.engine)
    if not seen.claim(message["MessageId"], sent_at, current):
        log.info("SNS message already acted on; ignored")
        return SnsResult(200, "ignored", detail="already processed")
    try:
        result = _act(message, store, verifier)
    except BaseException:
        seen.forget(message["MessageId"])  # SNS delivers it again after our 500
        raise
    if result.status != 200:
        seen.forget(message["MessageId"])
    return result


def _act(message: dict[str, Any], store: SubscriberStore, verifier: SnsVerifier) -> SnsResult:
    kind, topic = message["Type"], message["TopicArn"]
    if kind == "SubscriptionConfirmation":
        try:
            verifier.confirm(message["SubscribeURL"])
        except SnsRefused as refused:
            status = 502 if refused.status == 503 else refused.status
            log.warning("SNS subscription to %s not confirmed: %s", topic, refused.reason)
            return SnsResult(status, "refused", detail=refused.reason)
        log.info("SNS subscription to %s confirmed", topic)
        return SnsResult(200, "subscription-confirmed")
    if kind == "UnsubscribeConfirmation":
        log.warning("SNS: this endpoint was unsubscribed from %s; its bounces no longer arrive here", topic)
        return SnsResult(200, "unsubscribe-confirmed")
    return apply_ses_notification(message["Message"], store, topic)


def apply_ses_notification(text: str, store: SubscriberStore, topic: str = "") -> SnsResult:
    """Act on a verified SES notification (either JSON shape); anything else is ignored."""
    try:
        event = json.loads(text)
    except (ValueError, RecursionError):
        event = None
    if not isinstance(event, dict):
        # SES sends a plain-text test message when an event destination is set up
        log.info("SNS notification from %s is not an SES event; ignored", topic)
        return SnsResult(200, "ignored", detail="not an SES event")
    kind = event.get("eventType") or event.get("notificationType")
    if kind == "Bounce":
        bounce = _object(event.get("bounce"))
        bounce_type = bounce.get("bounceType")
        action = "suppressed" if bounce_type == "Permanent" else None
        recipients, why = bounce.get("bouncedRecipients"), f"{bounce_type} bounce"
    elif kind == "Complaint":
        complaint = _object(event.get("complaint"))
        action, recipients, why = "unsubscribed", complaint.get("complainedRecipients"), "complaint"
    else:
        return SnsResult(200, "ignored", detail=f"SES {kind} event")
    counts = dict(suppressed=0, unsubscribed=0, recorded=0, unchanged=0, unknown=0)
    for recipient in recipients if isinstance(recipients, list) else []:
        raw = _object(recipient).get("emailAddress")
        found = store.find(parseaddr(raw)[1] or raw) if isinstance(raw, str) else None
        if found is None:
            counts["unknown"] += 1
        elif action is None:
            counts["recorded"] += 1
            log.info("subscriber %d: %s (state %s kept)", found.id, why, found.state)
        elif found.state in ("pending", "confirmed"):
            # Only people still on the list move: a suppressed address must not become
            # unsubscribed (those are erased later, and an erased address can be imported again).
            store.set_state(found.id, action)
            counts[action] += 1
            log.info("subscriber %d: %s -> %s after a %s", found.id, found.state, action, why)
        else:
            counts["unchanged"] += 1
    if counts["unknown"]:
        log.info("SES %s for %d address(es) not on the list; ignored", why, counts["unknown"])
    return SnsResult(
        200,
        "notification",
        suppressed=counts["suppressed"],
        unsubscribed=counts["unsubscribed"],
        recorded=counts["recorded"],
        unchanged=counts["unchanged"],
        unknown=counts["unknown"],
    )


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
