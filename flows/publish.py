"""Flows: publish articles, publish what is due, rebuild the archive.

Each flow is a thin Prefect wrapper over the run driver (``flows/driver.py``): it names the work
and passes ``PrefectSteps``, so translating, planning and delivering are Prefect tasks (with the
delivery retries) and the run ends with an artifact of what happened (a table; publish-due with
nothing due: a note saying so). No channel-specific code lives here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows import driver
from flows.driver import Work
from flows.steps import Steps, Translated
from flows.tasks import (
    deliver_task,
    now_utc,
    plan_issue_task,
    plan_page_task,
    plan_task,
    read_content,
    run_id,
    translate_task,
)
from koho.pipeline import Outcome
from koho.report import artifact_rows
from koho.settings import Settings

if TYPE_CHECKING:
    from flows.driver import Run
    from koho.alerts import Problem
    from koho.delivery import Delivery, Receipt
    from koho.fanout import Page
    from koho.ledger import Recorded
    from koho.reader import Corpus


class PrefectSteps(Steps):
    """The driver's steps as this module's Prefect tasks (looked up when called, so a test can
    swap a task for one with shorter retries)."""

    def read(self, settings: Settings) -> Corpus:
        return read_content(settings)

    def owner(self) -> str | None:
        return run_id()

    def log(self, message: str) -> None:
        get_run_logger().info(message)

    def translate(self, run: Run, article_id: str, language: str) -> Translated:
        return translate_task(run.key, article_id, language)

    def plan(self, run: Run, channel: str, article_id: str, language: str) -> tuple[list[Delivery], Recorded]:
        return plan_task(run.key, channel, article_id, language)

    def plan_issue(self, run: Run, channel: str, issue_id: str, language: str) -> tuple[list[Delivery], Recorded]:
        return plan_issue_task(run.key, channel, issue_id, language)

    def plan_page(self, run: Run, channel: str, item_id: str, language: str, after: int, issue: bool) -> Page:
        return plan_page_task(run.key, channel, item_id, language, after, issue)

    def deliver(self, run: Run, channel: str, keys: list[str]) -> list[Receipt]:
        return deliver_task(run.key, channel, keys)

    def report(self, outcomes: list[Outcome], title: str, idle: str = "") -> list[Outcome]:
        _report(outcomes, title, idle)
        return outcomes

    def alert(self, run: Run, scheduled: bool) -> list[Problem]:
        told = super().alert(run, scheduled)
        if told:
            _alert_event(told)
        return told


def _alert_event(told: list[Problem]) -> None:
    """A ``koho.operators.alerted`` event: a Prefect automation on it notifies the operators
    through whatever the server has (Slack, Teams, mail blocks). Counts and ids, no addresses."""
    from prefect.events import emit_event

    from koho.alerts import grouped

    groups = grouped(told)
    emit_event(
        event="koho.operators.alerted",
        resource={"prefect.resource.id": "koho.deliveries", "prefect.resource.name": "koho"},
        payload={
            "failed": sum(g.count for g in groups if g.kind == "failed"),
            "pending": sum(g.count for g in groups if g.kind == "pending"),
            "missed": [
                f"{g.since.isoformat()}/{(g.until or g.since).isoformat()}" for g in groups if g.kind == "missed"
            ],
            "items": [
                {
                    "kind": g.kind,
                    "article": g.article_id,
                    "channel": g.channel,
                    "language": g.language,
                    "count": g.count,
                }
                for g in groups
                if g.kind != "missed"
            ][:50],
        },
    )


def _report(outcomes: list[Outcome], title: str, idle: str = "") -> None:
    """The run's artifact ``koho-deliveries``: a table of what it did, or, for a run that found
    nothing to do, ``idle`` (markdown) under the same key, so every run has its entry in one series."""
    rows = artifact_rows(outcomes)
    if rows:
        create_table_artifact(table=rows, key="koho-deliveries", description=title)
    elif idle:
        create_markdown_artifact(markdown=idle, key="koho-deliveries", description=title)


@flow(name="publish-article", log_prints=True)
def publish_article(
    paths: list[str], channels: list[str] | None = None, dry_run: bool = False, now: datetime | None = None
) -> list[Outcome]:
    """Publish the articles under ``paths`` (files or folders) to the enabled channels.

    ``now`` (default: koho's clock) decides embargoes and which 区報 issues have appeared.
    """
    return driver.run(Settings(), Work(paths=tuple(paths)), channels, now or now_utc(), dry_run, PrefectSteps())


@flow(name="publish-due", log_prints=True)
def publish_due(channels: list[str] | None = None, now: datetime | None = None) -> list[Outcome]:
    """Publish every ready article whose time has come (at ``now``, default koho's clock) and that
    still has work on some channel."""
    return driver.run(Settings(), Work(due=True), channels, now or now_utc(), steps=PrefectSteps())


@flow(name="build-archive", log_prints=True)
def build_site(channels: list[str] | None = None, force: bool = False, now: datetime | None = None) -> list[Outcome]:
    """Rebuild every page (and feed) of the live site, with the translations publishing put there,
    and the e-books of every issue; only changed bytes are written. ``force``: offer every file
    again even if the site is unchanged since the last build (the store lost files)."""
    return driver.run(Settings(), Work(build=True, force=force), channels, now or now_utc(), steps=PrefectSteps())
