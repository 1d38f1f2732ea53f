"""Mail transports, chosen by URL.

``outbox://dir`` writes each message as an .eml file: the exact bytes an SMTP server or SES
would receive, so the channel runs with no account at all. ``smtp://host:port`` speaks SMTP
over several persistent connections in parallel (``?connections=8&starttls=1``; credentials
from ``KOHO_SMTP_USER``/``KOHO_SMTP_PASSWORD``, never from the URL). SES follows.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

from koho.errors import ConfigError, DeliveryFailure
from koho.storage import atomic_write


class SendError(DeliveryFailure):
    """A message was not accepted by the transport."""


class MailTransport(Protocol):
    """Hands finished messages to whatever delivers them."""

    url: str

    def send(self, sender: str, recipient: str, message: bytes, name: str) -> str:
        """Send one message; return the provider's reference (message id, file name)."""
        ...

    def close(self) -> None:
        """Release connections."""
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
            atomic_write(path, message)
        except OSError as exc:
            raise SendError(f"cannot write {path}: {exc.strerror}", transient=False) from exc
        return f"outbox:{path.relative_to(self.folder).as_posix()}"

    def close(self) -> None:
        """Nothing to release."""


class SmtpTransport:
    """SMTP with one persistent connection per worker thread (smtplib: the standard client)."""

    def __init__(self, host: str, port: int, url: str, connections: int = 4, starttls: bool = False,
                 timeout: float = 30.0):
        self.host, self.port, self.url = host, port, url
        self.connections = max(1, connections)
        self.starttls = starttls
        self.timeout = timeout
        self.user = os.environ.get("KOHO_SMTP_USER")
        self._password = os.environ.get("KOHO_SMTP_PASSWORD")
        self._local = threading.local()
        self._open: list[smtplib.SMTP] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(self.connections, thread_name_prefix="koho-smtp")

    def _client(self) -> smtplib.SMTP:
        client = getattr(self._local, "client", None)
        if client is None:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                client.starttls(context=ssl.create_default_context())
            if self.user:
                client.login(self.user, self._password or "")
            self._local.client = client
            with self._lock:
                self._open.append(client)
        return client

    def _drop(self) -> None:
        client = getattr(self._local, "client", None)
        self._local.client = None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def send(self, sender: str, recipient: str, message: bytes, name: str) -> str:
        """Send on this thread's connection, reconnecting once if the server dropped it."""
        for attempt in (1, 2):
            try:
                client = self._client()
                client.sendmail(sender, [recipient], message)
                return f"smtp:{self.host}:{self.port}"
            except smtplib.SMTPServerDisconnected:
                self._drop()
                if attempt == 2:
                    raise SendError("the SMTP server closed the connection", transient=True) from None
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                raise SendError(f"{code} {_text(text)}", transient=400 <= code < 500) from None
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code in (421,):
                    self._drop()
                raise SendError(f"{exc.smtp_code} {_text(exc.smtp_error)}", transient=400 <= exc.smtp_code < 500) from None
            except (OSError, smtplib.SMTPException) as exc:
                self._drop()
                raise SendError(f"SMTP {self.host}:{self.port}: {exc}", transient=True) from None
        raise AssertionError("unreachable")

    def send_batch(self, items: list[tuple[str, str, bytes, str]]) -> list[str | SendError]:
        """Send many messages over the parallel connections; a reference or the error for each."""
        def one(item):
            try:
                return self.send(*item)
            except SendError as exc:
                return exc
        return list(self._pool.map(one, items))

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


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def open_transport(url: str, base_dir: Path | None = None) -> MailTransport:
    """A transport for ``outbox://dir`` (relative to ``base_dir``/cwd) or ``smtp://host:port``."""
    parts = urlsplit(url)
    if parts.scheme == "smtp":
        if parts.username or parts.password:
            raise ConfigError("put SMTP credentials in KOHO_SMTP_USER/KOHO_SMTP_PASSWORD, not in the URL")
        options = dict(parse_qsl(parts.query))
        return SmtpTransport(parts.hostname or "localhost", parts.port or 25, url,
                             connections=int(options.get("connections", 4)),
                             starttls=options.get("starttls", "0") in ("1", "true", "yes"))
    if parts.scheme == "outbox":
        raw = (parts.netloc + parts.path) if parts.netloc else parts.path
        folder = Path(raw or "outbox")
        if not folder.is_absolute():
            folder = (base_dir or Path.cwd()) / folder
        return OutboxTransport(folder, url)
    raise ConfigError(f"{url!r}: unknown mail transport; use outbox://folder or smtp://host:port (ses:// is coming)")
