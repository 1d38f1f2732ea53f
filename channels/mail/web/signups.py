"""Sign-ups are answered first and carried out afterwards, on one worker thread of the service.

What a sign-up does depends on the address's state: a new address is inserted with its topics
and sent a confirmation, an unsubscribed one starts a new generation, a confirmed one is sent its
preferences link, a suppressed one nothing, and over a limit nothing at all. Done before the
answer, that work made the answer measurably slower for a new address than for a known one, and
the time told anyone typing an address whether it was subscribed (issue 12). The route now
checks only the form, which depends on the request alone, hands the sign-up to ``Signups`` and
answers the same page; the worker counts the limits, stores the sign-up and queues the mail,
after the answer has left.

One thread: the sign-ups of one address are applied in the order they came, and the database
gets one writer from the form. The queue is bounded: when a flood larger than the proxy's own
limits fills it, further sign-ups are dropped with a warning (the answer is the same page, and
the per-client limit would have refused most of them anyway). Closing the service finishes
the queue before the mail transport is closed.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from channels.mail.web.confirm_mail import Mailer
from channels.mail.web.limits import CLIENT_LIMIT, MAILBOX_LIMIT, RateLimits, mailbox
from koho.subscribers import NewSubscriber, SubscriberStore

log = logging.getLogger("koho.web")

#: Sign-ups waiting for the worker; each is a few hundred bytes and a few milliseconds of work.
CAPACITY = 1000


@dataclass(frozen=True)
class Signup:
    """A sign-up whose form was valid: who, from which client, and the mail's language."""

    row: NewSubscriber
    client: str
    language: str


class Signups:
    """The service's sign-up worker: limits, store and mail, after the answer."""

    def __init__(self, store: SubscriberStore, limits: RateLimits, mailer: Mailer, capacity: int = CAPACITY):
        self.store, self.limits, self.mailer = store, limits, mailer
        self._capacity = capacity
        self._waiting = 0
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="koho-web-signup")

    def submit(self, signup: Signup) -> None:
        """Queue a sign-up; returns at once, whatever the address (drops it when the queue is full)."""
        with self._lock:
            if self._waiting >= self._capacity:
                log.warning("sign-up dropped: %d sign-ups are already waiting", self._waiting)
                return
            self._waiting += 1
        self._worker.submit(self._run, signup)

    def _run(self, signup: Signup) -> None:
        try:
            # Over a limit nothing is stored or mailed (ADR 0013).
            if not self.limits.allow("client", signup.client, CLIENT_LIMIT):
                log.warning("sign-up refused: client over its limit")
            elif not self.limits.allow("mailbox", mailbox(signup.row.address_key), MAILBOX_LIMIT):
                log.warning("sign-up refused: mailbox over its limit")
            else:
                subscriber, before = self.store.subscribe(signup.row, source="web")
                self.mailer.after_signup(subscriber, before, signup.language)
        except Exception as exc:  # noqa: BLE001  one failed sign-up must not stop the worker
            # The person saw "mail sent" and gets no mail: they can try again. No address logged.
            log.error("sign-up not carried out: %s", type(exc).__name__)
        finally:
            with self._lock:
                self._waiting -= 1

    def drain(self) -> None:
        """Wait until every queued sign-up is carried out and its mail handed to the transport."""
        self._worker.submit(lambda: None).result()
        self.mailer.drain()

    def close(self) -> None:
        """Carry out what is queued, then stop the worker (the mailer is closed by its owner)."""
        self._worker.shutdown(wait=True)
