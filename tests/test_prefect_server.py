"""koho's local Prefect server (ADR 0015), with real processes: the `koho` command in child
processes, each test with its own KOHO_STATE_DIR, and every server a test started stopped at its end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from koho.prefect_server import APP, LocalServer

ARTICLE = "content/articles/2026/tokushu-sagi-chuui.md"


def _server_pids(state_dir: Path) -> list[int]:
    """Every Prefect server process running in this state folder (ours: started by koho for it)."""
    where = str((state_dir / "prefect").resolve())
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if APP.encode() in (proc / "cmdline").read_bytes() and os.readlink(proc / "cwd") == where:
                if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(proc.name))
        except OSError:
            continue
    return found


def _runner_pids(cwd: Path) -> list[int]:
    """Every warm runner (ADR 0017) working in ``cwd``: started by a koho command run there."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if b"koho.runner" in argv and os.readlink(proc / "cwd") == str(cwd):
                if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.fixture
def koho(workspace, monkeypatch):
    """Run the real command in the workspace, archive only; stop the servers it started afterwards."""
    monkeypatch.setenv("KOHO_CHANNELS", "archive")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    state_dirs = {workspace / ".koho"}

    def run(*args: str, state_dir: Path | None = None, env: dict | None = None, wait: bool = True):
        environment = {**os.environ, "COLUMNS": "250", **(env or {})}
        if state_dir:
            state_dirs.add(state_dir)
            environment["KOHO_STATE_DIR"] = str(state_dir)
        command = [sys.executable, "-m", "koho.cli", *args]
        if not wait:
            return subprocess.Popen(
                command, cwd=workspace, env=environment, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        return subprocess.run(command, cwd=workspace, env=environment, capture_output=True, text=True, timeout=300)

    yield run
    for state_dir in state_dirs:
        LocalServer(state_dir).stop()
        for pid in _server_pids(state_dir):  # a server no state file knew of would be a bug: end it too
            os.kill(pid, signal.SIGKILL)
        assert not _server_pids(state_dir)
    leftover = _runner_pids(workspace)
    for pid in leftover:
        os.kill(pid, signal.SIGKILL)
    assert not leftover, "a warm runner outlived `koho server stop`"


def _recorded(workspace: Path) -> dict:
    return json.loads((workspace / ".koho" / "prefect" / "server.json").read_text())


def test_first_publish_starts_the_server_later_ones_reuse_it_and_stop_stops_it(koho, workspace, tmp_path):
    first = koho("publish", ARTICLE)
    assert first.returncode == 0, first.stderr
    assert "Starting koho's local Prefect server" in first.stderr
    server = _recorded(workspace)
    assert _server_pids(workspace / ".koho") == [server["pid"]]

    second = koho("publish", ARTICLE)
    assert second.returncode == 0, second.stderr
    assert "Starting" not in second.stderr
    assert _recorded(workspace)["pid"] == server["pid"]

    status = koho("server", "status")
    assert status.returncode == 0 and f"pid {server['pid']}" in status.stdout
    assert f"127.0.0.1:{server['port']}/api" in status.stdout
    # The flow runs are in the server's own home: the Prefect UI shows them.
    assert (workspace / ".koho" / "prefect" / "home" / "prefect.db").is_file()

    # With PREFECT_API_URL set (here: to this server), another state folder starts nothing.
    url = f"http://127.0.0.1:{server['port']}/api"
    other = tmp_path / "other-state"
    external = koho("publish", ARTICLE, state_dir=other, env={"PREFECT_API_URL": url})
    assert external.returncode == 0 and "Starting" not in external.stderr, external.stderr
    assert not (other / "prefect").exists()
    told = koho("server", "status", state_dir=other, env={"PREFECT_API_URL": url}).stdout
    assert f"PREFECT_API_URL is set: koho's commands use {url}" in told

    stopped = koho("server", "stop")
    assert stopped.returncode == 0 and f"pid {server['pid']}" in stopped.stdout
    assert not _server_pids(workspace / ".koho")
    after = koho("server", "status")
    assert after.returncode == 1 and "No local Prefect server is running" in after.stdout


def test_a_killed_server_is_noticed_and_replaced(koho, workspace):
    assert koho("server", "start").returncode == 0
    dead = _recorded(workspace)
    os.kill(dead["pid"], signal.SIGKILL)  # started by our koho child for this test's state folder
    deadline = time.monotonic() + 10
    while dead["pid"] in _server_pids(workspace / ".koho") and time.monotonic() < deadline:
        time.sleep(0.05)

    assert koho("server", "status").returncode == 1
    published = koho("publish", ARTICLE)
    assert published.returncode == 0, published.stderr
    replaced = _recorded(workspace)
    assert replaced["pid"] != dead["pid"]
    assert replaced["port"] == dead["port"]  # the same address again, while it is free
    assert _server_pids(workspace / ".koho") == [replaced["pid"]]


def test_two_commands_starting_at_once_get_one_server(koho, workspace):
    both = [koho("server", "start", wait=False) for _ in range(2)]
    outputs = [process.communicate(timeout=300) for process in both]
    assert [process.returncode for process in both] == [0, 0], outputs
    pid = _recorded(workspace)["pid"]
    assert all(f"pid {pid}," in stdout for stdout, _ in outputs)
    assert _server_pids(workspace / ".koho") == [pid]


def test_a_server_that_cannot_start_is_one_line_and_exit_code_2(koho, workspace):
    broken = {"PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{workspace}/no/such/dir/prefect.db"}
    result = koho("publish", ARTICLE, env=broken)
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    log = workspace / ".koho" / "prefect" / "server.log"
    assert errors == [
        f"error: the local Prefect server exited at start-up (code 3); see {log}, "
        "or set PREFECT_API_URL to a running Prefect server"
    ]
    assert "Traceback" not in result.stderr
    assert "unable to open database file" in log.read_text()  # the log says why
    assert not (workspace / "public").exists()
    assert not _server_pids(workspace / ".koho")


def test_a_start_up_timeout_is_one_line_and_leaves_no_server(koho, workspace):
    result = koho("publish", ARTICLE, env={"KOHO_PREFECT_SERVER_TIMEOUT": "0.2"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        "error: the local Prefect server did not answer within 0.2 s (KOHO_PREFECT_SERVER_TIMEOUT); see "
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not _server_pids(workspace / ".koho")
    assert not (workspace / ".koho" / "prefect" / "server.json").exists()


def test_help_check_status_and_dry_run_start_no_server(koho, workspace):
    for args in (["--help"], ["check"], ["status"], ["publish", ARTICLE, "--dry-run"], ["server", "status"]):
        result = koho(*args)
        assert result.returncode in (0, 1), (args, result.stderr)
        assert not (workspace / ".koho" / "prefect" / "server.json").exists(), args
    assert not _server_pids(workspace / ".koho")
