"""Quiet, offline-safe Prefect defaults for command-line runs (set before Prefect is imported).

Only defaults: anything the operator exported (a real PREFECT_API_URL, a log level) wins.
"""

from __future__ import annotations

import os

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "60",
    # The temporary server logs cancelled background flushes as tracebacks when it stops;
    # they are harmless and would frighten PR staff.
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    # koho's own summary is the console report; Prefect's console lines would repeat a refused
    # SMTP login as three tracebacks. The API handler still ships every record to the server.
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
}


def apply(verbose: bool = False) -> None:
    """Set the defaults that are not already set."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    if verbose:
        os.environ["PREFECT_LOGGING_LEVEL"] = "INFO"
        os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "NOTSET"
