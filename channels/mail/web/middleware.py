"""What every answer of the subscription service gets, as one small ASGI middleware.

* Security headers: a Content-Security-Policy that allows no script at all, no framing, and
  ``Referrer-Policy: no-referrer`` so the token in a page's URL never leaks to another site.
* A log line per request naming the *route* (``POST /confirm/{token}``), never the path: paths
  hold tokens, and form bodies hold addresses. uvicorn's own access log is switched off.
* An error page instead of a traceback, in the page's language when the app knows it (it gets
  the request's scope); the log gets the exception's type and the code lines it went through,
  not its message, which may quote an address (SQL parameters, SMTP).
* The public prefix (``/mail`` of ``KOHO_MAIL_WEB_URL``) as the ASGI ``root_path``, so the app
  answers both behind a proxy that strips the prefix and one that forwards it unchanged.
* Bodies larger than any form of this service (``MAX_BODY``), or than a path's own limit
  (``/sns``: SES notifications), are refused: by Content-Length before they are read, and while
  streaming for a chunked body without a length (counted as it arrives, never read whole).
* Form bodies must be UTF-8 (percent-decoded): anything else is a 400, never a stored U+FFFD.
* The only redirect (the public base without its trailing slash) points at the configured
  ``KOHO_MAIL_WEB_URL``, never at a URL built from the request's Host header.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("koho.web")

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}
#: The largest form (every topic ticked, a 320-character address) is well under 2 KiB.
MAX_BODY = 16 * 1024


class BodyTooLarge(Exception):
    """A streamed body grew past the route's cap."""


class NotUtf8(Exception):
    """A form body that does not decode as UTF-8."""


class Guard:
    """Pure ASGI middleware: headers, token-free access log, error page, public prefix, body cap.

    ``limits`` maps a route path (without the prefix) to its own body cap; others get ``MAX_BODY``.
    ``error_page(status, scope)`` is the page's bytes: the scope tells which language it speaks.
    """

    def __init__(
        self,
        app: ASGIApp,
        prefix: str,
        error_page: Callable[[int, Scope], bytes],
        limits: Mapping[str, int] | None = None,
        base_url: str = "",
    ):
        self.app = app
        self.prefix = prefix
        self.error_page = error_page
        self.limits = dict(limits or {})
        self.base_url = base_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.prefix and not scope.get("root_path"):
            scope["root_path"] = self.prefix  # Starlette routes the path with or without it
        started = time.monotonic()
        status = 0

        async def send_secured(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers.update(SECURITY_HEADERS)
                if "cache-control" not in headers:  # pages carry tokens: no shared cache keeps them
                    headers["cache-control"] = "no-store"
            await send(message)

        async def refuse(code: int) -> None:
            body = self.error_page(code, scope)
            await send_secured(
                {
                    "type": "http.response.start",
                    "status": code,
                    "headers": [
                        (b"content-type", b"text/html; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})

        try:
            headers = dict(scope["headers"])
            length = headers.get(b"content-length", b"0")
            cap = self.limits.get(_route_path(scope), MAX_BODY)
            if not length.isdigit() or int(length) > cap:
                await refuse(413)
                return
            if self.prefix and self.base_url and scope["path"] == self.prefix:
                # Starlette would redirect to the Host header's site; this one goes where the
                # configuration says the service lives.
                await send_secured(
                    {
                        "type": "http.response.start",
                        "status": 308,
                        "headers": [(b"location", self.base_url.encode("ascii")), (b"content-length", b"0")],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
            receive = _capped(receive, cap)
            kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if scope["method"] == "POST" and kind in _FORMS:
                receive = await _utf8_form(receive, urlencoded=kind == _FORMS[0])
            await self.app(scope, receive, send_secured)
        except BodyTooLarge:
            if not status:
                await refuse(413)
        except NotUtf8:
            if not status:
                await refuse(400)
        except Exception as exc:  # noqa: BLE001  the visitor gets a page, the log gets no values
            log.error(
                "%s %s failed: %s\n%s",
                scope["method"],
                _route(scope),
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
            )
            if not status:
                await refuse(500)
        finally:
            log.info(
                "%s %s %s %.0fms", scope["method"], _route(scope), status or 500, (time.monotonic() - started) * 1000
            )


_FORMS = (b"application/x-www-form-urlencoded", b"multipart/form-data")


def _capped(receive: Receive, cap: int) -> Receive:
    """``receive`` that raises BodyTooLarge as soon as more than ``cap`` body bytes arrived."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > cap:
                raise BodyTooLarge()
        return message

    return counted


async def _utf8_form(receive: Receive, urlencoded: bool) -> Receive:
    """Read the (capped, small) form body, refuse it unless it is UTF-8, and replay it."""
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    try:
        text = body.decode("utf-8")
        if urlencoded:  # %-escapes must decode to UTF-8 as well
            parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise NotUtf8() from None
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _route_path(scope: Scope) -> str:
    # The path the app routes: without the public prefix, whether the proxy stripped it or not.
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :] or "/"
    return path


def _route(scope: Scope) -> str:
    # The route's template (``/confirm/{token}``); an unmatched path may be a mistyped token.
    route = scope.get("route")
    return getattr(route, "path", None) or "(no route)"
