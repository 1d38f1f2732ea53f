"""The run's clock: the system time, or ``KOHO_NOW`` to test or replay a run at a chosen moment.

Time is an input (DESIGN.md). Everything that decides *what* goes out (embargoes, which 区報
issues have appeared, lease expiry, retry windows) asks this module rather than the system
clock, so a test pins a moment and a test that needs time to pass moves it forward; nothing
waits on the wall clock. Protocol-level stamps that must be true (a mail's ``Date:`` header,
signatures) keep the system time.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from koho.errors import ConfigError

#: The variable that sets "now" when a process starts (ISO 8601; without an offset, Japan time
#: like ``publish_at``).
ENV = "KOHO_NOW"
#: Offsetless times are the ward's local time, as in front matter.
DEFAULT_ZONE = ZoneInfo("Asia/Tokyo")


@lru_cache(maxsize=8)
def parse(text: str) -> datetime:
    """An aware UTC datetime from ISO 8601 text (``2026-11-28T09:00+09:00``, ``2026-11-28 09:00``)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{ENV} is not a time: {text!r} (use ISO 8601, e.g. 2026-11-28T09:00+09:00)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=DEFAULT_ZONE)
    return value.astimezone(UTC)


#: The pinned value in force and when this process first read it (monotonic seconds): a pinned
#: clock then runs on, like faketime's, so a lease still expires and a retry window still passes
#: within a run. A new value starts afresh from its own moment.
_origin: list[tuple[str, float]] = []


def now() -> datetime:
    """Aware UTC now: ``KOHO_NOW`` (plus the time elapsed since this process first read that
    value) when it is set, else the system clock."""
    pinned = os.environ.get(ENV, "").strip()
    if not pinned:
        return datetime.now(UTC)
    if not _origin or _origin[0][0] != pinned:
        _origin[:] = [(pinned, time.monotonic())]
    return parse(pinned) + timedelta(seconds=time.monotonic() - _origin[0][1])


def restart() -> None:
    """Start the pinned clock again from ``KOHO_NOW`` itself (a test pinning the same moment
    again must not inherit the time earlier tests took)."""
    _origin.clear()


def later(seconds: float) -> datetime:
    """``now()`` plus ``seconds`` (a not-before time, a lease's end)."""
    return now() + timedelta(seconds=seconds)
