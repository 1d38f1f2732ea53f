"""Prefect tasks of the flows: each runs one step of ``flows/steps.py`` for the open run it names.

Tasks take ids and plain values (the run's key, a channel name, an article or issue id, a
language, delivery keys) and look the run's context up (``flows.driver.running``), so Prefect
neither walks nor records the corpus, the ledger or an open channel as an argument.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context

from flows import steps
from flows.driver import running
from flows.steps import Translated
from koho import clock
from koho.delivery import Delivery, Receipt
from koho.errors import ContentInvalid
from koho.fanout import Page
from koho.ledger import Recorded
from koho.pipeline import TransientDeliveryError
from koho.reader import Corpus, load
from koho.settings import Settings
from translations.engine import MissingModel

if TYPE_CHECKING:
    from prefect import Task
    from prefect.client.schemas import TaskRun
    from prefect.client.schemas.objects import State

RETRIES = 4


def run_id() -> str | None:
    """The current flow run id, recorded on ledger rows for traceability."""
    try:
        ctx = get_run_context()
    except Exception:
        return None
    run = getattr(ctx, "flow_run", None) or getattr(getattr(ctx, "task_run", None), "flow_run_id", None)
    return str(getattr(run, "id", run)) if run else None


@task(name="read-content", cache_policy=NO_CACHE)
def read_content(settings: Settings) -> Corpus:
    """Read and validate all content; any error stops the run before anything is published."""
    corpus = load(settings)
    if corpus.errors:
        raise ContentInvalid(corpus.errors)
    return corpus


# NO_CACHE on every step below although they take plain values now: each writes the ledger or
# sends, so a result must never be served from a cache for the same inputs.


@task(name="translate", cache_policy=NO_CACHE)
def translate_task(run: str, article_id: str, language: str) -> Translated:
    """Translate one article into one language (all its new segments in one model batch).

    Returns (translated Article, None), or (None, what to install) when no model can.
    """
    try:
        result = steps.translate(running(run), article_id, language)
    except MissingModel as missing:
        return None, str(missing)
    get_run_logger().info(
        "%s [%s]: %d segments, %d sent to the model, %d reviewed",
        article_id,
        language,
        result.segments,
        result.translated,
        result.reviewed,
    )
    return result.article, None


@task(name="plan-and-record", cache_policy=NO_CACHE)
def plan_task(run: str, channel: str, article_id: str, language: str) -> tuple[list[Delivery], Recorded]:
    """Plan one article (or its translation into ``language``) on one channel and write its rows
    pending (unless dry run)."""
    return steps.plan(running(run), channel, article_id, language)


@task(name="plan-issue-and-record", cache_policy=NO_CACHE)
def plan_issue_task(run: str, channel: str, issue_id: str, language: str) -> tuple[list[Delivery], Recorded]:
    """Plan one bulletin issue on one channel (the mail digest, the e-book) and write its rows pending."""
    return steps.plan_issue(running(run), channel, issue_id, language)


@task(name="plan-page-and-record", cache_policy=NO_CACHE)
def plan_page_task(run: str, channel: str, item_id: str, language: str, after: int, issue: bool) -> Page:
    """Plan one page of a fan-out (subscribers after id ``after``) on one channel and write its
    rows pending (ADR 0039)."""
    return steps.plan_page(running(run), channel, item_id, language, after, issue)


def _transient(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    # Retry only what may succeed later; a permanent failure is already final in the ledger.
    try:
        state.result()
    except TransientDeliveryError:
        return True
    except Exception:
        return False
    return False


@task(
    name="deliver",
    cache_policy=NO_CACHE,
    retries=RETRIES,
    retry_delay_seconds=[2, 10, 30, 60],
    retry_condition_fn=_transient,
)
def deliver_task(run: str, channel: str, keys: list[str]) -> list[Receipt]:
    """Deliver what this run can claim of the planned rows ``keys``; transient failures are
    retried with backoff."""
    current = running(run)
    receipts = steps.deliver(current, channel, keys)
    get_run_logger().info("%s: %d delivered to %s", channel, len(receipts), current.channel(channel).describe())
    return receipts


def now_utc() -> datetime:
    """Aware UTC now from koho's clock (``KOHO_NOW`` when pinned)."""
    return clock.now()
