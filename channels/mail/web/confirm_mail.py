"""The mails the subscription service sends: "confirm your sign-up", or, when the address is
already subscribed, "here is your preferences link".

Mails go out on one worker thread, after the form's answer: the answer is the same whatever
happened to the address, and a slow SMTP server or SES must not make it slower for some
addresses than for others (timing would tell who is subscribed). One thread also means one
SMTP connection for the whole service.

Rate limit: at most one mail per subscriber per ``interval`` (10 minutes), remembered in this
process; a second process or a restart may let one more through, which is harmless. The limits
that hold across restarts (per mailbox, whatever its ``+tag`` or Gmail dots, and per client)
are checked before a sign-up is stored: ``limits``.

Language: the one chosen on the form, for the subject and the body (the templates' ``_()`` and
the catalogs of ``language``). Its links carry ``?lang=`` so the pages they open speak it too,
even to a confirmed subscriber whose own language is another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from channels.mail.message import Identity, envelope_address, plain_notice
from channels.mail.transports import MailTransport
from channels.mail.web.language import N_, Languages, edition
from koho.site import Site
from koho.subscribers import Subscriber, redact_addresses
from koho.tokens import PURPOSES, Tokens

log = logging.getLogger("koho.web")

#: Mail kinds: subject, template, and the purpose of the token its link carries.
KINDS = {
    "confirm": (N_("【%(list_name)s】登録の確認"), "mail_confirm.txt", "confirm"),
    "registered": (N_("【%(list_name)s】登録済みのご案内"), "mail_registered.txt", "preferences"),
}
#: What a sign-up sends, by the address's state before it: nothing for suppressed addresses.
AFTER_SIGNUP = {"new": "confirm", "pending": "confirm", "unsubscribed": "confirm", "confirmed": "registered"}
MAIL_INTERVAL = timedelta(minutes=10)


def compose(
    kind: str, identity: Identity, site: Site, languages: Languages, language: str, to: str, link: str, when: datetime
) -> bytes:
    """One plain-text mail of ``kind`` to ``to`` in ``language``; the email package encodes the
    subject and sender name (RFC 2047) and refuses CR/LF in any header."""
    subject, template, purpose = KINDS[kind]
    valid = PURPOSES[purpose]
    text = (
        languages.env(language)
        .get_template(template)
        .render(
            list_name=identity.from_name,
            link=link,
            site=site,
            days=valid.days if valid else None,
            **edition(site, language),
        )
    )
    subject_text = languages.gettext(language)(subject) % {"list_name": identity.from_name}
    return plain_notice(identity, to, subject_text, text, when)


class Mailer:
    """Sends sign-up mails on one background thread, at most one per subscriber per interval."""

    def __init__(
        self,
        opener: Callable[[], MailTransport],
        identity: Identity,
        tokens: Tokens,
        site: Site,
        languages: Languages,
        clock: Callable[[], datetime],
        interval: timedelta = MAIL_INTERVAL,
        owns_transport: bool = True,
    ):
        self.identity, self.tokens, self.site, self.languages = identity, tokens, site, languages
        self._open = opener
        self._owns = owns_transport
        self._transport: MailTransport | None = None
        self._clock = clock
        self._interval = interval
        self._last: dict[int, datetime] = {}
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="koho-web-mail")

    def after_signup(self, subscriber: Subscriber, before: str, language: str) -> None:
        """Queue the mail a sign-up calls for (see AFTER_SIGNUP) in the ``language`` chosen on the
        form, unless one went out recently."""
        kind = AFTER_SIGNUP.get(before)
        if kind is None or not subscriber.address or not self._claim(subscriber.id):
            return
        self._worker.submit(self._send, kind, subscriber.id, subscriber.link_nonce, subscriber.address, language)

    def _claim(self, subscriber_id: int) -> bool:
        now = self._clock()
        with self._lock:
            last = self._last.get(subscriber_id)
            if last is not None and now - last < self._interval:
                return False
            if len(self._last) > 10_000:  # forget the old entries rather than grow without end
                self._last = {k: t for k, t in self._last.items() if now - t < self._interval}
            self._last[subscriber_id] = now
            return True

    def _send(self, kind: str, subscriber_id: int, generation: str, to: str, language: str) -> None:
        purpose = KINDS[kind][2]
        link = self.identity.link(purpose, self.tokens.issue(purpose, subscriber_id, generation))
        if language != self.site.language:  # Japanese links stay as they always were
            link += f"?lang={language}"
        when = self._clock()
        to = envelope_address(to)
        try:
            if self._transport is None:
                self._transport = self._open()
            data = compose(kind, self.identity, self.site, self.languages, language, to, link, when)
            self._transport.send(
                self.identity.from_address, to, data, f"web-{kind}-{subscriber_id}-{when:%Y%m%dT%H%M%S%f}"
            )
        except Exception as exc:  # noqa: BLE001  a failed mail must not stop the worker
            with self._lock:  # let the person try again at once
                self._last.pop(subscriber_id, None)
            # An SMTP refusal usually quotes the address: say only who (by id) and why (redacted).
            reason = redact_addresses(str(exc), to)
            log.warning("%s mail to subscriber %s not sent: %s: %s", kind, subscriber_id, type(exc).__name__, reason)
        else:
            log.info("%s mail to subscriber %s sent", kind, subscriber_id)

    def drain(self) -> None:
        """Wait until every queued mail has been handed to the transport."""
        self._worker.submit(lambda: None).result()

    def close(self) -> None:
        """Send what is queued, then close the transport if this mailer opened it."""
        self._worker.shutdown(wait=True)
        if self._transport is not None and self._owns:
            self._transport.close()
