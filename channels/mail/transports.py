"""Mail transports, chosen by URL. ``outbox://dir`` writes each message as an .eml file: the
exact bytes an SMTP server or SES would receive, so the channel runs with no account at all.
SMTP and SES transports follow in the mail issue."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

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


def open_transport(url: str, base_dir: Path | None = None) -> MailTransport:
    """A transport for ``outbox://dir`` (relative to ``base_dir``/cwd)."""
    parts = urlsplit(url)
    if parts.scheme == "outbox":
        raw = (parts.netloc + parts.path) if parts.netloc else parts.path
        folder = Path(raw or "outbox")
        if not folder.is_absolute():
            folder = (base_dir or Path.cwd()) / folder
        return OutboxTransport(folder, url)
    raise ConfigError(f"{url!r}: unknown mail transport; use outbox://folder (smtp:// and ses:// are coming)")
