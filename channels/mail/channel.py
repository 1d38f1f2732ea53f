"""The mail channel: one delivery per confirmed subscriber of the article's topics.

Mail goes out once per article, not once per revision: the revision part of the key is fixed
(``MAIL_ONCE``), so fixing a typo never mails 40,000 people again, and recipients still pending
after a crash get the current text. Messages are rendered at delivery time, one article render
shared by the batch: holding tens of thousands of finished messages in a plan would cost
hundreds of megabytes, so a mail delivery's payload (``MailRequest``) is the recipient and the
article or digest, not the bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, TypeAlias

from channels.mail.message import Identity, Recipient, Rendered, address, envelope_address, render, render_digest
from channels.mail.transports import SendError, SendsMail, receipt_for, send_all
from koho.article import Article
from koho.bulletin import BulletinIssue, in_digest
from koho.channel import (
    AudienceContext,
    DeliveryError,
    HasAudience,
    HasIssueAudience,
    Limits,
    OnceAcrossLanguages,
)
from koho.delivery import Delivery, Receipt, State
from koho.errors import ConfigError
from koho.i18n import LANGUAGES
from koho.payloads import Digest, MailRequest
from koho.subscribers import Subscriber, redact_addresses
from koho.tokens import Tokens

MAIL_ONCE = "once"
#: Messages rendered per chunk of a batch: the transport sends one chunk while the next is
#: rendered (16 connections take 128 in eight rounds each).
RENDER_AHEAD = 128
#: What the transport sends: sender, recipient, the message, and a name for it.
MailItem: TypeAlias = tuple[str, str, bytes, str]


def target(s: Subscriber) -> str:
    """The ledger target of a subscriber's mail (the address is not in the ledger)."""
    return f"subscriber-{s.id}"


class MailChannel(SendsMail, HasAudience, HasIssueAudience, OnceAcrossLanguages):
    """ねりま情報メール: mail per article to confirmed subscribers of its topics, and for those who
    chose it, one digest per 区報 issue instead (urgent news still reaches them at once).

    Each subscriber reads one language: the original's readers get the original, the others its
    translation (planned by the flows like an original), each in the words of their language.
    """

    name: ClassVar[str] = "mail"
    limits: ClassVar[Limits] = Limits(batch_size=500, languages=LANGUAGES)

    def __init__(self, url: str, identity: Identity, tokens: Tokens, base_dir: Path | None = None):
        super().__init__(url, base_dir)
        self.identity = identity
        self.tokens = tokens
        self._rendered: dict[tuple[str, ...], Rendered] = {}
        self._sending: ThreadPoolExecutor | None = None

    def audience_for(self, article: Article) -> list[str] | None:
        """Topics whose confirmed subscribers receive this article (None: nobody)."""
        return None if article.withdrawn or not article.topics else list(article.topics)

    def plan(self, article: Article, ctx: AudienceContext) -> list[Delivery]:
        """One delivery per subscriber of the article's language who was confirmed when it was
        published (a translation keeps its original's publish time).

        Keys do not change with the revision, so planning again after an edit or a crash
        yields the same keys: sent ones stay sent, pending ones are finished. People who
        subscribed after publication are not sent old news.
        """
        if article.withdrawn:
            return []
        # Digest readers get this article in its issue's digest, unless it cannot wait for one.
        waits = in_digest(article, ctx.site)
        return [
            self._delivery(s, article.id, article, ctx)
            for s in sorted(ctx.audience, key=lambda s: s.id)
            if (s.delivery == "immediate" or not waits)
            and self._reachable(s, article.language, article.publish_at)
            and target(s) not in ctx.sent_elsewhere
        ]

    def audience_for_issue(self, issue: BulletinIssue) -> list[str] | None:
        """Topics of the issue's articles that digests carry."""
        return sorted({t for a in self._digest_articles(issue) for t in a.topics}) or None

    def plan_issue(self, issue: BulletinIssue, ctx: AudienceContext) -> list[Delivery]:
        """One digest per digest reader of the issue's language confirmed when the issue appeared:
        the issue's articles in their topics, in the issue's order. Readers with no article of
        theirs get nothing."""
        articles = self._digest_articles(issue)
        planned = []
        for s in sorted(ctx.audience, key=lambda s: s.id):
            if (
                s.delivery != "digest"
                or not self._reachable(s, issue.language, issue.appears_at)
                or target(s) in ctx.sent_elsewhere
            ):
                continue
            theirs = tuple(a for a in articles if set(a.topics) & set(s.topics))
            if theirs:
                planned.append(self._delivery(s, issue.id, Digest(issue, theirs), ctx))
        return planned

    @staticmethod
    def _digest_articles(issue: BulletinIssue) -> list[Article]:
        return [a for a in issue.articles if not a.urgent]  # urgent news went to everyone at once

    @staticmethod
    def _reachable(s: Subscriber, language: str, when: datetime) -> bool:
        # Nobody is sent news from before they confirmed, nor mail in a language they did not choose.
        return bool(s.address) and s.language == language and s.confirmed_at is not None and s.confirmed_at <= when

    def _delivery(self, s: Subscriber, item_id: str, item: Article | Digest, ctx: AudienceContext) -> Delivery:
        # _reachable checked the address; the ledger row names the subscriber by id only.
        request = MailRequest(s.id, s.address or "", s.link_nonce, item, ctx.site)
        return Delivery(self.name, target(s), item_id, MAIL_ONCE, s.language, request, "message/rfc822")

    def _render(self, request: MailRequest) -> Rendered:
        """The shared part of a delivery's message, rendered once per article or digest selection."""
        item = request.item
        key: tuple[str, ...]
        if isinstance(item, Digest):
            key = (item.issue.id, *(f"{a.id}.{a.revision}" for a in item.articles))
            if key not in self._rendered:
                self._rendered[key] = render_digest(item.issue, item.articles, request.site, self.identity)
        else:
            key = (item.id, item.revision)
            if key not in self._rendered:
                self._rendered[key] = render(item, request.site, self.identity)
        return self._rendered[key]

    def message(self, request: MailRequest, when: datetime) -> bytes:
        """The whole message one delivery sends, as the transport receives it (its recipient's
        own signed links): what ``deliver`` sends and ``koho preview`` shows. ValueError: a header
        the email package refused."""
        sid, generation = request.subscriber_id, request.link_nonce
        recipient = Recipient(
            sid,
            envelope_address(request.address),
            self.tokens.issue("preferences", sid, generation),
            self.tokens.issue("unsubscribe", sid, generation),
        )
        return address(self._render(request), self.identity, recipient, when)

    def deliver(self, batch: Sequence[Delivery]) -> list[Receipt]:
        """Render each message, hand them to the transport; one receipt per message.

        The batch goes out in chunks, each sent (on a helper thread) while the next is rendered,
        so the server is not left waiting while koho renders. A configuration or delivery error
        after some chunks went out keeps their receipts; the rest stay pending for a retry.
        """
        receipts: dict[str, Receipt] = {}
        now = datetime.now(UTC)
        sending: tuple[list[str], list[MailItem], Future[list[str | SendError]]] | None = None
        try:
            for start in range(0, len(batch), RENDER_AHEAD):
                keys, items = self._render_chunk(batch[start : start + RENDER_AHEAD], now, receipts)
                if sending is not None:
                    self._receive(*sending[:2], sending[2].result(), receipts)
                sending = (keys, items, self._sender().submit(self._send, items))
            if sending is not None:
                self._receive(*sending[:2], sending[2].result(), receipts)
        except (ConfigError, DeliveryError) as exc:
            if not any(r.state == State.SENT for r in receipts.values()):
                raise  # nothing went out: the rows are as they were (pipeline releases them)
            for d in batch:
                receipts.setdefault(d.key, Receipt.transient(d.key, f"not sent: {exc}"))
        return [receipts[d.key] for d in batch]

    def _render_chunk(
        self, chunk: Sequence[Delivery], now: datetime, receipts: dict[str, Receipt]
    ) -> tuple[list[str], list[MailItem]]:
        """The messages of ``chunk`` as the transport takes them, with their keys; a message the
        email package refused gets its failed receipt here and is never sent."""
        items: list[MailItem] = []
        keys: list[str] = []
        for delivery in chunk:
            request = delivery.payload
            if not isinstance(request, MailRequest):
                raise TypeError(f"{delivery.key}: carries {type(request).__name__}, not a MailRequest")
            sid, to = request.subscriber_id, envelope_address(request.address)
            try:
                raw = self.message(request, now)
            except ValueError as exc:  # a header the email package refused: never sent
                receipts[delivery.key] = Receipt.failed(
                    delivery.key, f"message refused: {redact_addresses(str(exc), to)}"
                )
                continue
            items.append((self.identity.from_address, to, raw, f"{delivery.article_id}/{sid}"))
            keys.append(delivery.key)
        return keys, items

    @staticmethod
    def _receive(
        keys: list[str], items: list[MailItem], results: list[str | SendError], receipts: dict[str, Receipt]
    ) -> None:
        for key, item, result in zip(keys, items, results, strict=True):
            receipts[key] = receipt_for(key, result, item[1])

    def _sender(self) -> ThreadPoolExecutor:
        """The helper thread that hands chunks to the transport (made on first delivery)."""
        if self._sending is None:
            self._sending = ThreadPoolExecutor(1, thread_name_prefix="koho-mail-send")
        return self._sending

    def _send(self, items: list[MailItem]) -> list[str | SendError]:
        return send_all(self.transport, items)

    def close(self) -> None:
        """Stop the helper thread, close the transport."""
        if self._sending is not None:
            self._sending.shutdown(wait=True)
            self._sending = None
        super().close()
