"""Mail transports, chosen by URL.

``outbox://dir`` writes each message as an .eml file: the exact bytes an SMTP server or SES
would receive, so the channel runs with no account at all. ``smtp://host:port`` speaks SMTP
over several persistent connections in parallel (``?connections=8&starttls=1``, or ``smtps://``
for TLS from the first byte; ``cafile=`` trusts a private CA; credentials from
``KOHO_SMTP_USER``/``KOHO_SMTP_PASSWORD``, never from the URL). ``ses://region`` sends raw MIME
through Amazon SES.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from urllib.parse import SplitResult, parse_qsl, urlsplit

from koho.channel import DeliversToUrl
from koho.delivery import Receipt
from koho.errors import ConfigError, DeliveryFailure
from koho.storage import TRANSIENT_ERRNOS, atomic_write, local_folder
from koho.subscribers import redact_addresses

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


class SendError(DeliveryFailure):
    """A message was not accepted by the transport; ``uncertain``: it may have been (the whole
    message went out and the server's answer was lost)."""

    def __init__(self, message: str, transient: bool, uncertain: bool = False):
        super().__init__(message, transient)
        self.uncertain = uncertain


class _Watched(smtplib.SMTP):
    """smtplib's client, noting when a message's last byte (the ``.`` line after DATA) has left.

    smtplib cannot tell a caller whether a lost connection came before or after the server had
    the whole message; after it, the server may have accepted the mail, and sending it again
    on a new connection makes a silent duplicate. Hand-written because no SMTP client library
    exposes this; it only watches the bytes smtplib sends.
    """

    message_sent = False

    def send(self, s: ReadableBuffer | str) -> None:  # smtplib.SMTP.send: every command and the body go through it
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.message_sent = True


class _SMTP(_Watched):
    pass


class _SMTP_SSL(_Watched, smtplib.SMTP_SSL):
    pass


#: Said for a recipient whose address needs SMTPUTF8 where the provider does not offer it: a
#: permanent refusal of that one mail (retrying cannot help), never an error of the batch.
NO_SMTPUTF8 = (
    "not sent: the address has characters other than ASCII before the @, which needs "
    "SMTPUTF8, and {where} does not offer it"
)


class MailTransport(Protocol):
    """Hands finished messages to whatever delivers them."""

    url: str

    def send(self, sender: str, recipient: str, message: bytes, name: str) -> str:
        """Send one message; return the provider's reference (message id, file name)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class SendsBatches(Protocol):
    """A transport that sends a batch itself (over parallel connections): the mail channel hands
    it the whole batch rather than one message at a time."""

    def send_batch(self, items: list[tuple[str, str, bytes, str]]) -> list[str | SendError]:
        """Send every message; a reference or the error for each, in order."""
        ...


class OutboxTransport:
    """One .eml file per message under a folder, written atomically."""

    def __init__(self, folder: Path, url: str):
        self.folder = folder
        self.url = url

    def send(self, sender: str, recipient: str, message: bytes, name: str) -> str:
        """Write ``name``.eml (``name`` is koho-made: article id and subscriber id)."""
        path = self.folder / f"{name}.eml"
        try:
            atomic_write(path, message, mode=0o600)  # it holds the recipient's address
        except OSError as exc:
            raise SendError(f"cannot write {path}: {exc.strerror}", transient=exc.errno in TRANSIENT_ERRNOS) from exc
        return f"outbox:{path.relative_to(self.folder).as_posix()}"

    def forget(self, subscriber_ids: Iterable[int]) -> int:
        """Delete the mails to these subscribers (their addresses are erased); return how many.

        Files are named by subscriber id, never found by reading them: ``<article or issue>/<id>.eml``
        from the mail channel, ``web-<kind>-<id>-<time>.eml`` from the subscription service."""
        wanted = {str(i) for i in subscriber_ids}
        removed = 0
        for path in self.folder.rglob("*.eml") if self.folder.is_dir() else ():
            named = (
                path.stem.split("-")[2] if path.stem.startswith("web-") and path.parent == self.folder else path.stem
            )
            if named in wanted and path.is_file() and not path.is_symlink():
                path.unlink()
                removed += 1
        return removed

    def close(self) -> None:
        """Nothing to release."""


class _Parallel:
    """Sends a batch over a few worker threads; subclasses implement ``send``."""

    def _start_pool(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="koho-mail")

    def send(self, sender: str, recipient: str, message: bytes, name: str) -> str:  # pragma: no cover
        raise NotImplementedError

    def send_batch(self, items: list[tuple[str, str, bytes, str]]) -> list[str | SendError]:
        """Send many messages in parallel; a reference or the error for each, in order."""

        def one(item: tuple[str, str, bytes, str]) -> str | SendError:
            try:
                return self.send(*item)
            except SendError as exc:
                return exc

        return list(self._pool.map(one, items))


class SmtpTransport(_Parallel):
    """SMTP with one persistent connection per worker thread (smtplib: the standard client)."""

    def __init__(
        self,
        host: str,
        port: int,
        url: str,
        connections: int = 16,
        tls: str = "",
        cafile: str | None = None,
        timeout: float = 30.0,
    ):
        self.host, self.port, self.url = host, port, url
        self.connections = max(1, connections)
        self.tls = tls  # "", "starttls" or "implicit"
        self.cafile = cafile
        self.timeout = timeout
        self.user = os.environ.get("KOHO_SMTP_USER")
        self._password = os.environ.get("KOHO_SMTP_PASSWORD")
        self._local = threading.local()
        self._open: list[_Watched] = []
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None
        self._start_pool(self.connections)

    def _client(self) -> _Watched:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._connect()
            self._local.client = client
            with self._lock:
                self._open.append(client)
        return client

    def _tls(self) -> ssl.SSLContext:
        """One TLS context per transport, made only when TLS is used: loading the system's CA
        certificates costs tens of milliseconds, once per connection before."""
        with self._lock:
            if self._context is None:
                self._context = ssl.create_default_context(cafile=self.cafile)
            return self._context

    def _connect(self) -> _Watched:
        """A connection that is encrypted and logged in as configured.

        A certificate the server cannot prove, a refused login or a server without STARTTLS is
        the same for every recipient: it stops the run with a configuration error (rows stay
        pending) instead of marking thousands of subscribers failed.
        """
        where = f"SMTP {self.host}:{self.port}"
        try:
            client: _Watched
            if self.tls == "implicit":
                client = _SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls())
            else:
                client = _SMTP(self.host, self.port, timeout=self.timeout)
                if self.tls == "starttls":
                    client.starttls(context=self._tls())
            if self.user:
                client.login(self.user, self._password or "")
        except ssl.SSLCertVerificationError as exc:
            raise ConfigError(
                f"{where}: the server's TLS certificate is not trusted ({exc.verify_message}); "
                "add ?cafile=/path/to/ca.pem for a private CA"
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise ConfigError(f"{where} does not offer STARTTLS (or AUTH); check the URL's options") from None
        except smtplib.SMTPAuthenticationError as exc:
            # The server's words, never the password.
            raise ConfigError(
                f"{where} refused the login of KOHO_SMTP_USER: {exc.smtp_code} {_text(exc.smtp_error)}"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(f"{where}: {exc}", transient=True) from None
        return client

    def _drop(self) -> None:
        client = getattr(self._local, "client", None)
        self._local.client = None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def send(self, sender: str, recipient: str, message: bytes, name: str) -> str:
        """Send on this thread's connection, reconnecting once if the server dropped it before
        it had the message; a connection lost after the whole message went out is uncertain,
        never resent here."""
        for attempt in (1, 2):
            client = None
            try:
                client = self._client()
                client.message_sent = False
                options = self._utf8_options(client, sender, recipient)
                client.sendmail(sender, [recipient], message, mail_options=options)
                return f"smtp:{self.host}:{self.port}"
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                raise SendError(f"{code} {_text(text)}", transient=400 <= code < 500) from None
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code in (421,):
                    self._drop()
                raise SendError(
                    f"{exc.smtp_code} {_text(exc.smtp_error)}", transient=400 <= exc.smtp_code < 500
                ) from None
            except OSError as exc:  # smtplib's errors are OSErrors too: a lost or refused connection
                lost_after_data = client is not None and client.message_sent
                self._drop()
                if lost_after_data:
                    raise SendError(
                        f"SMTP {self.host}:{self.port}: the connection was lost after the message was "
                        "sent, before the server answered; it may have been accepted",
                        transient=False,
                        uncertain=True,
                    ) from None
                if attempt == 2 or not isinstance(exc, smtplib.SMTPServerDisconnected):
                    raise SendError(
                        "the SMTP server closed the connection"
                        if isinstance(exc, smtplib.SMTPServerDisconnected)
                        else f"SMTP {self.host}:{self.port}: {exc}",
                        transient=True,
                    ) from None
        raise AssertionError("unreachable")

    def _utf8_options(self, client: smtplib.SMTP, sender: str, recipient: str) -> list[str]:
        """``["SMTPUTF8"]`` for an address that is not ASCII (RFC 6531) if the server offers it;
        a permanent SendError if not. ASCII addresses (IDNA domains included) need nothing."""
        if sender.isascii() and recipient.isascii():
            return []
        client.ehlo_or_helo_if_needed()
        if not client.has_extn("smtputf8"):
            raise SendError(NO_SMTPUTF8.format(where=f"SMTP {self.host}:{self.port}"), transient=False)
        return ["SMTPUTF8"]

    def close(self) -> None:
        """QUIT every connection and stop the worker threads."""
        self._pool.shutdown(wait=True)
        with self._lock:
            for client in self._open:
                with contextlib.suppress(Exception):
                    client.quit()
            self._open.clear()

    def __repr__(self) -> str:  # the password never appears in logs
        return f"SmtpTransport({self.host}:{self.port}, user={self.user!r}, password=***)"


class RateLimiter:
    """Spaces calls to at most ``per_second`` across threads.

    Ten lines of monotonic-clock pacing; a rate-limiting library would add a dependency (and
    often a storage backend) for what one process sending to one account needs.
    """

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Claim the next slot; return how long the caller must wait for it."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        return slot - now

    def wait(self) -> None:
        """Block until the next call is allowed."""
        delay = self.reserve()
        if delay > 0:
            time.sleep(delay)


class SesTransport(_Parallel):
    """Amazon SES ``SendRawEmail`` (boto3): the raw MIME keeps koho's headers intact.

    Paced to the account's MaxSendRate (read with GetSendQuota); throttling and 5xx answers are
    transient, a rejected message is permanent. ``AWS_ENDPOINT_URL`` points it elsewhere.
    """

    def __init__(self, region: str, url: str, rate: float | None = None, workers: int = 8):
        import boto3  # only when SES is used

        self.url = url
        self.client = boto3.client("ses", region_name=region)
        self._rate = rate
        self._limiter: RateLimiter | None = None
        self._lock = threading.Lock()
        self._start_pool(workers)

    def _pace(self) -> None:
        with self._lock:
            if self._limiter is None:
                rate = self._rate
                if rate is None:
                    try:
                        rate = float(self.client.get_send_quota()["MaxSendRate"])
                    except Exception as exc:
                        raise _ses_error(exc) from None
                self._limiter = RateLimiter(rate)
        self._limiter.wait()

    def send(self, sender: str, recipient: str, message: bytes, name: str) -> str:
        """Send one raw message; the reference is SES's MessageId."""
        if not (sender.isascii() and recipient.isascii()):
            # SES takes only ASCII addresses (IDNA domains are: ``envelope_address``).
            raise SendError(NO_SMTPUTF8.format(where="Amazon SES"), transient=False)
        self._pace()
        try:
            response = self.client.send_raw_email(Source=sender, Destinations=[recipient], RawMessage={"Data": message})
        except Exception as exc:
            raise _ses_error(exc) from None
        return f"ses:{response['MessageId']}"

    def close(self) -> None:
        """Stop the worker threads."""
        self._pool.shutdown(wait=True)


def _ses_error(exc: Exception) -> SendError:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        transient = code in {"Throttling", "ThrottlingException", "ServiceUnavailable"} or status >= 500
        return SendError(f"SES {code or status}: {exc.response.get('Error', {}).get('Message', '')}", transient)
    return SendError(f"SES: {exc}", transient=True)  # network trouble: try again later


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class SendsMail(DeliversToUrl["MailTransport"]):
    """What the info mail and the press mail share: a transport chosen by URL, checked when the
    channel is built (a bad URL fails before planning) and opened on the first delivery."""

    def __init__(self, url: str, base_dir: Path | None = None):
        super().__init__(url, transport_factory(url, base_dir))

    @property
    def transport(self) -> MailTransport:
        """Opened on first delivery; planning never touches it (``DeliversToUrl``)."""
        return self.opened()

    def close(self) -> None:
        """Close the transport (safe twice: a later delivery opens it again)."""
        transport = self.taken()
        if transport is not None:
            transport.close()


def send_all(transport: MailTransport, items: list[tuple[str, str, bytes, str]]) -> list[str | SendError]:
    """Send (sender, recipient, message, name) items; per item the provider's reference or the
    SendError: over parallel connections where the transport has them."""
    if isinstance(transport, SendsBatches):  # parallel connections
        return transport.send_batch(items)
    results: list[str | SendError] = []
    for item in items:
        try:
            results.append(transport.send(*item))
        except SendError as exc:
            results.append(exc)
    return results


def receipt_for(key: str, result: str | SendError, recipient: str) -> Receipt:
    """The receipt of one message ``send_all`` handled. Recipients are named by id in the ledger:
    the provider's words lose the address (``550 <taro@example.jp>: unknown user``)."""
    if not isinstance(result, SendError):
        return Receipt.sent(key, result)
    detail = redact_addresses(str(result), recipient)
    if result.uncertain:
        return Receipt.uncertain(key, detail)
    return Receipt.transient(key, detail) if result.transient else Receipt.failed(key, detail)


def transport_factory(url: str, base_dir: Path | None = None) -> Callable[[], MailTransport]:
    """Check a transport URL now (a mistake must stop a run before anyone is mailed) and return
    what opens the transport later, on first delivery."""
    parts = urlsplit(url)
    try:
        options = dict(parse_qsl(parts.query))
        if parts.scheme == "ses":
            rate = float(options["rate"]) if "rate" in options else None
            return lambda: SesTransport(parts.hostname or "ap-northeast-1", url, rate=rate)
        if parts.scheme in ("smtp", "smtps"):
            return _smtp_factory(parts, options, url)
    except ValueError as exc:  # a port, rate or connection count that is not a number
        raise ConfigError(f"{url!r}: {exc}") from None
    if parts.scheme == "outbox":
        folder = local_folder(url, base_dir, default="outbox")
        return lambda: OutboxTransport(folder, url)
    raise ConfigError(
        f"{url!r}: unknown mail transport; use outbox://folder, smtp://host:port, smtps://host:port or ses://region"
    )


def _smtp_factory(parts: SplitResult, options: dict[str, str], url: str) -> Callable[[], MailTransport]:
    if parts.username or parts.password:
        raise ConfigError("put SMTP credentials in KOHO_SMTP_USER/KOHO_SMTP_PASSWORD, not in the URL")
    implicit = parts.scheme == "smtps"
    host, port = parts.hostname or "localhost", parts.port or (465 if implicit else 25)
    connections = int(options.get("connections", 16))
    tls = "implicit" if implicit else ("starttls" if options.get("starttls", "0") in ("1", "true", "yes") else "")
    cafile = options.get("cafile")
    if cafile and not Path(cafile).is_file():
        raise ConfigError(f"{url!r}: cafile {cafile} does not exist")
    if os.environ.get("KOHO_SMTP_USER") and not tls and host not in ("127.0.0.1", "::1", "localhost"):
        # A password sent in clear over the network is a password given away.
        raise ConfigError(
            f"{url!r}: KOHO_SMTP_USER is set but the connection is not encrypted; add ?starttls=1 or use smtps://"
        )
    return lambda: SmtpTransport(host, port, url, connections=connections, tls=tls, cafile=cafile)


def forget_recipients(url: str, base_dir: Path | None, subscriber_ids: Iterable[int]) -> int:
    """After erasure: delete whatever the transport of ``url`` keeps that names these subscribers.
    Only the outbox keeps anything (one .eml per mail, which holds the address); SMTP and SES
    hand the mail on and keep nothing here."""
    if urlsplit(url).scheme != "outbox" or not subscriber_ids:
        return 0
    return OutboxTransport(local_folder(url, base_dir, default="outbox"), url).forget(subscriber_ids)


def open_transport(url: str, base_dir: Path | None = None) -> MailTransport:
    """A transport for ``outbox://dir``, ``smtp://host:port`` or ``ses://region``."""
    return transport_factory(url, base_dir)()
