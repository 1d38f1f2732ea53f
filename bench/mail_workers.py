"""``bench/mail_fanout.py --workers N``: one fan-out shared by N worker processes on one
PostgreSQL ledger, against the same fan-out by one worker, in the same run.

Each worker does what a Prefect process worker running publish-article does for the mail
channel: read the content, plan and record (a second plan of the same article inserts nothing),
then deliver, claiming batches in the ledger (ADR 0012), so the workers split the list between
them. The figures are the messages/s of one worker and of N, their ratio, and the duplicates:
messages the sink received beyond one per subscriber (must be 0), with the ledger's states.
PostgreSQL is a private server started here, as the tests do (tests/peers.py).
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO, REPO / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


def worker(ws_root: str, db_url: str, path: str, mail_url: str) -> int:
    """One worker process: plan + record, then claim and send what no other worker holds."""
    from mail_fanout import Workspace, koho_pipeline

    ws = Workspace(Path(ws_root))
    ws.db_url = db_url
    return koho_pipeline(ws, Path(path), mail_url)["sent"]


def fan_out(ws, db_url: str, path: Path, mail_url: str, workers: int) -> tuple[float, int]:
    """Seconds for ``workers`` processes to finish one fan-out together."""
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        pool.submit(int, 0).result()  # processes up before the clock starts
        started = time.perf_counter()
        sent = [pool.submit(worker, str(ws.root), db_url, str(path), mail_url) for _ in range(workers)]
        total = sum(f.result() for f in sent)
    seconds = time.perf_counter() - started
    return seconds, total


def run(n: int, workers: int, connections: int, log) -> int:
    """Print the figures; exit status 1 if a subscriber was missed or mailed twice."""
    from mail_fanout import prepare
    from mail_peers import Sink
    from scratch import scratch_root

    from tests.peers import PG_DATABASE, _create_database, _PostgresServer, postgres_bindir

    bindir = postgres_bindir()
    if bindir is None:
        log("no PostgreSQL server binaries (initdb): --workers needs a PostgreSQL ledger")
        return 2
    server = _PostgresServer(bindir)
    server.start()
    try:
        base = server.url(PG_DATABASE)
        _create_database(base, PG_DATABASE)
        root = scratch_root("koho-mail-workers-", False)
        ws, articles, details = _prepare_pg(prepare, root, n, base)
        url = "smtp://127.0.0.1:{port}?connections={c}"
        lines = []
        with Sink() as sink:
            mail = url.format(port=sink.port, c=connections)
            results = {}
            for count, (path, article_id) in zip((1, workers), articles, strict=True):
                before = sink.tally()
                seconds, sent = fan_out(ws, base, path, mail, count)
                got = sink.settle(n, before)
                states = _states(base, article_id)
                results[count] = (seconds, got.messages, sent, states)
                log(f"{count} worker(s): {got.messages} messages in {seconds:.2f} s")
        one, many = results[1], results[workers]
        rate1, rate_n = one[1] / one[0], many[1] / many[0]
        dup1, dup_n = one[1] - n, many[1] - n
        lines.append(f"mail fan-out, {n} subscribers, PostgreSQL ledger, {connections} SMTP connections per worker")
        lines.append(f"  1 worker : {rate1:8.0f} messages/s  ({one[0]:.2f} s)  duplicates {dup1}  ledger {one[3]}")
        lines.append(
            f"  {workers} workers: {rate_n:8.0f} messages/s  ({many[0]:.2f} s)  duplicates {dup_n}  ledger {many[3]}"
        )
        lines.append(
            f"  ratio {workers} workers / 1 worker: {rate_n / rate1:.2f}  (2 cores shared with the sink "
            "and PostgreSQL; load average now "
            f"{os.getloadavg()[0]:.1f})"
        )
        print("\n".join(lines + ["  " + d for d in details]))
        ok = dup1 == dup_n == 0 and one[3] == {"sent": n} and many[3] == {"sent": n}
        return 0 if ok else 1
    finally:
        server.stop()


def _prepare_pg(prepare, root: Path, n: int, db_url: str):
    """mail_fanout's preparation (content, two urgent articles, seeded subscribers) on PostgreSQL."""
    import mail_fanout

    original = mail_fanout.Workspace.__init__

    def on_postgres(self, where: Path) -> None:
        original(self, where)
        self.db_url = db_url

    mail_fanout.Workspace.__init__ = on_postgres  # the seeding child gets the URL as an argument
    try:
        return prepare(root, n, 2, False)
    finally:
        mail_fanout.Workspace.__init__ = original


def _states(db_url: str, article_id: str) -> dict[str, int]:
    from collections import Counter

    from koho.ledger import Ledger

    ledger = Ledger(db_url)
    try:
        return dict(Counter(r["state"] for r in ledger.rows(article_id=article_id, channel="mail")))
    finally:
        ledger.close()
