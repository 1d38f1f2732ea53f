"""The background processes koho starts and stops itself: the local Prefect server
(``koho.prefect_server``) and the warm runner (``koho.runner``).

Both are started the same way (a session of their own, output to a log), recognised the same way
(alive and not a zombie; pids are reused, so each also checks it is really its own process), and
stopped the same way (SIGTERM, then SIGKILL). Standard library only: ``koho server status`` and
every command that delegates to the runner import this before anything else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO


def spawn_detached(
    command: list[str], log: IO[bytes], env: Mapping[str, str], cwd: str | Path
) -> subprocess.Popen[bytes]:
    """Start ``command`` in a session of its own, its output appended to ``log``: it outlives the
    command that started it and a Ctrl+C in its terminal."""
    return subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        close_fds=True,
    )


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (a killed process whose parent is gone may stay one
    until init reaps it). Where there is no /proc (macOS), existing has to do."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def terminate(pid: int, grace: float = 10.0, running: Callable[[int], bool] = alive) -> bool:
    """SIGTERM, then SIGKILL after ``grace`` seconds; True once ``running(pid)`` says it ended,
    False if it still runs 5 s after the SIGKILL."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:  # polling for a process to end, with a deadline
            # Our own child (started by this process): collected, so it does not linger as a zombie.
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if not running(pid):
                return True
            time.sleep(0.05)
    return False
