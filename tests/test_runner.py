"""koho's warm runner (ADR 0016), with real processes: the `koho` command (``python -m koho``, the
console script's entry point) in child processes, its local Prefect server and the runner the
first publish leaves behind; every server and runner a test started is stopped at its end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from multiprocessing.connection import AuthenticationError, Client
from pathlib import Path

import pytest

from koho import runner
from koho.prefect_server import LocalServer
from tests.fakes.x_api import CREDENTIALS, FakeX
from tests.test_prefect_server import _runner_pids, _server_pids

ARTICLE = "content/articles/2026/tokushu-sagi-chuui.md"
OTHER = "content/articles/2026/jitensha-tonan-boushi.md"
EMBARGOED = "content/articles/2026/nerima-hotline-2026-12.md"  # publish_at 2026-11-30 09:00


@pytest.fixture
def koho(workspace, monkeypatch):
    """Run the real command (through the launcher) in the workspace, archive only."""
    monkeypatch.setenv("KOHO_CHANNELS", "archive")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("KOHO_RUNNER", raising=False)

    def run(*args: str, env: dict | None = None):
        environment = {**os.environ, "COLUMNS": "250", **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "koho", *args],
            cwd=workspace,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )

    yield run
    state = workspace / ".koho"
    LocalServer(state).stop()
    leftover = _server_pids(state) + _runner_pids(workspace)
    for pid in leftover:
        os.kill(pid, signal.SIGKILL)  # one no state file knew of would be a bug: ended all the same
    assert not leftover


def _place(workspace: Path) -> runner.Place:
    return runner.Place(workspace / ".koho" / "prefect")


def _warm(workspace: Path, timeout: float = 120) -> dict:
    """The runner's record once it listens (it imports Prefect first: seconds)."""
    place = _place(workspace)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # polling for a process to come up, with a deadline
        info = place.recorded()
        if info is not None and info["listening"]:
            return info
        time.sleep(0.1)
    raise AssertionError(f"no runner came up; its log: {place.log.read_text() if place.log.exists() else '-'}")


def _served(workspace: Path) -> int:
    return _place(workspace).recorded()["served"]


def test_a_publish_leaves_a_runner_that_later_commands_use_with_the_same_output(koho, workspace):
    first = koho("publish", ARTICLE)
    assert first.returncode == 0, first.stderr
    info = _warm(workspace)
    assert info["served"] == 0

    second = koho("publish", OTHER)
    assert second.returncode == 0, second.stderr
    assert _served(workspace) == 1
    assert (workspace / "public" / "articles" / "jitensha-tonan-boushi" / "index.html").is_file()

    # The same command through the runner and in its own process prints the same report.
    warm = koho("publish", OTHER)
    own = koho("publish", OTHER, env={"KOHO_RUNNER": "off"})
    assert _served(workspace) == 2
    assert (warm.returncode, warm.stdout) == (own.returncode, own.stdout)
    assert "Nothing new was sent" in warm.stdout

    status = koho("server", "status")
    assert f"Warm runner: pid {info['pid']}" in status.stdout and "2 command(s) served" in status.stdout


def test_each_command_brings_its_own_clock_and_exit_code(koho, workspace, clock):
    assert koho("publish", ARTICLE).returncode == 0
    _warm(workspace)

    held = koho("publish", EMBARGOED)  # at the pinned 2026-11-28: not yet
    assert _served(workspace) == 1
    assert "embargoed until 2026-11-30 09:00" in held.stdout, held.stdout
    assert not (workspace / "public" / "articles" / "nerima-hotline-2026-12").exists()

    clock.advance(days=3)
    sent = koho("publish", EMBARGOED)
    assert _served(workspace) == 2
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert (workspace / "public" / "articles" / "nerima-hotline-2026-12" / "index.html").is_file()

    refused = koho("publish", "content/articles/no-such-folder")  # the runner's pre-flight refuses it
    assert refused.returncode == 2 and "no articles under" in refused.stderr, refused.stderr
    assert _served(workspace) == 3


def test_another_environment_runs_in_its_own_process(koho, workspace):
    assert koho("publish", ARTICLE).returncode == 0
    _warm(workspace)
    other = koho("publish", OTHER, env={"KOHO_MAIL_FROM_NAME": "another office"})
    assert other.returncode == 0, other.stderr
    assert _served(workspace) == 0
    verbose = koho("publish", OTHER, "--verbose")
    assert verbose.returncode == 0 and _served(workspace) == 0


def test_only_its_owner_can_talk_to_it_and_stop_ends_it(koho, workspace):
    assert koho("publish", ARTICLE).returncode == 0
    info = _warm(workspace)
    place = _place(workspace)
    assert place.dir.stat().st_mode & 0o777 == 0o700
    for path in (place.key, place.socket, place.info):
        assert path.stat().st_mode & 0o777 == 0o600, path
    with pytest.raises(AuthenticationError):
        Client(str(place.socket), family="AF_UNIX", authkey=b"not the key")
    assert koho("publish", OTHER).returncode == 0 and _served(workspace) == 1  # still serving

    stopped = koho("server", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert info["pid"] not in _runner_pids(workspace)
    assert not any(path.exists() for path in (place.key, place.socket, place.info))


def test_an_idle_runner_leaves(koho, workspace):
    assert koho("publish", ARTICLE, env={"KOHO_RUNNER_IDLE": "1"}).returncode == 0
    place = _place(workspace)
    # Not _warm(): an idle second can pass before a loaded machine lets this test look. The log
    # says it served and left; then no runner of this folder may remain.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
        place.log.exists() and "leaving: no command for 1 s" in place.log.read_text()
    ):
        time.sleep(0.1)  # waiting for a process to come up and leave, with a deadline
    assert "leaving: no command for 1 s (KOHO_RUNNER_IDLE)" in place.log.read_text()
    while time.monotonic() < deadline and _runner_pids(workspace):
        time.sleep(0.1)  # waiting for a process to end, with a deadline
    assert not _runner_pids(workspace)
    assert place.recorded() is None and not place.socket.exists() and not place.key.exists()
    again = koho("publish", OTHER)  # in its own process again
    assert again.returncode == 0, again.stderr


def test_the_fingerprint_ignores_the_terminal_but_not_the_configuration(tmp_path):
    base = {"KOHO_CHANNELS": "archive", "HOME": "/home/x"}
    code = runner.installation_stamp(base)
    same = runner.fingerprint(base, str(tmp_path), code)
    assert (
        runner.fingerprint({**base, "TERM": "xterm", "COLUMNS": "99", "KOHO_NOW": "2030-01-01"}, str(tmp_path), code)
        == same
    )
    assert runner.fingerprint({**base, "KOHO_CHANNELS": "archive,feeds"}, str(tmp_path), code) != same
    assert runner.fingerprint({**base, "AWS_SECRET_ACCESS_KEY": "x"}, str(tmp_path), code) != same
    assert runner.fingerprint(base, str(tmp_path / "elsewhere"), code) != same
    assert not runner.wanted(["publish", "--dry-run"], {})
    assert not runner.wanted(["publish"], {"PREFECT_API_URL": "http://x/api"})
    assert not runner.wanted(["publish"], {"KOHO_RUNNER": "off"})
    assert not runner.wanted(["check"], {})
    assert runner.wanted(["publish-due"], {})


def test_ctrl_c_interrupts_the_command_in_the_runner_which_keeps_serving(koho, workspace, monkeypatch):
    """X accepts the connection and never answers: Ctrl+C stops the command as it would stop it
    in its own process (exit 130), and the runner takes the next command."""
    fake = FakeX().start()
    try:
        monkeypatch.setenv("KOHO_CHANNELS", "archive,x")
        monkeypatch.setenv("KOHO_X_URL", fake.url)
        monkeypatch.setenv("KOHO_X_TIMEOUT", "120")
        for name, value in CREDENTIALS.items():
            monkeypatch.setenv(f"KOHO_X_{name.upper()}", value)
        assert koho("publish", ARTICLE).returncode == 0
        _warm(workspace)
        posted = len(fake.calls("POST", "/2/tweets"))

        fake.fail_next(timeout=120, path="/2/tweets")
        command = subprocess.Popen(
            [sys.executable, "-m", "koho", "publish", OTHER],
            cwd=workspace,
            env={**os.environ, "COLUMNS": "250"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len([s for s in fake.seen if s.path == "/2/tweets"]) <= posted:
            time.sleep(0.05)  # until the runner's request hangs at the fake
        command.send_signal(signal.SIGINT)
        _out, err = command.communicate(timeout=60)
        assert command.returncode == 130, err
        assert _served(workspace) == 1

        again = koho("publish", ARTICLE)
        assert again.returncode == 0, again.stderr
        assert _served(workspace) == 2
    finally:
        fake.stop()


def test_a_runner_leaves_when_a_translation_model_is_installed(koho, workspace, monkeypatch, tmp_path):
    """It caches loaded models: a model installed meanwhile (another process) would go unseen."""
    models = tmp_path / "argos-packages"
    models.mkdir()
    monkeypatch.setenv("ARGOS_PACKAGES_DIR", str(models))
    assert koho("publish", ARTICLE).returncode == 0
    pid = _warm(workspace)["pid"]
    assert koho("publish", OTHER).returncode == 0 and _served(workspace) == 1

    (models / "translate-ja_en").mkdir()  # what `koho translations install` adds
    after = koho("publish", OTHER)
    assert after.returncode == 0, after.stderr
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and pid in _runner_pids(workspace):
        time.sleep(0.05)  # waiting for a process to end, with a deadline
    assert pid not in _runner_pids(workspace)
    assert "translation models" in _place(workspace).log.read_text()
