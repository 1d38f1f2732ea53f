"""Prefect tasks shared by the flows: each wraps one koho.pipeline step."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context

from koho import clock
from koho.channel import Channel
from koho.delivery import Delivery, Receipt
from koho.errors import ContentInvalid
from koho.ledger import Ledger
from koho.pipeline import TransientDeliveryError, deliver
from koho.reader import Corpus, load
from koho.settings import Settings

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


def _transient(task, task_run, state) -> bool:
    # Retry only what may succeed later; a permanent failure is already final in the ledger.
    try:
        state.result()
    except TransientDeliveryError:
        return True
    except Exception:
        return False
    return False


@task(name="deliver", cache_policy=NO_CACHE, retries=RETRIES, retry_delay_seconds=[2, 10, 30, 60],
      retry_condition_fn=_transient)
def deliver_task(channel: Channel, ledger: Ledger, planned: Sequence[Delivery], lease: float) -> list[Receipt]:
    """Deliver what this run can claim; transient failures are retried with backoff."""
    receipts = deliver(channel, ledger, planned, owner=run_id(), lease=lease)
    get_run_logger().info("%s: %d delivered to %s", channel.name, len(receipts), channel.describe())
    return receipts


def now_utc() -> datetime:
    """Aware UTC now from koho's clock (``KOHO_NOW`` when pinned)."""
    return clock.now()


