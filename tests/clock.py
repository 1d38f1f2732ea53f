"""The injected clock every test runs under (see ``conftest.clock``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

#: The moment every test runs at unless it moves the clock: the sample content was written for
#: it (2026-11-28's article is due, the 12-01 issue has not appeared, 2026-11-30's article is
#: embargoed). Nothing in the suite may depend on the machine's date (`faketime` checks that).
PINNED_NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone(timedelta(hours=9)))


class TestClock:
    """koho's clock for one test: ``KOHO_NOW`` in the environment (flows, the CLI and the
    subprocesses a test starts all read it). Tests that need time to pass call ``advance``.

    koho's clock runs on from each pinned moment (as faketime's does), so what koho stamps is a
    few seconds after ``now``; an event that must come after earlier stamps is placed, and the
    clock advanced, a minute or more after them."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, monkeypatch, start: datetime = PINNED_NOW):
        from koho import clock

        self._monkeypatch = monkeypatch
        # koho's clock runs on from the first read in a process; each test starts at ``start``
        # again, or a test late in the session would begin minutes after the pinned moment
        # (and, e.g., see subscribers confirmed after an article it dated a minute later).
        monkeypatch.setattr(clock, "_origin", [])
        self.set(start)

    def set(self, when: datetime) -> datetime:
        """Pin the clock at ``when`` (aware)."""
        from koho import clock

        self.now = when
        self._monkeypatch.setenv("KOHO_NOW", when.isoformat())
        clock.restart()
        return when

    def advance(self, **delta) -> datetime:
        """Move the clock forward by ``timedelta(**delta)``; returns the new now."""
        return self.set(self.now + timedelta(**delta))


#: A signing key random enough for koho.tokens (which refuses 32 x "a"), fixed for repeatable tests.
TEST_SECRET = "koho-test-secret-Xr4Pq9Lm2Wz7Kc5Vn8Bt3Hy6Jd1Gs0Fa"
