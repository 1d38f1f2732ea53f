"""The shared machinery of the fake API servers: threads, fault injection, request log."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from requests.structures import CaseInsensitiveDict


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    answered: int = 0

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Fault:
    """A failure to answer with: an HTTP status (with headers/body) or ``timeout`` seconds of silence."""

    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    timeout: float = 0.0
    #: Only requests whose path starts with this (e.g. not the token endpoint).
    path: str = ""
    #: Accept then hang: carry the request out (the post exists), then ``timeout`` seconds of
    #: silence and a closed connection, as a provider whose answer is lost.
    accept: bool = False


class FakeApi:
    """A threaded HTTP server on 127.0.0.1; subclasses implement ``route``."""

    def __init__(self, seed: int = 7):
        self.seen: list[Seen] = []
        self.rejected: list[str] = []
        self.faults: list[Fault] = []
        self.share: tuple[float, Fault] | None = None
        self._random = random.Random(seed)
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else ~40 ms of delayed-ACK per request

            def _any(self):
                fake._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args):  # quiet test output
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- control -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeApi:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, count: int = 1, **fault) -> None:
        """The next ``count`` requests (of ``path``) get this fault instead of an answer."""
        self.faults += [Fault(**fault) for _ in range(count)]

    def fail_share(self, fraction: float, **fault) -> None:
        """About ``fraction`` of later requests (seeded, so repeatable) get this fault."""
        self.share = (fraction, Fault(**fault))

    def calls(self, method: str | None = None, prefix: str = "") -> list[Seen]:
        """Requests the fake accepted (2xx, not faults), optionally filtered."""
        return [
            s
            for s in self.seen
            if 200 <= s.answered < 300 and (method is None or s.method == method) and s.path.startswith(prefix)
        ]

    # -- serving -----------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        # Header names are case-insensitive (httplib2 sends them in lower case).
        seen = Seen(
            handler.command,
            parts.path,
            dict(parse_qsl(parts.query)),
            CaseInsensitiveDict(handler.headers.items()),
            handler.rfile.read(length) if length else b"",
        )
        with self.lock:
            self.seen.append(seen)
            fault = next((f for f in self.faults if seen.path.startswith(f.path)), None)
            if fault is not None:
                self.faults.remove(fault)
            if fault is None and self.share and self._random.random() < self.share[0]:
                fault = self.share[1]
        if fault is not None and fault.accept:
            try:
                seen.answered, _body, _headers = self.route(seen)
            except AssertionError as exc:
                self.rejected.append(str(exc))
            time.sleep(fault.timeout)
            handler.close_connection = True
            return
        if fault is not None:
            if fault.timeout:
                time.sleep(fault.timeout)
                handler.close_connection = True
                return
            self._reply(
                handler, fault.status, fault.body if fault.body is not None else {"error": "injected"}, fault.headers
            )
            return
        try:
            status, body, headers = self.route(seen)
        except AssertionError as exc:  # what arrived is wrong: say so loudly, as a real API would
            status, body, headers = 400, {"error": f"fake rejected the request: {exc}"}, {}
            self.rejected.append(str(exc))
        seen.answered = status
        self._reply(handler, status, body, headers)

    @staticmethod
    def _reply(handler, status: int, body: Any, headers: dict[str, str]) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def route(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:  # pragma: no cover
        raise NotImplementedError
