"""Mail peers shared by several test files (a pytest plugin, ``pytest_plugins`` in conftest).

An aiosmtpd server on loopback that keeps what it accepts (``smtp_sink``, ``sink``), and the
subscription web service under uvicorn in a thread (``settings``, ``service``; ``start`` for a
test that needs a second one), with a clock the tests move instead of sleeping.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller

from channels.mail.web import create_app
from channels.mail.web.server import server_config
from koho.settings import Settings
from tests.clock import PINNED_NOW
from tests.peers import free_port

#: The web service's signing key in these tests (tokens a test forges use it too).
SECRET = "web-test-secret-Hq3Zm8Vx2Nc7Lp4Rt9Wb6Ky1Jd5Fs0Ga"


class Sink:
    """aiosmtpd handler: keeps what it accepts, refuses some recipients like a real MTA."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.peers: set = set()
        self.lock = threading.Lock()
        #: While True, busy@ recipients get a temporary refusal (set False: the mailbox recovered).
        self.busy = True

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("gone@"):
            return "550 5.1.1 <gone@example.jp>: user unknown"
        if address.startswith("busy@") and self.busy:
            return "451 4.3.0 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            self.peers.add(session.peer)
        return "250 2.0.0 queued"


@pytest.fixture
def smtp_sink():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller
    controller.stop()


class Clock:
    """The service's notion of now, moved forward by tests instead of sleeping."""

    def __init__(self):
        self.now = PINNED_NOW  # the moment koho's clock is pinned at (tests/clock.py)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


class Service:
    """One running service: its base URL (with the /mail prefix), app, clock and mail sink."""

    def __init__(self, app, port: int, clock: Clock, sink: Sink):
        self.app, self.clock, self.sink = app, clock, sink
        self.base = f"http://127.0.0.1:{port}/mail/"
        self.http = httpx.Client(base_url=self.base, timeout=10)
        self.store = app.state.store

    def signup(self, addr: str, *topics: str, language: str = "ja", **more: str) -> httpx.Response:
        """Sign up through the form and wait until the service has carried the sign-up out
        (it answers first and works after: ``channels.mail.web.signups``)."""
        answer = self.http.post("", data={"address": addr, "topics": list(topics), "language": language, **more})
        self.settle()
        return answer

    def settle(self) -> None:
        """Wait until queued sign-ups are stored and their mails handed to the transport."""
        self.app.state.signups.drain()

    def mails(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until the sink holds ``count`` mails (every queued one has been handed over)."""
        self.settle()
        deadline = time.monotonic() + timeout
        while len(self.sink.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.sink.messages) == count
        return [message_from_bytes(raw, policy=default) for _sender, _to, raw in self.sink.messages]


def start(settings: Settings, clock: Clock, sink: Sink, port: int | None = None, **options):
    """Start uvicorn with the service in a thread (by default on the port its mails link to);
    ``options`` go to ``create_app``. Return (service, stop)."""
    app = create_app(settings, clock=clock, **options)
    port = port or urlsplit(settings.mail_web_url).port
    server = uvicorn.Server(server_config(app, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(20)

    return Service(app, port, clock, sink), stop


@pytest.fixture
def sink():
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def settings(workspace, sink, monkeypatch):
    monkeypatch.setenv("KOHO_MAIL_URL", f"smtp://127.0.0.1:{sink.port}?connections=1")
    monkeypatch.setenv("KOHO_SECRET_KEY", SECRET)
    # Links in mails point at this test server, under the same /mail/ prefix as production.
    port = free_port()
    monkeypatch.setenv("KOHO_MAIL_WEB_URL", f"http://127.0.0.1:{port}/mail/")
    yield Settings()
    # uvicorn's logging config stops koho's loggers from propagating; later tests use caplog.
    for name in ("koho", "channels"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


@pytest.fixture
def service(settings, sink):
    clock = Clock()
    running, stop = start(settings, clock, sink)
    yield running
    stop()
