"""The peers of the mail fan-out benchmark: a counting SMTP sink process and postfix's smtp-source.

The sink is aiosmtpd (the peer the tests use) in a process of its own, so it never shares a
GIL with the koho process it measures; it counts messages and bytes into shared memory and
throws the content away. smtp-source is postfix's load generator, written in C: how fast it can
push messages into the same sink is the most any client could get out of it on this machine.
It is taken from Debian's postfix package (downloaded once into a cache folder and unpacked,
never installed: no MTA is started and nothing outside the cache is touched).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

#: Where the downloaded .deb files and their unpacked trees live (bench/.cache/, gitignored).
CACHE = Path(__file__).resolve().parent / ".cache"
#: Shared libraries smtp-source links against, by Debian package (postfix's own "Depends" that
#: are libraries). Fetched only when the dynamic linker cannot find them on this machine.
LIBRARY_PACKAGES = ("libdb5.3", "libicu72", "libnsl2", "libtirpc3", "libsasl2-2", "libssl3")


class _Counting:
    """aiosmtpd handler: one message and its size per completed DATA; the content is dropped.

    With ``latency`` (seconds) the replies to MAIL, RCPT and the end of DATA wait that long, as
    a relay across a network would: how many connections a client needs depends on it.
    """

    def __init__(self, messages, size, latency: float = 0.0):
        self.messages, self.size, self.latency = messages, size, latency

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.latency:
            await asyncio.sleep(self.latency)
        envelope.mail_from, envelope.mail_options = address, mail_options
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.latency:
            await asyncio.sleep(self.latency)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.latency:
            await asyncio.sleep(self.latency)
        # Only this process writes the counters, so no lock: the parent only reads them.
        self.size.value += len(envelope.original_content or b"")
        self.messages.value += 1
        envelope.original_content = envelope.content = None
        return "250 2.0.0 accepted"


def _serve(messages, size, port, ready, latency: float) -> None:
    """The sink process: aiosmtpd on 127.0.0.1, port chosen by the kernel and reported back."""
    from aiosmtpd.smtp import SMTP

    async def main():
        handler = _Counting(messages, size, latency)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="bench-sink", ident="bench sink"), "127.0.0.1", 0, backlog=128
        )
        port.value = server.sockets[0].getsockname()[1]
        ready.set()
        await server.serve_forever()

    asyncio.run(main())


@dataclass(frozen=True)
class Tally:
    """The sink's counters at one moment, and the CPU seconds its process had used by then."""

    messages: int
    size: int
    cpu: float

    def __sub__(self, other: Tally) -> Tally:
        return Tally(self.messages - other.messages, self.size - other.size, self.cpu - other.cpu)


class Sink:
    """A counting SMTP sink in a separate (spawned) process; use as a context manager."""

    def __init__(self, latency: float = 0.0):
        ctx = multiprocessing.get_context("spawn")  # not fork: the parent may already run threads
        self._messages, self._size, self._port = ctx.RawValue("q", 0), ctx.RawValue("q", 0), ctx.RawValue("i", 0)
        self._ready = ctx.Event()
        self._process = ctx.Process(
            target=_serve,
            name="bench-smtp-sink",
            daemon=True,
            args=(self._messages, self._size, self._port, self._ready, latency),
        )
        self.port = 0

    def __enter__(self) -> Sink:
        self._process.start()
        if not self._ready.wait(60):
            self._process.kill()
            raise RuntimeError("the SMTP sink did not start within 60 s")
        self.port = self._port.value
        return self

    def __exit__(self, *exc) -> None:
        self._process.terminate()
        self._process.join(10)

    @property
    def pid(self) -> int:
        """The sink process's id (for its CPU time and memory)."""
        return self._process.pid

    def tally(self) -> Tally:
        """Messages and bytes received so far, and the sink's CPU seconds (user + system)."""
        return Tally(self._messages.value, self._size.value, _cpu_seconds(self.pid))

    def settle(self, expected: int, since: Tally, timeout: float = 10.0) -> Tally:
        """What arrived since ``since``, once ``expected`` messages are in or ``timeout`` passed.

        A client has its 250 before the handler's counter is visible here; this waits for that.
        """
        deadline = time.monotonic() + timeout
        while (self.tally() - since).messages < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.tally() - since

    def peak_rss_mb(self) -> float:
        """The sink process's resident-set high-water mark (VmHWM), in MB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0


def _cpu_seconds(pid: int) -> float:
    # utime and stime are fields 14 and 15 of /proc/PID/stat, in clock ticks; the command name
    # (field 2) may hold spaces, so count from the closing parenthesis.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- smtp-source ---------------------------------------------------------------------------------


def _unpack(package: str, log) -> Path:
    """Download ``package``'s .deb into the cache (once) and unpack it; return the tree."""
    tree = CACHE / package
    if tree.is_dir():
        return tree
    CACHE.mkdir(parents=True, exist_ok=True)
    debs = sorted(CACHE.glob(f"{package}_*.deb"))
    if not debs:
        log(f"apt-get download {package} (into {CACHE})")
        got = subprocess.run(["apt-get", "download", package], cwd=CACHE, capture_output=True, text=True)
        if got.returncode != 0:
            # A fresh machine may not have read the package lists yet.
            log("apt-get update (the package lists were not read yet)")
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True, check=True)
            got = subprocess.run(["apt-get", "download", package], cwd=CACHE, capture_output=True, text=True)
        if got.returncode != 0:
            raise RuntimeError(f"apt-get download {package} failed: {got.stderr.strip()[-300:]}")
        debs = sorted(CACHE.glob(f"{package}_*.deb"))
    partial = CACHE / f"{package}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(partial)], check=True)
    partial.rename(tree)  # only a complete tree counts as cached
    return tree


def _missing_libraries(binary: Path, env: dict[str, str]) -> list[str]:
    out = subprocess.run(["ldd", str(binary)], env=env, capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if "not found" in line]


@dataclass(frozen=True)
class SmtpSource:
    """postfix's smtp-source unpacked from Debian's package, with the library path it needs."""

    binary: Path
    env: dict[str, str] = field(repr=False)  # the whole environment: not for printing
    version: str

    @classmethod
    def obtain(cls, log) -> SmtpSource:
        """Download and unpack postfix (cached); add library packages only if the linker needs them."""
        if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
            raise RuntimeError("smtp-source needs apt-get and dpkg-deb (a Debian machine)")
        tree = _unpack("postfix", log)
        binary = tree / "usr" / "sbin" / "smtp-source"
        lib_dirs = [tree / "usr" / "lib" / "postfix"]
        env = {**os.environ, "LD_LIBRARY_PATH": ":".join(map(str, lib_dirs))}
        if _missing_libraries(binary, env):
            for package in LIBRARY_PACKAGES:
                extra = _unpack(package, log)
                lib_dirs += [
                    p
                    for p in (
                        extra / "usr" / "lib" / "x86_64-linux-gnu",
                        extra / "lib" / "x86_64-linux-gnu",
                        extra / "usr" / "lib" / "aarch64-linux-gnu",
                    )
                    if p.is_dir()
                ]
            env["LD_LIBRARY_PATH"] = ":".join(map(str, lib_dirs))
            still = _missing_libraries(binary, env)
            if still:
                raise RuntimeError(f"smtp-source still misses {', '.join(still)}")
        deb = sorted(CACHE.glob("postfix_*.deb"))
        version = deb[-1].name.split("_")[1] if deb else "unknown"
        return cls(binary, env, version)

    def run(self, port: int, messages: int, length: int, sessions: int = 16, timeout: float = 900) -> float:
        """Send ``messages`` messages of body length ``length`` over ``sessions`` connections
        kept open between messages (``-d``); return the wall-clock seconds. Raises on failure."""
        command = [
            str(self.binary),
            "-d",
            "-s",
            str(sessions),
            "-l",
            str(length),
            "-m",
            str(messages),
            "-f",
            "bench@example.jp",
            "-t",
            "resident@example.jp",
            f"127.0.0.1:{port}",
        ]
        started = time.perf_counter()
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"smtp-source exited {done.returncode}: {(done.stderr or done.stdout).strip()[-300:]}")
        return elapsed
