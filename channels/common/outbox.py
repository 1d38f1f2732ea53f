"""The ``outbox://folder`` transport of API channels: each request as a JSON file.

It writes what the real API would receive (method, URL, body; never credentials), so every
channel runs on a fresh machine with no account, and a person can read what would go out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from koho.delivery import Delivery, Receipt
from koho.errors import DeliveryFailure
from koho.payloads import RecordOnly
from koho.storage import TRANSIENT_ERRNOS, atomic_write, local_folder

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class RequestOutbox:
    """Writes one ``<name>.json`` per request under a folder (atomically)."""

    def __init__(self, url: str, base_dir: Path | None = None):
        self.url = url
        self.folder = local_folder(url, base_dir, default="outbox")

    def write(self, name: str, payload: bytes) -> str:
        """Write the request bytes; return the reference ``outbox:<file name>``."""
        path = self.folder / (_UNSAFE.sub("-", name).strip("-") + ".json")
        try:
            atomic_write(path, payload)
        except OSError as exc:
            raise DeliveryFailure(
                f"cannot write {path}: {exc.strerror}", transient=exc.errno in TRANSIENT_ERRNOS
            ) from exc
        return f"outbox:{path.name}"


def is_outbox(url: str) -> bool:
    """Whether a transport URL names an outbox folder."""
    return url.startswith("outbox://")


def deliver_to_outbox(outbox: RequestOutbox, batch: Sequence[Delivery]) -> list[Receipt]:
    """Write each delivery's request as ``<article>--<target>.json``; one receipt per delivery
    (a record-only row is skipped with its reason)."""
    receipts = []
    for delivery in batch:
        if isinstance(delivery.payload, RecordOnly):
            receipts.append(Receipt.skipped(delivery.key, delivery.payload.reason))
            continue
        try:
            ref = outbox.write(f"{delivery.article_id}--{delivery.target}", delivery.body())
        except DeliveryFailure as exc:
            receipts.append(
                Receipt.transient(delivery.key, str(exc)) if exc.transient else Receipt.failed(delivery.key, str(exc))
            )
            continue
        receipts.append(Receipt.sent(delivery.key, ref))
    return receipts
