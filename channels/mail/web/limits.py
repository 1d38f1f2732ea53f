"""Sign-up rate limits, per mailbox and per client, kept in the ledger's database (ADR 0013).

The form is open to anyone, so two abuses need a limit that a restart does not reset:

* one mailbox flooded with confirmation mails through its variants (``taro+1@``, ``taro+2@``,
  and on Gmail ``t.aro@``): sign-ups are counted per *mailbox* (``mailbox``: lower case, the
  ``+tag`` dropped, dots dropped for gmail.com/googlemail.com), at most ``MAILBOX_LIMIT``;
* one client signing up hundreds of addresses: at most ``CLIENT_LIMIT`` sign-ups per client
  address (``client_address``: the socket peer, or the proxy's forwarded header only when
  ``KOHO_MAIL_TRUSTED_PROXY_HEADER`` names it; IPv6 counted per /64, what one host is given).

Over a limit, the sign-up answers the same page as always and stores and mails nothing.
Counters are fixed windows in table ``rate_limits`` (migration 0009), keyed by an HMAC of the
mailbox or client under the signing secret: the table holds no address, of a mailbox or an IP,
and rows whose window has passed are deleted.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from koho.ledger_schema import rate_limits

#: Sign-ups (and so sign-up mails) per mailbox: a person retrying a lost mail fits, a flood not.
MAILBOX_LIMIT = (3, timedelta(hours=24))
#: Sign-ups per client address: a family or an office behind one address fits, a script not.
CLIENT_LIMIT = (20, timedelta(hours=1))
_GMAIL = {"gmail.com", "googlemail.com"}


def mailbox(address_key: str) -> str:
    """The mailbox an address reaches: ``Taro.Y+news@GoogleMail.com`` -> ``taroy@gmail.com``."""
    local, _, domain = address_key.lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def client_address(peer: str | None, headers: Mapping[str, str], trusted_header: str = "") -> str:
    """Whom to count a request against: the last address in ``trusted_header`` (the one the
    proxy appended; earlier ones come from the client and prove nothing) when it is configured
    and holds an IP address, else the socket ``peer``. IPv6 addresses by their /64."""
    chosen = peer or ""
    if trusted_header:
        forwarded = (headers.get(trusted_header) or "").split(",")[-1].strip()
        if forwarded:
            chosen = forwarded
    try:
        ip = ipaddress.ip_address(chosen)
    except ValueError:
        return chosen or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is 192.0.2.1
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class RateLimits:
    """Fixed-window counters in ``rate_limits``, shared by every process on the database."""

    def __init__(self, engine: Engine, secret: str, clock: Callable[[], datetime]):
        self.engine, self._clock = engine, clock
        self._key = hashlib.sha256(f"koho.rate-limits:{secret}".encode()).digest()

    def allow(self, scope: str, value: str, limit: tuple[int, timedelta]) -> bool:
        """Count one event for ``value`` in ``scope``; False (and nothing counted) over the limit."""
        most, window = limit
        key = hmac.new(self._key, f"{scope}:{value}".encode(), hashlib.sha256).hexdigest()
        # UTC: SQLite compares stored times as text, so every stamp must carry the same offset.
        now = self._clock().astimezone(UTC)
        row = and_(rate_limits.c.scope == scope, rate_limits.c.key == key)
        for _attempt in (1, 2):
            with self.engine.begin() as conn:
                conn.execute(
                    delete(rate_limits).where(
                        and_(rate_limits.c.scope == scope, rate_limits.c.window_start <= now - window)
                    )
                )
                # One conditional UPDATE counts and checks at once: two workers cannot both pass
                # the last free slot.
                if conn.execute(
                    update(rate_limits)
                    .where(and_(row, rate_limits.c.count < most))
                    .values(count=rate_limits.c.count + 1)
                ).rowcount:
                    return True
                if conn.execute(select(rate_limits.c.count).where(row)).first() is not None:
                    return False
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(rate_limits).values(scope=scope, key=key, window_start=now, count=1))
                return most > 0
            except IntegrityError:  # another request made the row first: count against it
                continue
        return False
