"""A skipped test is a failed test, unless it is listed here with its reason (issue 15).

A pytest plugin (``pytest_plugins`` in conftest). The suite drives real peers (Chromium, Java
for EPUBCheck, PostgreSQL, argostranslate), which ``tests/system-deps.sh`` and the README's
install command provide. A test that skipped because one of them was missing would let the
suite pass without the check it exists for, so the default (what CI runs) turns every skip into
a failure that says what was missing. ``ALLOWED`` is the only exception list.

A developer without one of those tools can still run the rest: ``KOHO_ALLOW_SKIPS=1`` keeps
skips as skips (``-ra`` lists them at the end).
"""

from __future__ import annotations

import os

import pytest

#: Test node ids (as pytest prints them) that may skip, each with why that is acceptable.
#: Empty: nothing in the suite may skip today.
ALLOWED: dict[str, str] = {}

#: The environment variable that lets skips stay skips on a developer's machine.
OPT_OUT = "KOHO_ALLOW_SKIPS"


def skips_fail() -> bool:
    """Whether a skip not in ``ALLOWED`` fails the run (the default; ``KOHO_ALLOW_SKIPS=1`` opts out)."""
    return os.environ.get(OPT_OUT, "").strip() not in ("1", "true", "yes")


def _reason(report) -> str:
    # A skip's longrepr is (file, line, "Skipped: reason").
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _fail(report, nodeid: str) -> None:
    report.outcome = "failed"
    report.longrepr = (
        f"{nodeid} skipped ({_reason(report)}), and a skip fails the suite: install what "
        f"it needs (sh tests/system-deps.sh; pip install -c requirements.lock -e '.[dev,translate,accessible]'), "
        f"list it in tests/skips.py ALLOWED with a reason, or set {OPT_OUT}=1 on a machine "
        f"that lacks it"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Turn a test's skip (in set-up, call or a skipif mark) into a failure."""
    outcome = yield
    report = outcome.get_result()
    # An xfail that failed as expected also reports "skipped"; that is not a missing tool.
    if report.skipped and not hasattr(report, "wasxfail") and skips_fail() and item.nodeid not in ALLOWED:
        _fail(report, item.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """Turn a whole module's skip (``pytest.importorskip`` at import) into a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and skips_fail() and report.nodeid not in ALLOWED:
        _fail(report, report.nodeid)
