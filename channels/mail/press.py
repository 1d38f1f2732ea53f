"""The press mail (報道発表): one mail per outlet of the media list, with the release's PDFs.

A press release goes to the media at its publish time, before residents see it: the embargo
(解禁) is stated in the Subject and on the first line, e.g. 【解禁：12月10日(木)午前5時】, and
the site, the feeds and every residents' channel wait for it (``MailsTheMedia``, ADR 0035).

It is the info mail's machinery, not a copy of it: the same transports chosen by
``KOHO_MAIL_URL`` (outbox, SMTP, SES) and their ``send_all``/``receipt_for``, one ledger row per
outlet (``outlet-<id>``) written pending before anything is sent and claimed before sending, so
a crashed or overlapping run sends each outlet one mail. A mail whose fate is unknown (the
server's answer lost, or a run killed while it held the row) is never sent again: no provider can
be asked whether a newsroom has it, and a release mailed twice is worse than a telephone call.
It ends ``failed`` and in doubt, for the operators (who are alerted) to check with the outlet and
``koho redrive`` it if the outlet has nothing. One outlet per claim keeps that doubt to the one
mail in flight when a run dies. The revision part of the key is fixed
(``MAIL_ONCE``): correcting a typo after the media have it never mails them again. The PDFs are
read at delivery, through ``koho.media.read_attachment`` (inside content/media/, no link
followed, PDF by its bytes, size capped), never held in a plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path, PurePosixPath
from typing import ClassVar

from channels.mail.channel import MAIL_ONCE
from channels.mail.message import Identity, envelope_address
from channels.mail.transports import SendsMail, receipt_for, send_all
from koho.article import Article
from koho.channel import Limits, MailsTheMedia, MediaContext, Reconciles
from koho.delivery import Delivery, Receipt
from koho.media import MediaError, read_attachment
from koho.outlets import Outlet
from koho.payloads import PressRequest
from koho.site import Site
from koho.subscribers import redact_addresses

_WEEKDAYS = "月火水木金土日"
#: The detail of a mail in doubt, which is not sent again.
IN_DOUBT = (
    "in doubt: a run stopped (or lost the server's answer) while sending this mail, so the outlet "
    "may have it; not sent again, never twice: ask the outlet, then koho redrive if it has nothing"
)


def target(outlet: Outlet) -> str:
    """The ledger target of an outlet's mail (its address and contact are not in the ledger)."""
    return f"outlet-{outlet.id}"


def embargo_label(when: datetime | None) -> str:
    """The embargo as the press reads it: 【解禁：12月10日(木)午前5時】 (the site's time zone),
    or 【報道発表】 for a release with no embargo."""
    if when is None:
        return "【報道発表】"
    noon = "午前" if when.hour < 12 else "午後"
    minute = f"{when.minute}分" if when.minute else ""
    return f"【解禁：{when.month}月{when.day}日({_WEEKDAYS[when.weekday()]}){noon}{when.hour % 12}時{minute}】"


def press_text(article: Article, site: Site) -> str:
    """The mail's text: the embargo on the first line, then the release, who answers the press
    and the attached files. Plain text: newsrooms forward and paste it."""
    press = article.press
    assert press is not None
    embargo = press.embargo_until
    lines = [embargo_label(embargo)]
    if embargo is not None:
        lines.append("上記の解禁日時まで、報道はお控えください。")
    lines += ["", f"報道発表資料　{article.title}"]
    if press.department:
        lines.append(f"発表部署：{press.department}")
    lines.append(f"発表日：{article.publish_at.month}月{article.publish_at.day}日")
    if article.summary:
        lines += ["", article.summary]
    lines += ["", article.body.strip(), ""]
    lines.append("【添付資料】")
    lines += [f"・{a.title or PurePosixPath(a.src).name}（{PurePosixPath(a.src).name}）" for a in press.attachments]
    lines += [
        "",
        "【問い合わせ先】",
        f"{press.department}　{press.contact_name}".strip(),
        f"電話：{press.contact_phone}",
    ]
    lines += ["", f"区ホームページ（解禁後に掲載）：{site.article_url(article.id)}"]
    return "\n".join(lines) + "\n"


def compose(
    article: Article, site: Site, identity: Identity, to: str, files: Sequence[tuple[str, bytes]], when: datetime
) -> bytes:
    """The whole message to one outlet: text first, then each PDF (``files``: name, bytes).
    Headers go through the email package, which refuses CR/LF in them; the Message-ID is made
    per message (an outlet's mail is sent once; an uncertain one is counted in doubt)."""
    press = article.press
    assert press is not None
    message = EmailMessage(policy=SMTP if to.isascii() else SMTP.clone(utf8=True))
    message["Subject"] = f"{embargo_label(press.embargo_until)}{article.title}"
    message["From"] = Address(identity.from_name, addr_spec=identity.from_address)
    message["To"] = to
    message["Date"] = format_datetime(when)
    message["Message-ID"] = make_msgid(domain=identity.from_address.rsplit("@", 1)[-1])
    message.set_content(press_text(article, site), subtype="plain", charset="utf-8", cte="base64")
    for name, data in files:
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return message.as_bytes()


class PressMailChannel(SendsMail, MailsTheMedia, Reconciles):
    """報道発表: each press release to each outlet of the media list, at most once, with its PDFs."""

    name: ClassVar[str] = "press_mail"
    # One outlet per claim: a run killed mid-send leaves one mail in doubt, not a batch (a media
    # list is tens of outlets: a claim each costs nothing next to the mail).
    limits: ClassVar[Limits] = Limits(batch_size=1)

    def __init__(self, url: str, identity: Identity, content_dir: Path, base_dir: Path | None = None):
        super().__init__(url, base_dir)
        self.identity = identity
        self.content_dir = content_dir
        self._files: dict[tuple[str, str], list[tuple[str, bytes]]] = {}

    def wants_media_list(self, article: Article) -> bool:
        """Press releases that are not withdrawn are mailed to the media list."""
        return article.press is not None and not article.withdrawn

    def plan(self, article: Article, ctx: MediaContext) -> list[Delivery]:
        """One delivery per outlet with an address, keyed by outlet id and never by revision."""
        if not self.wants_media_list(article) or article.translation is not None:
            return []
        return [
            Delivery(
                self.name,
                target(o),
                article.id,
                MAIL_ONCE,
                article.language,
                PressRequest(o.id, o.address, article, ctx.site),
                "message/rfc822",
            )
            for o in sorted(ctx.outlets, key=lambda o: o.id)
            if o.address
        ]

    def reconcile(self, batch: Sequence[Delivery]) -> list[Receipt]:
        """Every doubtful mail ends failed and in doubt, never resent (see the module's words)."""
        return [Receipt.failed(d.key, IN_DOUBT) for d in batch]

    def _attachments(self, article: Article) -> list[tuple[str, bytes]]:
        # Read once per release and batch, checked again at delivery (the file may have changed
        # since ``koho check``): a file that fails is a permanent failure of the mail, not a send
        # without its PDF.
        key = (article.id, article.revision)
        if key not in self._files:
            press = article.press
            assert press is not None
            self._files[key] = [
                (PurePosixPath(a.src).name, read_attachment(self.content_dir, a.src)) for a in press.attachments
            ]
        return self._files[key]

    def deliver(self, batch: Sequence[Delivery]) -> list[Receipt]:
        """Compose each outlet's mail with the PDFs and hand the batch to the transport."""
        receipts: dict[str, Receipt] = {}
        items: list[tuple[str, str, bytes, str]] = []
        keys: list[str] = []
        now = datetime.now(UTC)  # the Date: header is a protocol stamp: the real clock
        for delivery in batch:
            request = delivery.payload
            if not isinstance(request, PressRequest):
                raise TypeError(f"{delivery.key}: carries {type(request).__name__}, not a PressRequest")
            to = envelope_address(request.address)
            try:
                raw = compose(request.article, request.site, self.identity, to, self._attachments(request.article), now)
            except MediaError as exc:
                receipts[delivery.key] = Receipt.failed(delivery.key, f"attachment refused: {exc}")
                continue
            except ValueError as exc:  # a header the email package refused: never sent
                receipts[delivery.key] = Receipt.failed(
                    delivery.key, f"message refused: {redact_addresses(str(exc), to)}"
                )
                continue
            items.append(
                (self.identity.from_address, to, raw, f"press/{request.article.id}/outlet-{request.outlet_id}")
            )
            keys.append(delivery.key)
        for key, item, result in zip(keys, items, send_all(self.transport, items), strict=True):
            receipts[key] = receipt_for(key, result, item[1])
        return [receipts[d.key] for d in batch]

    def close(self) -> None:
        """Close the transport; forget the PDFs read."""
        self._files.clear()
        super().close()
