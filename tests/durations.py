"""Longest files first: the order in which pytest-xdist hands whole files to its workers.

A pytest plugin (``pytest_plugins`` in conftest). With ``--dist loadfile`` a worker takes one
file at a time, in collection order (``--no-loadscope-reorder``; xdist's own reordering sorts by
number of tests, which puts the few-test, minutes-long end-to-end files last). A file started
last on one worker while the other has nothing left is what made a two-worker run end minutes
after the average: here each worker collects the files longest first, by the per-file seconds
recorded in ``tests/durations.txt`` (files not listed follow, in collection order). That is the
longest-processing-time-first rule; with files of a few minutes at most and a suite of many
more, the two workers end within about the last short file of each other.

The list is measured, not guessed: ``pytest --record-durations`` (with or without ``-n``)
updates it with the files that ran, summing each test's set-up, call and tear-down (a module
fixture is counted in its file; a session fixture in the first file that asked for it), leaving
out files with a failure. Serial runs (``-n 0``) keep collection order: the order only matters
when files are shared out.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

#: Seconds per test file, one ``seconds path`` per line, longest first (see the module docstring).
DURATIONS = Path(__file__).resolve().parent / "durations.txt"


def read(path: Path = DURATIONS) -> dict[str, float]:
    """The recorded seconds per file (a path relative to the repository root, as in node ids)."""
    if not path.exists():
        return {}
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            seconds, name = line.split(maxsplit=1)
            found[name] = float(seconds)
    return found


def write(seconds: dict[str, float], path: Path = DURATIONS) -> None:
    """Write ``seconds`` as the list, longest first."""
    lines = [f"{value:8.1f} {name}" for name, value in sorted(seconds.items(), key=lambda kv: (-kv[1], kv[0]))]
    header = "# Seconds per test file (tests/durations.py): `pytest --record-durations` rewrites this list.\n"
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_addoption(parser):
    parser.addoption(
        "--record-durations",
        action="store_true",
        help="update tests/durations.txt with the seconds each file that ran took (tests/durations.py)",
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """In an xdist worker, order whole files longest first (a stable sort: a file's tests keep
    their order). Every worker sorts the same collection the same way, as xdist requires."""
    if hasattr(config, "workerinput"):
        longest_first(items, read())


def longest_first(items: list, seconds: dict[str, float]) -> None:
    """Sort ``items`` (anything with a ``nodeid``) in place by their file's ``seconds``, longest
    first; stable, so each file's tests stay together and in order, and unlisted files keep
    their order after the listed ones."""
    items.sort(key=lambda item: -seconds.get(_file(item.nodeid), 0.0))


class _Recorder:
    """Sums each report's duration per file, in the process that sees every report (the xdist
    controller, or the only process of a serial run). A file with a failed or errored test is
    not recorded (a start-up that timed out, or a run interrupted, says nothing of its length)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.failed: set[str] = set()

    def pytest_runtest_logreport(self, report) -> None:
        self.seconds[_file(report.nodeid)] += report.duration
        if report.failed:
            self.failed.add(_file(report.nodeid))

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        done = {name: value for name, value in self.seconds.items() if name not in self.failed}
        if done and exitstatus != pytest.ExitCode.INTERRUPTED:
            write({**read(), **done})


def pytest_configure(config):
    if config.getoption("record_durations") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_Recorder(), "koho-durations-recorder")
