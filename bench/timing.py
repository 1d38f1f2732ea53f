"""The benchmarks' timer: named laps inside one timed region (no koho import, so a benchmark
can time koho's own imports apart)."""

from __future__ import annotations

import time


class Timer:
    """Named laps inside one timed region; the total is the sum of the laps. A name lapped
    again adds to its first lap (a channel's delivery batches are one figure)."""

    def __init__(self):
        self.start = self.last = time.perf_counter()
        self._laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        """Close the current lap under ``name`` and start the next one."""
        now = time.perf_counter()
        self._laps[name] = self._laps.get(name, 0.0) + now - self.last
        self.last = now

    @property
    def laps(self) -> list[tuple[str, float]]:
        """(name, seconds) in the order the names were first lapped."""
        return list(self._laps.items())

    @property
    def total(self) -> float:
        """Seconds from creation to the last lap."""
        return self.last - self.start

    def breakdown(self) -> str:
        """``name 0.12 s, ...`` for the detail lines."""
        return ", ".join(f"{name} {secs:.2f} s" for name, secs in self.laps)
