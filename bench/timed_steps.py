"""The run driver's plain steps, timed: what benchmarks that publish or build pass to
``flows/driver.py`` ``run``.

Benchmarks go through the driver, as every flow and the dry run do, so they measure what a run
really does; a lap after each step gives the breakdown by step and channel.
"""

from __future__ import annotations

import uuid

from timing import Timer

from flows.steps import Steps


class TimedSteps(Steps):
    """The driver's plain steps (no Prefect), each followed by a lap; the time the driver spends
    between steps is lapped before the next one. A site build plans inside the driver
    (``site_build``), so the time before a channel's first delivery there is its plan+record."""

    def __init__(self, timer: Timer):
        super().__init__()
        self.timer = timer
        self._planned_by_step: set[str] = set()
        self._delivering: str | None = None
        # The run's own id on its ledger rows, so its report counts what it sent as sent (plain
        # Steps record none, and the ledger then tallies every final row as another run's).
        self._owner = f"bench:{uuid.uuid4().hex[:12]}"

    def owner(self) -> str | None:
        return self._owner

    def read(self, settings):
        corpus = super().read(settings)
        self.timer.lap("read")
        return corpus

    def plan(self, run, channel, article_id, language):
        return self._planned(f"{channel} plan+record", channel, super().plan, run, channel, article_id, language)

    def plan_issue(self, run, channel, issue_id, language):
        return self._planned(
            f"{channel} plan issue+record", channel, super().plan_issue, run, channel, issue_id, language
        )

    def plan_page(self, run, channel, item_id, language, after, issue):
        # A streamed fan-out (ADR 0039): every page's plan and record, in one lap per channel.
        lap = f"{channel} plan {'issue ' if issue else ''}page+record"
        return self._planned(lap, channel, super().plan_page, run, channel, item_id, language, after, issue)

    def _planned(self, lap: str, channel: str, step, *args):
        self.timer.lap("run (between steps)")
        self._planned_by_step.add(channel)
        got = step(*args)
        self.timer.lap(lap)
        return got

    def deliver(self, run, channel, keys):
        if channel not in self._planned_by_step and self._delivering != channel:
            self.timer.lap(f"{channel} plan+record")  # a build's site_build, since the last step
        else:
            self.timer.lap("run (between steps)")
        self._delivering = channel
        got = super().deliver(run, channel, keys)
        self.timer.lap(f"{channel} deliver")
        return got
