"""One local Prefect server per state folder, started once in the background and then reused.

Without ``PREFECT_API_URL`` Prefect would start a temporary server inside every command (10–25 s
on a busy machine, ADR 0015). koho instead starts Prefect's own server (uvicorn serving
``prefect.server.api.server:create_app``, as ``prefect server start --background`` does) once,
detached, with its own ``PREFECT_HOME`` under ``<KOHO_STATE_DIR>/prefect/``:

- ``server.json``: pid, port, Prefect version and start time of the running server;
- ``server.lock``: held while a command checks, starts or stops it, so two commands started at
  once end up with one server;
- ``server.log``: the server's own output, the place to look when it does not start;
- ``home/``: its ``PREFECT_HOME`` (its SQLite database of flow runs, logs and artifacts).

Nothing here imports Prefect: ``koho server status`` stays fast.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from koho.processes import alive, spawn_detached, terminate

#: Printed by every start-up failure, after what went wrong.
WHAT_TO_DO = "or set PREFECT_API_URL to a running Prefect server"

#: The marker in the server's command line that tells our process from a reused pid.
APP = "prefect.server.api.server:create_app"


class ServerError(Exception):
    """The local server could not be started or reached; the message is one line for the operator."""


@dataclass(frozen=True)
class ServerInfo:
    """What ``server.json`` records about the running server."""

    pid: int
    port: int
    prefect_version: str
    started_at: str

    @property
    def url(self) -> str:
        """The API URL a client sets as ``PREFECT_API_URL``."""
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        """Where the Prefect UI of this server is."""
        return f"http://127.0.0.1:{self.port}/"


class LocalServer:
    """The background Prefect server of one koho state folder.

    ``timeout`` bounds how long a command waits for the server to answer (``KOHO_PREFECT_SERVER_TIMEOUT``).
    """

    def __init__(self, state_dir: Path, timeout: float = 60.0):
        self.dir = Path(state_dir).resolve() / "prefect"
        self.timeout = timeout
        self.state_path = self.dir / "server.json"
        self.lock_path = self.dir / "server.lock"
        self.log_path = self.dir / "server.log"
        self.home = self.dir / "home"

    # -- reading ---------------------------------------------------------------------------------

    def recorded(self) -> ServerInfo | None:
        """What ``server.json`` says, whether or not that server still runs."""
        try:
            return ServerInfo(**json.loads(self.state_path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def running(self) -> ServerInfo | None:
        """The recorded server if it is alive, ours and answering; else None (nothing is changed)."""
        info = self.recorded()
        if info and _is_ours(info) and _healthy(info):
            return info
        return None

    # -- changing (each under the lock) ----------------------------------------------------------

    def ensure(self, announce: Callable[[str], object] | None = None) -> ServerInfo:
        """The running server, started first if none answers (``announce(message)`` is called
        before a start). Raises ServerError."""
        info = self.running()  # the common case: no lock needed to read a healthy server
        if info and info.prefect_version == _prefect_version():
            return info
        with self._lock():
            info = self.recorded()
            if info and _is_ours(info):
                # Still starting (a command was interrupted while waiting), or hung, or another
                # Prefect version (its API may not match the client's): wait, then replace.
                if info.prefect_version == _prefect_version() and self._wait_healthy(info, None):
                    return info
                terminate(info.pid)
            if announce:
                announce(
                    f"Starting koho's local Prefect server (once; it keeps running for later "
                    f"commands, `koho server stop` stops it; log: {self.log_path})"
                )
            return self._start(info.port if info else None)

    def stop(self) -> ServerInfo | None:
        """Stop the recorded server, and the warm runner that uses it, if they are ours and
        alive; returns the server that was stopped."""
        from koho import runner

        runner.stop(runner.Place(self.dir))
        with self._lock():
            info = self.recorded()
            stopped = info if info and _is_ours(info) else None
            if stopped:
                terminate(stopped.pid)
            self.state_path.unlink(missing_ok=True)
            return stopped

    # -- internals -------------------------------------------------------------------------------

    @contextmanager
    def _lock(self) -> Iterator[None]:
        from filelock import FileLock, Timeout

        # 0700: the server's database holds every flow run's logs; the runner's key lives here too.
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Long enough for the holder to wait out a stale server and start a new one.
        lock = FileLock(self.lock_path, timeout=3 * self.timeout + 10)
        try:
            lock.acquire()
        except Timeout:
            raise ServerError(
                f"another koho command has held {self.lock_path} for "
                f"{lock.timeout:.0f} s; see {self.log_path}, {WHAT_TO_DO}"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def _start(self, preferred_port: int | None) -> ServerInfo:
        self.home.mkdir(parents=True, exist_ok=True)
        port = preferred_port if preferred_port and _port_free(preferred_port) else _free_port()
        for _attempt in range(3):
            process = self._spawn(port)
            info = ServerInfo(process.pid, port, _prefect_version(), datetime.now(UTC).isoformat(timespec="seconds"))
            # Recorded before it answers: a command interrupted while waiting leaves a server
            # the next command can find (and wait for, or replace) instead of an orphan.
            self._write(info)
            if self._wait_healthy(info, process):
                return info
            if process.poll() is None:  # still not answering: give up on it
                terminate(process.pid)
                self.state_path.unlink(missing_ok=True)
                raise ServerError(
                    f"the local Prefect server did not answer within {self.timeout:g} s "
                    f"(KOHO_PREFECT_SERVER_TIMEOUT); see {self.log_path}, {WHAT_TO_DO}"
                )
            self.state_path.unlink(missing_ok=True)
            if not _address_in_use(self.log_path):
                break
            port = _free_port()  # another program took the port between our check and its bind
        raise ServerError(
            f"the local Prefect server exited at start-up (code {process.returncode}); "
            f"see {self.log_path}, {WHAT_TO_DO}"
        )

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
            # The command's own quiet console (koho/prefect_env.py) would hide why a start failed.
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "NOTSET",
            "PREFECT__SERVER_FINAL": "1",
        }
        env.pop("PREFECT_API_URL", None)  # the server is the API; it must not look for another
        env.pop("PREFECT_PROFILE", None)  # the caller's profile lives in another PREFECT_HOME
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            _prefect_parent(),
            "--factory",
            APP,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--lifespan",
            "on",
        ]
        with open(self.log_path, "ab") as log:
            log.write(
                f"\n--- {datetime.now(UTC).isoformat(timespec='seconds')} koho starts "
                f"the Prefect server on port {port}\n".encode()
            )
            log.flush()
            return spawn_detached(command, log, env, self.dir)

    def _wait_healthy(self, info: ServerInfo, process: subprocess.Popen[bytes] | None) -> bool:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if _healthy(info):
                return True
            if (process.poll() is not None) if process else not alive(info.pid):
                return False
            time.sleep(0.1)  # polling for a process to come up, with a deadline
        return False

    def _write(self, info: ServerInfo) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(info)))
        tmp.replace(self.state_path)


def _prefect_version() -> str:
    return importlib.metadata.version("prefect")


def _prefect_parent() -> str:
    # Found, not imported: importing Prefect costs this command a second.
    spec = importlib.util.find_spec("prefect")
    if spec is None or spec.origin is None:
        raise ServerError(f"Prefect is not installed in {sys.prefix}; {WHAT_TO_DO}")
    return str(Path(spec.origin).parent.parent)


def _healthy(info: ServerInfo) -> bool:
    try:
        with urllib.request.urlopen(f"{info.url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _is_ours(info: ServerInfo) -> bool:
    """Alive, and (where /proc tells) really the server we started: pids are reused."""
    if not alive(info.pid):
        return False
    try:
        argv = Path(f"/proc/{info.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc (macOS): the health check on our port has to do
    return APP.encode() in argv and str(info.port).encode() in argv


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]  # (host, port) for AF_INET
        return port


def _address_in_use(log_path: Path) -> bool:
    try:
        tail = log_path.read_bytes()[-4000:]
    except OSError:
        return False
    return b"address already in use" in tail.lower()


def configured_api_url() -> str | None:
    """The Prefect API the operator chose: ``PREFECT_API_URL`` in the environment, else the active
    Prefect profile's (``prefect config set PREFECT_API_URL=…``), else, when Prefect is already
    loaded in this process, its current settings (a test harness). None: koho runs its own."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    from prefect.settings import get_current_settings  # Prefect's own resolution of profiles

    return get_current_settings().api.url or None


def connect(state_dir: Path, timeout: float, announce: Callable[[str], object] | None = None) -> ServerInfo | None:
    """Point this process's Prefect at the local server (started if needed), unless the operator
    chose an API (``configured_api_url``). Call before the flows run. Raises ServerError."""
    if configured_api_url():
        return None
    info = LocalServer(state_dir, timeout).ensure(announce)
    os.environ["PREFECT_API_URL"] = info.url
    # Prefect built its process-wide settings when configured_api_url() imported it; rebuild them
    # from the environment, which every thread (log and event workers too) falls back to.
    refresh_prefect_settings()
    return info


def refresh_prefect_settings() -> None:
    """Rebuild Prefect's process-wide settings from the environment as it is now."""
    from prefect import context

    refresh = getattr(context, "refresh_global_settings_context", None)
    if refresh:
        refresh()
    else:  # Prefect before the function existed: what it does
        context.GLOBAL_SETTINGS_CONTEXT = context.root_settings_context()
