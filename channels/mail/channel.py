"""The mail channel: one delivery per confirmed subscriber of the article's topics.

Mail goes out once per article, not once per revision: the revision part of the key is fixed
(``MAIL_ONCE``), so fixing a typo never mails 40,000 people again, and recipients still pending
after a crash get the current text. Messages are rendered at delivery time, one article render
shared by the batch: holding tens of thousands of finished messages in a plan would cost
hundreds of megabytes, so a mail delivery's payload is the recipient, not the bytes.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import ClassVar, Sequence

from koho.article import Article
from koho.channel import Limits, PlanContext
from koho.delivery import Delivery, Receipt
from koho.tokens import Tokens

from channels.mail.message import Identity, Recipient, Rendered, address, render
from channels.mail.transports import MailTransport, SendError, transport_factory

MAIL_ONCE = "once"


class MailChannel:
    """ねりま情報メール: immediate mail per article to confirmed subscribers of its topics."""

    name: ClassVar[str] = "mail"
    limits: ClassVar[Limits] = Limits(title_max=120, length_unit="chars", overflow="reject", batch_size=500)

    def __init__(self, url: str, identity: Identity, tokens: Tokens, base_dir: Path | None = None):
        self.url = url
        self.identity = identity
        self.tokens = tokens
        self._open = transport_factory(url, base_dir)  # a bad URL fails here, before planning
        self._transport: MailTransport | None = None
        self._rendered: dict[tuple[str, str], Rendered] = {}

    @property
    def transport(self) -> MailTransport:
        """Opened on first delivery; planning never touches it."""
        if self._transport is None:
            self._transport = self._open()
        return self._transport

    def describe(self) -> str:
        """Transport URL (credentials come from the environment, never from the URL)."""
        return self.url

    def audience_for(self, article: Article) -> list[str] | None:
        """Topics whose confirmed subscribers receive this article (None: nobody)."""
        return None if article.withdrawn or not article.topics else list(article.topics)

    def plan(self, article: Article, ctx: PlanContext) -> list[Delivery]:
        """One delivery per subscriber who was confirmed when the article was published.

        Keys do not change with the revision, so planning again after an edit or a crash
        yields the same keys: sent ones stay sent, pending ones are finished. People who
        subscribed after publication are not sent old news.
        """
        if article.withdrawn:
            return []
        ordered = sorted(ctx.audience, key=lambda s: s.id)
        return [Delivery(self.name, f"subscriber-{s.id}", article.id, MAIL_ONCE, s.language, b"",
                         "message/rfc822", meta={"article": article, "site": ctx.site, "address": s.address,
                                                 "subscriber_id": s.id})
                for s in ordered
                if s.address and s.language == article.language
                and s.confirmed_at is not None and s.confirmed_at <= article.publish_at]

    def deliver(self, batch: Sequence[Delivery]) -> list[Receipt]:
        """Render each message, hand the batch to the transport; one receipt per message."""
        receipts: dict[str, Receipt] = {}
        items: list[tuple[str, str, bytes, str]] = []
        keys: list[str] = []
        now = datetime.now(timezone.utc)
        for delivery in batch:
            article, site = delivery.meta["article"], delivery.meta["site"]
            cache_key = (article.id, article.revision)
            if cache_key not in self._rendered:
                self._rendered[cache_key] = render(article, site, self.identity)
            sid = delivery.meta["subscriber_id"]
            recipient = Recipient(sid, delivery.meta["address"], self.tokens.issue("preferences", sid),
                                  self.tokens.issue("unsubscribe", sid))
            try:
                raw = address(self._rendered[cache_key], self.identity, recipient, now)
            except ValueError as exc:  # a header the email package refused: never sent
                receipts[delivery.key] = Receipt.failed(delivery.key, f"message refused: {exc}")
                continue
            items.append((self.identity.from_address, recipient.address, raw, f"{article.id}/{sid}"))
            keys.append(delivery.key)
        for key, result in zip(keys, self._send(items)):
            if isinstance(result, SendError):
                receipts[key] = (Receipt.transient(key, str(result)) if result.transient
                                 else Receipt.failed(key, str(result)))
            else:
                receipts[key] = Receipt.sent(key, result)
        return [receipts[d.key] for d in batch]

    def _send(self, items: list[tuple[str, str, bytes, str]]) -> list:
        batch_send = getattr(self.transport, "send_batch", None)
        if batch_send is not None:  # parallel connections
            return batch_send(items)
        results = []
        for item in items:
            try:
                results.append(self.transport.send(*item))
            except SendError as exc:
                results.append(exc)
        return results

    def close(self) -> None:
        """Close the transport."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None
