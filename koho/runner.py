"""koho's warm runner: a background process, next to the local Prefect server, that runs
``publish``, ``publish-due`` and ``build`` with Prefect and koho already imported (ADR 0016).

A new ``koho`` process spends more time importing Prefect and koho, building its settings and
flushing Prefect's log and event workers at exit than a one-article publish spends publishing.
Once the local server runs, the first publish leaves a runner behind; later commands hand it
their arguments over a Unix socket in ``<KOHO_STATE_DIR>/prefect/`` and print what it sends
back, with its exit code. The command runs exactly the code it would run in its own process.

What keeps that honest:

- **Same inputs or no runner.** The runner serves a command only when its environment
  (every variable except a terminal's own, see ``_SESSION``), working folder, Python and koho's
  code and installed packages are what the runner started with. ``KOHO_NOW`` is the exception:
  it is applied per command, the clock starting afresh from it as in a new process. Anything
  else, or a runner busy with another command, and the command runs in its own process as before.
- **One at a time, Ctrl+C still stops.** A runner runs one command; a second one started
  meanwhile runs in its own process (leases share the work, ADR 0012). A Ctrl+C, or the command's
  terminal going away, interrupts the run in the runner exactly as in the command's own process.
- **Only its own user.** The socket's folder is 0700 and the connection is authenticated with a
  random key in a 0600 file (``multiprocessing.connection``'s HMAC challenge).
- **It does not linger.** It exits when idle for ``KOHO_RUNNER_IDLE`` seconds (1800), when koho's
  code or packages change, and with ``koho server stop``. ``KOHO_RUNNER=off`` turns it off.

Nothing here imports more than the standard library until the runner itself starts: the
command that asks it pays a few milliseconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import select
import signal
import sys
import sysconfig
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any, TextIO, TypedDict, cast

from koho.processes import alive, spawn_detached, terminate

#: What an unchanged process environment looks like to the runner, taken when koho is imported:
#: before the command sets Prefect's defaults or points it at the local server.
ORIGINAL_ENV: dict[str, str] = dict(os.environ)

#: Commands the runner takes; their flags that stay in the command's own process (a dry run and
#: help start no server anyway; --verbose shows Prefect's console logs, which are the process's).
COMMANDS = frozenset({"publish", "publish-due", "build"})
IN_PROCESS = frozenset({"--dry-run", "--verbose", "-v", "--help"})

#: Variables of a terminal session, not of koho's configuration: two terminals differ in them.
_SESSION = frozenset(
    {
        "_",
        "PWD",
        "OLDPWD",
        "SHLVL",
        "TERM",
        "COLORTERM",
        "NO_COLOR",
        "FORCE_COLOR",
        "COLUMNS",
        "LINES",
        "PS1",
        "PS2",
        "DISPLAY",
        "WAYLAND_DISPLAY",
        "WINDOWID",
        "STY",
        "WINDOW",
        "TERM_PROGRAM",
        "TERM_PROGRAM_VERSION",
        "TERM_SESSION_ID",
        "VTE_VERSION",
        "LS_COLORS",
        "HISTFILE",
        "HISTSIZE",
        "MAIL",
        "SSH_TTY",
        "SSH_CONNECTION",
        "SSH_CLIENT",
        "TMUX",
        "TMUX_PANE",
        "XDG_SESSION_ID",
        "XDG_VTNR",
        "GPG_TTY",
        "KOHO_NOW",
    }
)
#: What the runner's consoles need from the command's terminal to print as it would.
_TERMINAL = ("TERM", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES")
#: The packages whose code a runner has imported; a change to any file ends the runner.
_PACKAGES = ("koho", "channels", "flows", "translations")
_OFF = {"0", "false", "off", "no", "n", "f"}

#: Exit code when the runner vanished mid-command (README "Exit codes": work may still be owed).
EXIT_LOST = 3


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``KOHO_RUNNER`` allows a runner (default yes)."""
    return environ.get("KOHO_RUNNER", "on").strip().lower() not in _OFF


def wanted(argv: list[str], environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this command line may be handed to a runner at all."""
    return (
        bool(argv)
        and argv[0] in COMMANDS
        and not IN_PROCESS.intersection(argv)
        and not environ.get("PREFECT_API_URL")
        and enabled(environ)
    )


#: A runner's answer when what it loaded changed on disk (``installation_stamp``); it then leaves.
_STALE = ("refused", "koho's code, packages, translation models or Prefect profile changed")


def fingerprint(environ: Mapping[str, str], cwd: str, installed: str | None = None) -> str:
    """What must be equal for a runner to serve a command as the command itself would run
    (``installed``: an ``installation_stamp(environ)`` already taken)."""
    config = sorted((k, v) for k, v in environ.items() if k not in _SESSION)
    state = [config, os.path.realpath(cwd), sys.executable, installed or installation_stamp(environ)]
    return hashlib.sha256(json.dumps(state).encode()).hexdigest()


def installation_stamp(environ: Mapping[str, str]) -> str:
    """What a runner loaded once and would otherwise keep using when it changed on disk: koho's
    code and the installed packages (``code_stamp``), the translation models (argostranslate's
    package folder, which koho's engine caches) and the Prefect profiles file."""
    home = Path.home()
    data = Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    models = Path(environ.get("ARGOS_PACKAGES_DIR") or data / "argos-translate" / "packages")
    profiles = Path(environ.get("PREFECT_HOME") or home / ".prefect") / "profiles.toml"
    return f"{code_stamp()}:{_mtime(models)}:{_mtime(profiles)}"


def code_stamp() -> str:
    """A digest of koho's source files and the installed packages (their folder changes when pip
    adds or removes one): a runner never runs code older than what is on disk."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for package in _PACKAGES:
        for folder, dirs, files in os.walk(root / package):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".py", ".po", ".html", ".j2", ".css", ".yaml")):
                    stat = os.stat(os.path.join(folder, name))
                    digest.update(f"{folder}/{name}:{stat.st_mtime_ns}:{stat.st_size}\n".encode())
    for path in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
        digest.update(f"{path}:{_mtime(Path(path))}\n".encode())
    return digest.hexdigest()


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


class _RunnerFile:
    """One of the runner's files in its place's folder, by suffix: ``place.log`` is
    ``<dir>/runner.log``."""

    def __init__(self, suffix: str):
        self.suffix = suffix

    def __get__(self, place: Place, owner: type[Place] | None = None) -> Path:
        return place.dir / f"runner.{self.suffix}"


@dataclass(frozen=True)
class Place:
    """The runner's files in one state folder's ``prefect/`` (next to the server's)."""

    dir: Path

    @classmethod
    def of(cls, environ: Mapping[str, str] = os.environ, cwd: str | None = None) -> Place:
        """Where the runner of ``KOHO_STATE_DIR`` (default ``.koho``) lives, seen from ``cwd``."""
        state = Path(environ.get("KOHO_STATE_DIR") or ".koho")
        return cls((Path(cwd or os.getcwd()) / state).resolve() / "prefect")

    info = _RunnerFile("json")
    key = _RunnerFile("key")
    socket = _RunnerFile("sock")
    lock = _RunnerFile("lock")
    log = _RunnerFile("log")

    def recorded(self) -> dict[str, Any] | None:
        """What ``runner.json`` says (pid, started_at, served, listening) if that runner is alive:
        the command that starts one writes it at once, the runner again once it listens."""
        try:
            info: dict[str, Any] = json.loads(self.info.read_text())
            pid = int(info["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return info if _is_runner(pid) else None

    def write(self, info: dict[str, Any]) -> None:
        """Record ``info`` atomically, readable by the owner only."""
        tmp = self.info.with_name(f"runner.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(info))
        tmp.replace(self.info)


def _is_runner(pid: int) -> bool:
    """Alive, not a zombie, and (where /proc tells) a runner: pids are reused."""
    if not alive(pid):
        return False
    try:
        return b"koho.runner" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return not Path("/proc/self").exists()  # no /proc (macOS): the pid and the key have to do


# -- the command's side ------------------------------------------------------------------------


def delegate(argv: list[str], environ: Mapping[str, str] = os.environ) -> int | None:
    """Run the command in this state folder's runner and return its exit code; None when no
    runner will take it (none running, another environment, busy): then run it here."""
    if not wanted(argv, environ):
        return None
    place = Place.of(environ)
    try:
        if len(str(place.socket)) > 100:  # AF_UNIX paths are limited to 108 bytes
            return None
        key = place.key.read_bytes()
        conn = Client(str(place.socket), family="AF_UNIX", authkey=key)
    except (OSError, EOFError, AuthenticationError):
        return None
    with conn:
        try:
            conn.send(
                {
                    "argv": argv,
                    "fingerprint": fingerprint(environ, os.getcwd()),
                    "now": environ.get("KOHO_NOW"),
                    "terminal": _terminal(environ),
                }
            )
            answer = conn.recv()
        except (OSError, EOFError):
            return None
        if answer != ("accepted",):
            return None
        return _relay(conn)


def _terminal(environ: Mapping[str, str]) -> Terminal:
    """How this command's output would look: ttys, width, colour variables."""
    described: Terminal = {
        "env": {k: environ[k] for k in _TERMINAL if k in environ},
        "tty": {"out": sys.stdout.isatty(), "err": sys.stderr.isatty()},
    }
    for name, stream in (("out", sys.stdout), ("err", sys.stderr)):
        if stream.isatty():
            with contextlib.suppress(OSError):
                width = os.get_terminal_size(stream.fileno()).columns
                if name == "out":
                    described["out_width"] = width
                else:
                    described["err_width"] = width
    return described


def _relay(conn: Connection) -> int:
    """Print what the runner sends until its exit code; a first Ctrl+C interrupts the run there."""
    interrupted = False
    while True:
        try:
            message = conn.recv()
        except KeyboardInterrupt:
            if interrupted:
                return 130
            interrupted = True
            with contextlib.suppress(OSError):
                conn.send(("cancel",))
            continue
        except (OSError, EOFError):
            sys.stderr.write(
                "koho's background runner stopped during the command (see "
                "<KOHO_STATE_DIR>/prefect/runner.log). Nothing was lost: run the command "
                "again; deliveries not recorded as done are still owed.\n"
            )
            return EXIT_LOST
        kind, value = message
        if kind == "exit":
            return int(value)
        stream = sys.stdout if kind == "out" else sys.stderr
        stream.write(value)
        stream.flush()


# -- starting and stopping ---------------------------------------------------------------------


def start_in_background(place: Place) -> None:
    """Start this state folder's runner if none runs (called after a command used the local
    server). It inherits the command's original environment and working folder."""
    if not enabled(ORIGINAL_ENV) or place.recorded() is not None or len(str(place.socket)) > 100:
        return
    place.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(place.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as log:
        process = spawn_detached([sys.executable, "-m", "koho.runner"], log, ORIGINAL_ENV, os.getcwd())
    # Recorded before it listens: `koho server stop` must find a runner that is still importing.
    place.write({"pid": process.pid, "started_at": _utc_now(), "served": 0, "listening": False})


def stop(place: Place, grace: float = 10.0) -> int | None:
    """Stop the runner of ``place`` if one runs (it finishes nothing: SIGTERM interrupts a
    command as Ctrl+C would); returns its pid."""
    info = place.recorded()
    if info is None:
        return None
    pid = int(info["pid"])
    if terminate(pid, grace, running=_is_runner):
        for path in (place.info, place.key, place.socket):  # a SIGKILL leaves them
            path.unlink(missing_ok=True)
    return pid


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- the runner's side -------------------------------------------------------------------------


class Terminal(TypedDict, total=False):
    """How a command's output would look in its own process (``_terminal``), sent with it."""

    env: dict[str, str]  # the colour variables (``_TERMINAL``) it has
    tty: dict[str, bool]  # "out", "err": whether each is a terminal
    out_width: int  # columns, for each that is a terminal
    err_width: int


#: What the runner answers a request: ("accepted",), or ("refused", why).
Answer = tuple[str, ...]


class _Stream(io.TextIOBase):
    """A text stream that sends what is written to the command (dropped once it is gone)."""

    def __init__(self, conn: Connection, kind: str, tty: bool):
        self.conn, self.kind, self.tty, self.gone = conn, kind, tty, False

    def write(self, text: str) -> int:
        if text and not self.gone:
            try:
                self.conn.send((self.kind, text))
            except OSError:
                self.gone = True
        return len(text)

    def isatty(self) -> bool:
        return self.tty


#: A command's connection and its request; (None, None) wakes the serving loop to leave.
Job = tuple[Connection | None, dict[str, Any] | None]
#: Runs one command line: (argv, stdout, stderr, terminal) -> exit code (``_run_cli``).
RunCommand = Callable[[list[str], _Stream, _Stream, Terminal], int]


class Runner:
    """The serving loop: an acceptor thread takes connections, the main thread runs commands
    (a Ctrl+C must land where Python delivers signals: the main thread)."""

    def __init__(
        self,
        place: Place,
        idle: float,
        run_command: RunCommand | None = None,
        environ: Mapping[str, str] | None = None,
    ):
        self.place, self.idle = place, idle
        #: The environment every command starts from (the runner's, Prefect's defaults applied as
        #: the command's own process applies them); the fingerprint is of the one it was given.
        self.environ = dict(os.environ)
        self.given = ORIGINAL_ENV if environ is None else environ
        self.installed = installation_stamp(self.given)
        self.fingerprint = fingerprint(self.given, os.getcwd(), self.installed)
        self.run_command = run_command or _run_cli
        #: Set while the runner ships the finished command's logs and events (what a process
        #: does at exit): the next command waits for that instead of competing with it.
        self.finishing = threading.Event()
        # Jobs are handed over with a pipe that the serving loop waits on with select(): a timed
        # wait on a lock (queue.Queue.get(timeout=…)) never wakes under faketime, which the
        # suite runs under (libfaketime does not shift sem_clockwait's deadline).
        self.jobs: deque[Job] = deque()
        self.wake_r, self.wake_w = os.pipe()
        self.busy = threading.Lock()
        self.stopping = threading.Event()
        self.served = 0
        self.last_seconds = 0.0  # how long the last command ran here (bench/cli_latency.py)
        self.started_at = _utc_now()

    def serve(self) -> None:
        """Listen until idle, stopped, or the code changed; then remove every trace."""
        key = os.urandom(32)
        self.place.socket.unlink(missing_ok=True)
        listener = Listener(str(self.place.socket), family="AF_UNIX", authkey=key)
        os.chmod(self.place.socket, 0o600)
        fd = os.open(self.place.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key)
        self._record()
        threading.Thread(target=self._accept, args=(listener,), daemon=True, name="koho-runner-accept").start()
        try:
            last = time.monotonic()
            while not self.stopping.is_set():
                try:
                    conn, request = self._next_job(min(self.idle, 30.0))
                except IndexError:
                    # Idle, or its state folder deleted: a runner nobody can use holds memory
                    # for nothing. Holding ``busy`` first, so no command is accepted meanwhile.
                    gone = not self.place.dir.is_dir()
                    if (gone or time.monotonic() - last >= self.idle) and self.busy.acquire(blocking=False):
                        self.stopping.set()
                        print(
                            f"{_utc_now()} leaving: "
                            + (
                                "the state folder is gone"
                                if gone
                                else f"no command for {self.idle:g} s (KOHO_RUNNER_IDLE)"
                            ),
                            flush=True,
                        )
                        break
                    continue
                except KeyboardInterrupt:  # SIGTERM (koho server stop) while waiting
                    break
                if conn is None or request is None:
                    break
                try:
                    self._run(conn, request)
                finally:
                    self.busy.release()
                    conn.close()
                    last = time.monotonic()
        finally:
            self.stopping.set()
            listener.close()  # removes the socket file
            for path in (self.place.info, self.place.key, self.place.socket):
                path.unlink(missing_ok=True)

    def _accept(self, listener: Listener) -> None:
        while not self.stopping.is_set():
            try:
                conn = listener.accept()
            except (OSError, EOFError, AuthenticationError):
                if self.stopping.is_set():
                    return
                continue
            try:
                request = conn.recv() if conn.poll(10) else None
                answer = self._admit(request)
                if answer != ("accepted",):  # the command runs in its own process; the log says why
                    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} not taken: {answer[1]}", flush=True)
                if answer == _STALE:
                    # Stale for good: leave, so that the command (run in its own process) starts a
                    # new one. Only after the line above: the process ends with the serving loop,
                    # this thread included, and on a busy machine the line was lost.
                    self.stopping.set()
                    self._hand_over((None, None))
                conn.send(answer)
            except (OSError, EOFError):
                conn.close()
                continue
            if answer == ("accepted",):
                self._hand_over((conn, request))
            else:
                conn.close()

    def _after_finishing(self, wait: float = 15.0) -> bool:
        """Take ``busy`` once the last command's logs are shipped (polling: see ``jobs``)."""
        deadline = time.monotonic() + wait
        while self.finishing.is_set() and time.monotonic() < deadline:
            if self.busy.acquire(blocking=False):
                return True
            time.sleep(0.02)
        return self.busy.acquire(blocking=False)

    def _hand_over(self, job: Job) -> None:
        self.jobs.append(job)
        os.write(self.wake_w, b"j")

    def _next_job(self, timeout: float) -> Job:
        """The next job, waiting up to ``timeout`` seconds; IndexError when none came."""
        if not self.jobs:
            ready, _, _ = select.select([self.wake_r], [], [], timeout)
            if ready:
                os.read(self.wake_r, 4096)
        return self.jobs.popleft()

    def _admit(self, request: object) -> Answer:
        if not isinstance(request, dict) or not wanted(list(request.get("argv") or []), {}):
            return ("refused", "not a command the runner takes")
        if installation_stamp(self.given) != self.installed:
            return _STALE
        if request.get("fingerprint") != self.fingerprint:
            return ("refused", "another environment")
        if not self.busy.acquire(blocking=False) and not self._after_finishing():
            return ("refused", "busy")
        if self.stopping.is_set():
            self.busy.release()
            return ("refused", "stopping")
        return ("accepted",)

    def _run(self, conn: Connection, request: dict[str, Any]) -> None:
        # cast: the command's own process built it with ``_terminal``.
        terminal = cast(Terminal, request.get("terminal") or {})
        tty = terminal.get("tty") or {}
        out, err = _Stream(conn, "out", bool(tty.get("out"))), _Stream(conn, "err", bool(tty.get("err")))
        # The command's own process would start from its environment, with its KOHO_NOW.
        os.environ.clear()
        os.environ.update(self.environ)
        if request.get("now"):
            os.environ["KOHO_NOW"] = request["now"]
        done = threading.Event()
        watcher = threading.Thread(target=_watch, args=(conn, done), daemon=True, name="koho-runner-watch")
        watcher.start()
        code = 1
        began = time.perf_counter()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = self.run_command(list(request["argv"]), out, err, terminal)
        except KeyboardInterrupt:
            code = 130
        except BaseException:  # a bug: shown to the command as its own process would show it
            err.write(traceback.format_exc())
            code = 1
        finally:
            done.set()
        self.last_seconds = round(time.perf_counter() - began, 3)
        self.served += 1
        self._record()  # before the exit code: whoever the command's end wakes reads it current
        with contextlib.suppress(OSError):
            conn.send(("exit", code))
        self.finishing.set()
        try:
            _drain_prefect()
        finally:
            self.finishing.clear()

    def _record(self) -> None:
        self.place.write(
            {
                "pid": os.getpid(),
                "started_at": self.started_at,
                "served": self.served,
                "last_seconds": self.last_seconds,
                "listening": True,
            }
        )


def _watch(conn: Connection, done: threading.Event) -> None:
    """Interrupt the command (as Ctrl+C would) when its terminal asks or goes away."""
    while not done.is_set():
        try:
            if not conn.poll(0.2):
                continue
            conn.recv()  # ("cancel",): the only thing a command sends after its request
        except (OSError, EOFError):
            pass
        if not done.is_set():
            # A real SIGINT to the main thread, not _thread.interrupt_main(): only a signal
            # wakes a socket read that a provider never answers (EINTR), as Ctrl+C would.
            main = threading.main_thread().ident
            if main is not None:  # always: the main thread has started
                signal.pthread_kill(main, signal.SIGINT)
        return


def _drain_prefect() -> None:
    """Send the finished command's logs and events to the server now, as a process's exit would
    (the command has its exit code already); Prefect starts new workers on its next use."""
    with contextlib.suppress(Exception):  # nothing of it can change what the command did
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=10)
        EventsWorker.drain_all(timeout=10)


def _run_cli(argv: list[str], out: _Stream, err: _Stream, terminal: Terminal) -> int:
    """Run ``koho ARGV`` as ``koho.cli.main`` would in the command's process; its exit code."""
    from rich.console import Console

    from koho import cli, clock
    from koho.prefect_server import refresh_prefect_settings

    clock.restart()
    refresh_prefect_settings()  # from the environment just restored, as a new process reads it
    env = terminal.get("env") or {}

    def console(stream: _Stream, width: int | None) -> Console:
        # cast: rich takes typing.TextIO, which an io.TextIOBase is at run time but not in the stubs.
        return Console(
            file=cast(TextIO, stream), markup=False, emoji=False, force_terminal=stream.tty, width=width, _environ=env
        )

    cli.out = console(out, terminal.get("out_width"))
    cli.err = console(err, terminal.get("err_width"))
    try:
        cli.main(argv)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        err.write(f"{exc.code}\n")
        return 1
    return 0


def _warm_up() -> None:
    """Import what every command would otherwise import before the first one arrives: the CLI,
    the flows (Prefect) and what the channels import only when built (renderers, e-book and mail
    libraries). Through ``koho.cli``'s composition root (ADR 0002): ``koho`` never names the
    outer packages in an import statement."""
    from koho.cli import _outer
    from koho.settings import Settings

    _outer("flows.publish")
    with contextlib.suppress(Exception):  # a configuration error is the command's to report
        settings = Settings()
        for channel in _outer("channels.registry").build(settings, None):
            channel.close()
        if settings.target_languages():  # argostranslate imports torch and stanza: seconds
            _outer("translations.engine").preload()


def main() -> int:
    """``python -m koho.runner``: serve this state folder until idle (started by koho itself)."""
    from filelock import FileLock, Timeout

    place = Place.of()
    place.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(place.dir, 0o700)  # the key must be readable by its owner only, whatever made the folder
    lock = FileLock(place.lock, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return 0  # another runner serves this folder already
    try:
        idle = float(os.environ.get("KOHO_RUNNER_IDLE", "1800"))
        from koho import prefect_env

        prefect_env.apply(False)  # as each command does before it imports Prefect
        _warm_up()

        runner = Runner(place, idle)

        def terminate(_signum: int, _frame: object) -> None:
            runner.stopping.set()
            raise KeyboardInterrupt  # stops a running command as Ctrl+C would, then the loop

        signal.signal(signal.SIGTERM, terminate)
        # Ctrl+C reaches a command as SIGINT even if whoever started the runner ignored it.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        runner.serve()
        return 0
    finally:
        lock.release()


if __name__ == "__main__":
    sys.exit(main())
