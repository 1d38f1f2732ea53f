"""The run's last step: tell the operators once what needs a person (``koho/alerts.py``).

Failed deliveries, deliveries still open long after they were planned, and, at a scheduled
``publish-due``, the gap since the previous one when the worker was down. Told by mail to
``KOHO_OPS_MAIL`` (``channels/mail/ops.py``) and in the run's log; under Prefect also as an event
an automation can notify from (``flows/publish.py``). Never in a dry run.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from channels.mail.ops import ops_addresses, send_ops_mail
from koho.alerts import Problem, message, note_start, problems, tell_once

if TYPE_CHECKING:
    from flows.driver import Run

log = logging.getLogger("koho.run")

#: The scheduled run whose gaps are reported (prefect.yaml runs it every 10 minutes).
SCHEDULED = "publish-due"


def alert_operators(run: Run, scheduled: bool) -> list[Problem]:
    """Tell the operators what is new since the last run told them; return what was told."""
    if run.dry_run:
        return []
    settings = run.settings
    pending_after = timedelta(minutes=settings.ops_pending_minutes)
    found: list[Problem] = []
    if scheduled:
        gap = note_start(run.ledger, SCHEDULED, run.now, timedelta(minutes=settings.ops_missed_minutes))
        found += [gap] if gap else []
    found += problems(run.ledger, run.now, pending_after)
    site = run.corpus.site

    def tell(told: list[Problem]) -> None:
        subject, text = message(told, site.tz, settings.ops_language, pending_after)
        for line in [subject, *text.splitlines()]:
            if line.strip():
                log.warning(line)
        if ops_addresses(settings):
            send_ops_mail(settings, site, subject, text, run.now)

    try:
        return tell_once(run.ledger, found, run.now, tell)
    except Exception as exc:  # the run's own work is done and recorded: only the telling waits
        log.error("the operators could not be told (%s: %s); the next run tells them", type(exc).__name__, exc)
        return []
