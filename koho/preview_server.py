"""The local web server of ``koho preview``: one page, its files, and the file's version.

It serves on the loopback address only (a PR officer's own machine) with the standard library's
``ThreadingHTTPServer``: one reader, a handful of requests, and a start in milliseconds; an
ASGI server (uvicorn, which ``koho serve`` uses) would add start-up time and nothing a single
local reader needs.

Reloading: the page polls ``/version``, which stats the article and site.yaml on each request.
``watchfiles`` is not installed in the environment and a stat of two files per half second
costs nothing, so no watcher thread or library is needed; a changed version makes the next
page request plan the article again.
"""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

#: What the server shows for one version of the file: the page in each language, given the
#: link to the other language and the version, and the files the page links.
Render = Callable[[], "Rendered"]


@dataclass(frozen=True)
class Rendered:
    """One planning of the article: ``page(lang, switch, version)`` and the linked files."""

    page: Callable[[str, str, str | None], str]
    files: dict[str, bytes]


def version(paths: list[Path]) -> str:
    """The files' modification times and sizes: changes when any of them is saved."""
    parts = []
    for path in paths:
        try:
            info = path.stat()
            parts.append(f"{info.st_mtime_ns}-{info.st_size}")
        except OSError:
            parts.append("missing")
    return ".".join(parts)


class PreviewServer:
    """Serves the preview of the file(s) ``watched`` on 127.0.0.1 (``port`` 0: a free one)."""

    def __init__(self, render: Render, watched: list[Path], port: int = 0):
        self._render, self._watched = render, watched
        self._lock = threading.Lock()
        self._current: tuple[str, Rendered] | None = None
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        """The page's address."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/"

    def version(self) -> str:
        """The watched files' version now."""
        return version(self._watched)

    def current(self) -> tuple[str, Rendered]:
        """The version and its planning, planned again when the file changed since."""
        with self._lock:
            now = self.version()
            if self._current is None or self._current[0] != now:
                self._current = (now, self._render())
            return self._current

    def serve_forever(self) -> None:
        """Answer requests until ``shutdown``."""
        self.httpd.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(server: PreviewServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  (the standard library's name)
            parts = urlsplit(self.path)
            path = unquote(parts.path).lstrip("/")
            if path == "version":
                self._answer(server.version().encode(), "text/plain; charset=utf-8")
                return
            current, rendered = server.current()
            if path in ("", "index.html"):
                lang = "en" if parse_qs(parts.query).get("lang") == ["en"] else "ja"
                switch = "./" if lang == "en" else "./?lang=en"
                self._answer(rendered.page(lang, switch, current).encode(), "text/html; charset=utf-8")
            elif path in rendered.files:
                kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
                if kind.startswith("text/") or kind.endswith(("xml", "javascript")):
                    kind += "; charset=utf-8"
                self._answer(rendered.files[path], kind)
            else:
                self.send_error(HTTPStatus.NOT_FOUND)

        def _answer(self, body: bytes, kind: str) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # the terminal shows the address, not a line per request

    return Handler
