"""Test session set-up: offline Prefect in a fresh home, one Prefect test harness per session.

Environment variables are set at import time, before anything imports Prefect. Under
pytest-xdist every worker is its own session: it imports this file itself, so it gets its own
Prefect home, argostranslate folders and harness (and, through tests/peers.py, its own
PostgreSQL and moto servers on free ports).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

_PREFECT_HOME = tempfile.mkdtemp(prefix="koho-prefect-")
os.environ.update(
    {
        "PREFECT_HOME": _PREFECT_HOME,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "60",
        "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    }
)
# No setting of the machine's own reaches a test; KOHO_ALLOW_SKIPS is the suite's, not koho's
# (tests/skips.py), and xdist's workers inherit this process's environment.
for name in [n for n in os.environ if n.startswith("KOHO_") and n != "KOHO_ALLOW_SKIPS"]:
    del os.environ[name]
# rich's consoles (koho.cli's, made at import) keep a COLUMNS they find when made, and xdist's
# workers start with COLUMNS=80: the tables a test reads would then wrap at 80 whatever width
# it asks CliRunner for. Without it, a console reads COLUMNS when it prints.
for name in ("COLUMNS", "LINES"):
    os.environ.pop(name, None)
# argostranslate fixes its folders when first imported, and any publish may import it: point
# them at a private folder for the whole session, so tests never read or write the user's models.
ARGOS_ROOT = Path(tempfile.mkdtemp(prefix="koho-argos-"))
os.environ.update(
    {
        "XDG_DATA_HOME": str(ARGOS_ROOT / "data"),
        "XDG_CONFIG_HOME": str(ARGOS_ROOT / "config"),
        "XDG_CACHE_HOME": str(ARGOS_ROOT / "cache"),
        "ARGOS_INTRA_THREADS": "1",
        "ARGOS_INTER_THREADS": "1",
        "ARGOS_DEVICE_TYPE": "cpu",
    }
)

# The controller and each worker make their own folders: none may outlive its process.
atexit.register(shutil.rmtree, _PREFECT_HOME, ignore_errors=True)
atexit.register(shutil.rmtree, ARGOS_ROOT, ignore_errors=True)

# Fixtures that several test files use live in these plugins and in conftest files, never
# imported by name into a test module (pytest finds them; an import would shadow them).
pytest_plugins = [
    "tests.peers",
    "tests.argos_home",
    "tests.skips",
    "tests.mail_peers",
    "tests.sns_fixtures",
    "tests.durations",
]

from tests.clock import TestClock  # noqa: E402  (after the environment is set)

REPO = Path(__file__).resolve().parents[1]
CONTENT = REPO / "content"

#: The long tests (whole-pipeline runs, chaos, koho's own Prefect server and warm runner, each
#: start costing seconds; the code gates, mypy over the tree; the validators over a lifecycle
#: build) are marked ``slow`` here, in one place: ``-m "not slow"`` is a quick loop.
SLOW = (
    "tests/e2e/",
    "tests/chaos/",
    "tests/validators/",
    "tests/test_runner.py",
    "tests/test_prefect_server.py",
    "tests/test_gates.py",
)


def pytest_collection_modifyitems(items):
    """Mark every test under ``SLOW`` as ``slow``."""
    for item in items:
        if item.nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> TestClock:
    """koho's clock pinned at ``PINNED_NOW`` for every test (autouse: no test may meet the
    machine's date by accident)."""
    return TestClock(monkeypatch)


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole session; flows skip the 1 s heartbeat join."""
    from prefect.settings import temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        with temporary_settings(updates={"flows.heartbeat_frequency": None}):
            yield


@pytest.fixture
def cli_env(monkeypatch):
    """For tests that run a flow through the `koho` command in process: the command sets
    Prefect's quiet defaults in os.environ; set them here first, so they end with the test."""
    from koho import prefect_env

    for name, value in prefect_env.DEFAULTS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def workspace(tmp_path, monkeypatch, request, clock):
    """A copy of the sample content and a private state folder, with KOHO_* pointing at them,
    every default channel but ``audio`` (a test sets KOHO_CHANNELS to choose others), and
    koho's clock pinned (``clock``).

    Japanese only unless the test uses ``argos_home`` (the tiny translation models): what a
    test sees must not depend on whether an earlier test installed models in this session.
    """
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KOHO_CONTENT_DIR", str(content))
    monkeypatch.setenv("KOHO_STATE_DIR", str(tmp_path / ".koho"))
    monkeypatch.setenv("KOHO_ARCHIVE_URL", f"file://{tmp_path / 'public'}")
    # Every default channel but audio: speaking the whole sample content takes minutes
    # (tests/channel_lists.py); a test of the audio edition names its channels.
    from tests.channel_lists import WITHOUT_AUDIO

    monkeypatch.setenv("KOHO_CHANNELS", WITHOUT_AUDIO)
    if "argos_home" not in request.fixturenames:
        monkeypatch.setenv("KOHO_LANGUAGES", "")
    return tmp_path


@pytest.fixture
def content(tmp_path):
    """An empty content folder (``tmp_path/content``) with the sample site.yaml and media: a test
    writes the articles it reads into ``content/articles``."""
    root = tmp_path / "content"
    (root / "articles").mkdir(parents=True)
    shutil.copy(CONTENT / "site.yaml", root / "site.yaml")
    shutil.copytree(CONTENT / "media", root / "media")
    return root


@pytest.fixture
def ledger_url(tmp_path):
    """A SQLite file in a folder that does not exist yet (the ledger creates it); the PostgreSQL
    tests (tests/test_ledger_postgres.py) override it."""
    return f"sqlite:///{tmp_path / 'state' / 'ledger.db'}"


@pytest.fixture
def ledger(ledger_url):
    """An open ``Ledger`` on ``ledger_url``, closed after the test."""
    from koho.ledger import Ledger

    opened = Ledger(ledger_url)
    yield opened
    opened.close()


@pytest.fixture
def relay():
    """An aiosmtpd server on loopback standing in for the office's mail relay: (its ``Sink`` of
    received messages, its port); the operators' alert mails go through it."""
    from aiosmtpd.controller import Controller

    from tests.mail_peers import Sink
    from tests.peers import free_port

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller.port
    controller.stop()
