"""Real loopback peers for the test session: a PostgreSQL server and a moto S3 server.

A pytest plugin (``pytest_plugins = ["tests.peers"]``). Each peer is a real process started from
this machine's binaries on 127.0.0.1 and a free port, once per session, and stopped at the end;
nothing reaches the internet and nothing is mocked in-process.

* ``postgres_url`` / ``fresh_postgres_db``: PostgreSQL (initdb + pg_ctl, trust auth, fsync off);
  a fresh database per test keeps tests isolated.
* ``moto_endpoint`` / ``s3_env``: ``python -m moto.server``; a fresh bucket per test, with the
  AWS_* variables boto3 reads pointed at it.
"""

from __future__ import annotations

import glob
import http.client
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

PG_USER = "koho"
PG_DATABASE = "koho_test"
AWS_REGION = "ap-northeast-1"
START_TIMEOUT = 30.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# -- PostgreSQL ---------------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """Folder holding initdb and pg_ctl: ``pg_config --bindir``, else the newest Debian layout."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        try:
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
    )
    candidates += [Path(p) for p in reversed(versions)]
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb")).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


class _PostgresServer:
    """One throwaway cluster in a temp folder; as root, its binaries run as an unprivileged user."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        # As root the server user must reach the folder: keep it out of root-only TMPDIRs.
        self.home = Path(tempfile.mkdtemp(prefix="koho-pg-", dir="/tmp" if self.as_root else None))
        self.data = self.home / "data"
        self.log = self.home / "server.log"
        self.port = 0
        self.prefix: list[str] = []
        if self.as_root:
            user = _service_user()
            os.chown(self.home, user.pw_uid, user.pw_gid)
            # util-linux puts runuser in /usr/sbin, which a minimal CI PATH may leave out.
            runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin") or "runuser"
            self.prefix = [runuser, "-u", user.pw_name, "--"]

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = self.prefix + [str(self.bindir / args[0]), *args[1:]]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        done = subprocess.run(cmd, cwd=self.home, env=env, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n"
                f"server log:\n{_tail(self.log)}"
            )
        return done

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", PG_USER, "-E", "UTF8", "--locale=C", "--no-sync")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# koho test peer\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.home}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 100\n"
            )
        last = ""
        for _attempt in range(3):  # a port picked free can be taken before the server binds it
            self.port = free_port()
            done = self._run(
                "pg_ctl",
                "start",
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                str(int(START_TIMEOUT)),
                "-o",
                f"-p {self.port}",
                check=False,
            )
            if done.returncode == 0:
                return
            last = f"{done.stdout}\n{done.stderr}\nserver log:\n{_tail(self.log)}"
        raise RuntimeError(f"PostgreSQL did not start:\n{last}")

    def stop(self) -> None:
        if self.data.is_dir():
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", check=False)
        shutil.rmtree(self.home, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"


def _service_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, but there is neither a 'postgres' nor a 'nobody' user to run initdb as")


def _admin_connect(url: str):
    """An autocommit psycopg connection to the server's ``postgres`` database."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, dbname="postgres", autocommit=True, connect_timeout=10
    )


def _create_database(url: str, name: str) -> None:
    with _admin_connect(url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


@pytest.fixture(scope="session")
def postgres_url():
    """SQLAlchemy URL of database ``koho_test`` on a private PostgreSQL server on loopback."""
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb) on this machine")
    server = _PostgresServer(bindir)
    try:
        server.start()
        url = server.url(PG_DATABASE)
        _create_database(url, PG_DATABASE)
        yield url
    finally:
        server.stop()


@pytest.fixture
def fresh_postgres_db(postgres_url):
    """URL of a new, uniquely named, empty database (dropped again after the test)."""
    from sqlalchemy.engine import make_url

    name = f"koho_{uuid.uuid4().hex[:12]}"
    _create_database(postgres_url, name)
    yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    with _admin_connect(postgres_url) as conn:
        # FORCE ends connections a test left open (an undisposed engine pool).
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- S3 (moto server) ---------------------------------------------------------------------------


def _answers_http(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/moto-api/")
        conn.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        conn.close()


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory):
    """``http://127.0.0.1:PORT`` of a moto server process (S3, SES, ...) for the session."""
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    port = free_port()
    # The interpreter running the tests, so the server is the moto these tests installed.
    cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers_http(port):
            if proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {proc.returncode}:\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"moto server did not answer on port {port} within {START_TIMEOUT}s:\n{_tail(log_path)}"
                )
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def s3_env(moto_endpoint, monkeypatch):
    """Point boto3 at the moto server with dummy credentials; return a new, empty bucket's name."""
    import boto3

    for name in (
        "AWS_ENDPOINT_URL_S3",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", AWS_REGION)
    # No shared config, no instance metadata, no proxy: only the loopback server is ever asked.
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    bucket = f"koho-test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": AWS_REGION})
    return bucket
