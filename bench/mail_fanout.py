#!/usr/bin/env python
"""Benchmark: one urgent article mailed to 40,000 subscribers over SMTP, against smtp-source.

Run from the repository root: ``python bench/mail_fanout.py`` (40,000 subscribers, a few
minutes), ``--subscribers 2000`` for a smoke run. koho publishes over ``smtp://`` to an aiosmtpd
sink in another process, once through the run driver with plain steps and once through the real Prefect
flow; postfix's smtp-source (fetched from Debian's package on first use) then sends as many
messages of the same size to the same sink, which is as fast as that sink can take mail here.
bench/README.md says what each figure includes. Seconds vary between runs; compare the ratio.
``--workers 2``: two worker processes share one fan-out on a PostgreSQL ledger (leases, ADR
0012), against one worker: the messages/s ratio and the duplicate count (bench/mail_workers.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The checkout first (not another installed koho), then this folder for the sibling modules, so
# the script also works when loaded by path from elsewhere (a spawned worker's re-import).
for _path in (REPO, REPO / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from archive_build import _profiled, _tree_state, log, peak_rss_mb  # noqa: E402
from corpus import JST, SUBJECTS, generate, write_article  # noqa: E402
from mail_peers import Sink, SmtpSource, Tally  # noqa: E402
from scratch import prefect_warmup, scratch_root  # noqa: E402
from timing import Timer  # noqa: E402  (the house timer)

TARGET = 0.8  # koho's messages/s >= 0.8 x smtp-source's into the same sink (issue 16: at 40,000)
SMALL_TARGET = (10_000, 0.6)  # ... and >= 0.6 x at 10,000 (fixed costs weigh more)
TOPICS = list(SUBJECTS)  # the six topics of content/site.yaml
#: How often residents pick each topic (disaster prevention is the reason most sign up).
TOPIC_WEIGHTS = {"bousai": 6, "bouhan": 3, "kusei": 2, "kenkou": 2, "kosodate": 2, "event": 2}
DIGEST_SHARE = 0.2  # chose one digest per 区報 issue: urgent news still reaches them at once
SECRET = "bench-secret-key-not-for-production-0123456789abcdef"
SOURCE_SESSIONS = 16


# -- the workspace -------------------------------------------------------------------------------


class Workspace:
    """Content, state and ledger of one run under ``root``; settings built for a given mail URL."""

    def __init__(self, root: Path):
        self.root = root
        self.content, self.state = root / "content", root / "state"
        self.db_url = f"sqlite:///{(self.state / 'koho.db').as_posix()}"

    def settings(self, mail_url: str):
        """koho Settings with every path and URL explicit (the shell's KOHO_* cannot redirect them)."""
        from koho.settings import Settings

        return Settings(
            content_dir=self.content,
            state_dir=self.state,
            database_url=self.db_url,
            channels="mail",
            mail_url=mail_url,
            secret_key=SECRET,
            languages="",  # one article to 40,000 Japanese readers: no translation in the figure
        )

    def export(self, mail_url: str) -> None:
        """The same settings as environment variables: the flow builds its own Settings()."""
        os.environ.update(
            {
                "KOHO_CONTENT_DIR": str(self.content),
                "KOHO_STATE_DIR": str(self.state),
                "KOHO_DATABASE_URL": self.db_url,
                "KOHO_CHANNELS": "mail",
                "KOHO_MAIL_URL": mail_url,
                "KOHO_SECRET_KEY": SECRET,
                "KOHO_LANGUAGES": "",  # as settings(): the originals only
            }
        )


def seed_subscribers(db_url: str, n: int, seed: int = 20261203) -> dict:
    """``n`` confirmed subscribers through koho's own store (SubscriberStore.upsert).

    Runs in a child process, so the 40,000 rows built here do not count in the peak memory of
    the process that publishes. Returns counts for the report.
    """
    from koho.ledger import Ledger
    from koho.subscribers import NewSubscriber, SubscriberStore

    rng = random.Random(seed)
    started = time.perf_counter()
    rows, per_topic, digest = [], dict.fromkeys(TOPICS, 0), 0
    for i in range(n):
        chosen = set(rng.choices(TOPICS, weights=[TOPIC_WEIGHTS[t] for t in TOPICS], k=rng.choice((1, 1, 2, 3))))
        mode = "digest" if rng.random() < DIGEST_SHARE else "immediate"
        address = f"resident{i:06d}@example.jp"
        rows.append(NewSubscriber(address, address, tuple(sorted(chosen)), delivery=mode))
        digest += mode == "digest"
        for topic in chosen:
            per_topic[topic] += 1
    ledger = Ledger(db_url)
    added, _updated = SubscriberStore(ledger.engine).upsert(rows, "confirmed", "bench")
    ledger.close()
    return {"added": added, "per_topic": per_topic, "digest": digest, "seconds": time.perf_counter() - started}


def urgent_article(index: int, content: Path) -> tuple[Path, str]:
    """An urgent notice of typical length (a generated body), for every topic, published now.

    Every topic, so that all subscribers are its audience and the fan-out is the whole list;
    published after the subscribers confirmed, or the channel would rightly leave them out.
    """
    # The same body every time, so every timed publish sends messages of the same size.
    spec = next(s for s in generate(40, seed=777) if s.status == "ready" and not s.image)
    spec = replace(
        spec,
        id=f"kinkyu-hinan-{index + 1}",
        title=f"【避難情報】大雨による避難指示（{index + 1}）",
        publish_at=datetime.now(JST),
        topics=TOPICS,
        bulletin=None,
        priority="urgent",
    )
    return write_article(spec, content), spec.id


# -- koho ---------------------------------------------------------------------------------------


def koho_pipeline(ws: Workspace, path: Path, mail_url: str) -> dict:
    """Timed: the publish-article run for one article on the mail channel (``flows/driver.py``
    ``run``, plain steps, no Prefect): read, plan + record (the context loads the audience),
    deliver in batches."""
    from timed_steps import TimedSteps

    from flows.driver import Work, run

    settings = ws.settings(mail_url)
    timer = Timer()
    outcomes = run(settings, Work(paths=(str(path),)), ["mail"], now=datetime.now(JST), steps=TimedSteps(timer))
    timer.lap("report+close")
    (outcome,) = outcomes
    return {"seconds": timer.total, "timer": timer, "planned": outcome.planned, "sent": outcome.count("sent")}


def koho_prefect(ws: Workspace, path: Path, mail_url: str) -> dict:
    """Timed: the real ``publish-article`` flow (flows/publish.py) for one article, mail only."""
    from flows.publish import publish_article

    ws.export(mail_url)
    started = time.perf_counter()
    outcomes = publish_article(paths=[str(path)], channels=["mail"])
    elapsed = time.perf_counter() - started
    # The flow may also plan the article's translations (a row per language, skipped when no
    # model is installed, on the mail channel too): the fan-out this benchmark checks is the
    # original's outcome alone. Counts come from the ledger (``Outcome.count``): a streamed
    # fan-out keeps no receipt per mail.
    mail = [o for o in outcomes if o.channel == "mail" and o.language is None]
    return {
        "seconds": elapsed,
        "planned": sum(o.planned for o in mail),
        "sent": sum(o.count("sent") for o in mail),
    }


def _default_connections() -> int:
    """The SMTP transport's connection count for a URL without ``?connections=``."""
    from channels.mail.transports import open_transport

    transport = open_transport("smtp://127.0.0.1:25")  # connects on first send only: nothing is opened
    try:
        return transport.connections
    finally:
        transport.close()


def ledger_states(ws: Workspace, article_id: str) -> dict[str, int]:
    """The article's mail rows to subscribers, per state (checked after each koho run). Other
    rows of the article on the mail channel (a skipped translation for each language without a
    model, in a run that translates) are not the fan-out: counted under ``other rows``."""
    from sqlalchemy import func, select

    from koho.ledger import Ledger
    from koho.ledger_schema import deliveries as d

    ledger = Ledger(ws.db_url)
    fan_out = d.c.target.startswith("subscriber-")
    query = (
        select(fan_out, d.c.state, func.count())
        .where(d.c.article_id == article_id, d.c.channel == "mail")
        .group_by(fan_out, d.c.state)
    )
    try:  # counted in the database: 500,000 rows read into this process would be its peak RSS
        with ledger.engine.connect() as conn:
            counts = conn.execute(query).all()
    finally:
        ledger.close()
    states = {state: n for mine, state, n in counts if mine}
    other = sum(n for mine, _state, n in counts if not mine)
    return states | ({"other rows": other} if other else {})


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(sink: Sink, n: int, run, *args) -> dict:
    """Run one publish; add what the sink received, and the CPU seconds of this process and of
    the sink while it ran (on a busy machine these say more than the wall clock does)."""
    before, cpu = sink.tally(), _cpu_self()
    result = run(*args)
    got = sink.settle(n, before)
    result.update(
        received=got,
        rate=got.messages / result["seconds"],
        sink_busy=got.cpu / result["seconds"],
        cpu=_cpu_self() - cpu,
    )
    return result


# -- smtp-source --------------------------------------------------------------------------------


def source_length(tool: SmtpSource, sink: Sink, koho_bytes: float) -> tuple[int, int]:
    """smtp-source's ``-l`` (body bytes) for messages as large as koho's at the sink, and the
    bytes of the headers smtp-source adds itself (probed with ten one-byte messages)."""
    before = sink.tally()
    tool.run(sink.port, 10, 1, sessions=1)
    overhead = round(_avg(sink.settle(10, before))) - 1
    return max(1, round(koho_bytes) - overhead), overhead


def source_run(tool: SmtpSource, sink: Sink, n: int, length: int) -> dict:
    """Timed: smtp-source sends ``n`` messages; exit status 0 means the sink accepted them all."""
    log(f"smtp-source: {n} messages, -l {length}, {SOURCE_SESSIONS} sessions")
    result = measure(sink, n, lambda: {"seconds": tool.run(sink.port, n, length, SOURCE_SESSIONS)})
    result.update(planned=n, sent=n)
    return result


# -- the report ----------------------------------------------------------------------------------


def target_for(n: int) -> float:
    """The ratio goal for ``n`` subscribers: issue 16's at 10,000 up to 40,000, its 40,000 one above."""
    return SMALL_TARGET[1] if n <= SMALL_TARGET[0] else TARGET


def _verdict(ratio: float, n: int) -> str:
    return "ok" if ratio >= target_for(n) else "MISSED"


def _avg(t: Tally) -> float:
    return t.size / t.messages if t.messages else 0.0


def result_lines(
    n: int,
    connections: int,
    pipe: dict,
    flow: dict | None,
    sources: list[dict],
    length: int,
    rss: dict[str, float],
    sink_rss: float,
) -> list[str]:
    """The stable lines, one figure each (their format is compared across runs: keep it)."""
    lines = []
    if flow:
        lines.append(
            f"koho fan-out via Prefect flow ({n} subscribers, connections={connections}): "
            f"{flow['seconds']:.2f} s, {flow['rate']:.0f} messages/s"
        )
    lines.append(
        f"koho fan-out, pipeline steps without Prefect ({n} subscribers, connections={connections}): "
        f"{pipe['seconds']:.2f} s, {pipe['rate']:.0f} messages/s"
    )
    if sources:
        rate = sum(r["rate"] for r in sources) / len(sources)
        lines.append(
            f"smtp-source ({n} messages, body -l {length}, {SOURCE_SESSIONS} sessions, -d; mean of "
            f"{len(sources)} run{'s' if len(sources) > 1 else ''}): {rate:.0f} messages/s"
        )
        if flow:
            ratio = flow["rate"] / rate
            lines.append(
                f"ratio koho via Prefect/smtp-source: {ratio:.2f} (target >= {target_for(n)}) {_verdict(ratio, n)}"
            )
        ratio = pipe["rate"] / rate
        lines.append(
            f"ratio koho without Prefect/smtp-source: {ratio:.2f} "
            + (
                "(informational; the target applies to the flow)"
                if flow
                else f"(target >= {target_for(n)}) {_verdict(ratio, n)}"
            )
        )
    else:
        lines.append("smtp-source: skipped")
    runs = [("koho via Prefect", flow), ("koho without Prefect", pipe)]
    runs += [(f"smtp-source run {i}", r) for i, r in enumerate(sources, 1)]
    lines.append(
        "sink received: "
        + ", ".join(
            f"{name} {r['received'].messages} of {n} (avg {_avg(r['received']):.0f} bytes)" for name, r in runs if r
        )
    )
    steps = ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items())
    lines.append(f"peak RSS: koho process {peak_rss_mb():.0f} MB ({steps}), sink process {sink_rss:.0f} MB")
    return lines


def check_lines(n: int, runs: list[tuple[str, dict, dict | None]]) -> list[str]:
    """Every subscriber mailed exactly once per run, and the ledger agrees with the sink."""
    lines = []
    for name, result, states in runs:
        got = result["received"].messages
        fan_out = None if states is None else {k: v for k, v in states.items() if k != "other rows"}
        ok = got == n == result["planned"] == result["sent"] and (fan_out is None or fan_out == {"sent": n})
        where = f", ledger {states}" if states is not None else ""
        lines.append(
            f"check: {name}: planned {result['planned']}, sent {result['sent']}, sink {got}{where}: "
            f"{'ok' if ok else 'FAILED'}"
        )
    return lines


def cpu_lines(n: int, runs: list[tuple[str, dict, dict | None]]) -> list[str]:
    """CPU seconds per message of the sink and of this process in each run, which say more than
    the wall clock on a machine that other work shares."""
    lines = []
    for name, result, _states in runs:
        own = "" if name.startswith("smtp-source") else f"; this process {1000 * result['cpu'] / n:.2f} ms"
        lines.append(
            f"CPU per message while {name} ran: sink {1000 * result['received'].cpu / n:.2f} ms "
            f"({100 * result['sink_busy']:.0f}% of one core){own}; {result['seconds']:.2f} s, "
            f"{result['rate']:.0f} messages/s"
        )
    return lines


# -- the run -------------------------------------------------------------------------------------


def prepare(root: Path, n: int, publishes: int, with_prefect: bool) -> tuple[Workspace, list, list[str]]:
    """Environment, imports (not timed), content and the seeded subscribers; ``publishes``
    urgent articles, one per timed publish (mail goes once per article and subscriber)."""
    # The shell's KOHO_* (a real mail URL, SMTP credentials) must not reach the benchmark.
    for name in [k for k in os.environ if k.startswith("KOHO_")]:
        del os.environ[name]
    from koho.prefect_env import DEFAULTS as PREFECT_ENV  # the CLI's own offline defaults

    # Before anything imports Prefect: offline, quiet, in a private home, always the ephemeral
    # server (never a configured PREFECT_API_URL).
    os.environ.update(PREFECT_ENV, PREFECT_HOME=str(root / "prefect-home"))
    os.environ.pop("PREFECT_API_URL", None)
    (root / "prefect-home").mkdir()
    started = time.perf_counter()
    import timed_steps  # noqa: F401

    import channels.mail.message  # noqa: F401  (imports are not part of any timed step)
    import channels.registry  # noqa: F401
    import flows.driver  # noqa: F401
    import koho.reader  # noqa: F401

    if with_prefect:
        import flows.publish  # noqa: F401
    details = [
        f"koho import time (excluded from every figure): {time.perf_counter() - started:.2f} s",
        f"koho tree: {_tree_state()}",
    ]
    ws = Workspace(root)
    log(f"seeding {n} confirmed subscribers (SubscriberStore.upsert, child process)")
    shutil.copytree(REPO / "content", ws.content, ignore=shutil.ignore_patterns("articles"))
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        seeded = pool.submit(seed_subscribers, ws.db_url, n).result()
    details.append(
        f"subscribers: {seeded['added']} confirmed, {seeded['digest']} of them digest readers; "
        f"per topic {', '.join(f'{t} {c}' for t, c in seeded['per_topic'].items())}; "
        f"seeded in {seeded['seconds']:.1f} s (excluded)"
    )
    return ws, [urgent_article(i, ws.content) for i in range(publishes)], details


def main(argv: list[str] | None = None) -> int:
    """Seed; publish through the pipeline, smtp-source, publish through the flow, smtp-source
    again (so each koho run has a limit measured next to it); print the figures.

    Exit 1 when a check failed (the figures are then of a broken run), 2 when smtp-source
    could not be obtained.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--subscribers",
        default="40000",
        help="confirmed subscribers (default 40000); several, comma-separated (10000,40000,100000): one "
        "child process per size, koho's pipeline and smtp-source, then a summary (bench/mail_scale.py)",
    )
    parser.add_argument(
        "--koho-only", action="store_true", help="time koho's pipeline only (no smtp-source, no Prefect flow)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here (what mail_scale.py reads)")
    parser.add_argument(
        "--connections",
        type=int,
        help="SMTP connections koho opens (?connections=N; default: the transport's own default)",
    )
    parser.add_argument(
        "--sweep", default="", help="also time the pipeline with these connection counts, e.g. 1,2,8,16 (informational)"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="the sink delays its replies to MAIL, RCPT and DATA by this much (a relay across a "
        "network); for choosing --connections, not for the ratio (default 0)",
    )
    parser.add_argument("--skip-prefect", action="store_true", help="do not time the Prefect flow")
    parser.add_argument("--skip-smtp-source", action="store_true", help="do not run smtp-source (no apt-get)")
    parser.add_argument(
        "--profile", action="store_true", help="run the pipeline step under cProfile (main thread only; times inflated)"
    )
    parser.add_argument("--profile-dir", type=Path, help="also write .prof files here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace and print its path")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="instead: N worker processes share one fan-out on a PostgreSQL ledger, against one "
        "worker (messages/s ratio and duplicates; bench/mail_workers.py)",
    )
    args = parser.parse_args(argv)
    sizes = [int(v) for v in args.subscribers.split(",") if v.strip()]
    if args.koho_only:
        args.skip_smtp_source = args.skip_prefect = True
    if len(sizes) > 1:
        from mail_scale import scale_main

        return scale_main(sizes, Path(__file__), args.koho_only, args.connections)
    if args.workers:
        from mail_workers import run as run_workers

        return run_workers(sizes[0], args.workers, args.connections or 8, log)
    n, load = sizes[0], os.getloadavg()
    sweep = [int(v) for v in args.sweep.split(",") if v.strip()]

    tool = None
    if not args.skip_smtp_source:
        try:  # first: a machine that cannot get it should not wait minutes to learn so
            tool = SmtpSource.obtain(log)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            log(f"cannot obtain postfix's smtp-source: {exc} (or use --skip-smtp-source)")
            return 2

    root = scratch_root("koho-mail-bench-", args.keep)
    ws, articles, details = prepare(root, n, 2 + len(sweep), not args.skip_prefect)
    rss = {"after imports": peak_rss_mb()}  # seeding ran in a child process
    if args.connections is None:  # what koho does when the URL does not say: read, not assumed
        args.connections = _default_connections()
    url = "smtp://127.0.0.1:{port}?connections={c}"
    flow, sources, length = None, [], 0
    with Sink(args.latency_ms / 1000) as sink:
        log(f"SMTP sink (aiosmtpd, pid {sink.pid}) on 127.0.0.1:{sink.port}, reply latency {args.latency_ms:g} ms")
        log(f"koho pipeline without Prefect: {n} messages, connections={args.connections}")
        pipe = _profiled(
            args.profile,
            "koho-mail-pipeline",
            args.profile_dir,
            measure,
            sink,
            n,
            koho_pipeline,
            ws,
            articles[0][0],
            url.format(port=sink.port, c=args.connections),
        )
        rss["after pipeline"] = peak_rss_mb()
        runs = [("koho without Prefect", pipe, ledger_states(ws, articles[0][1]))]
        details.append(f"koho without Prefect breakdown: {pipe['timer'].breakdown()}")
        if tool:
            length, overhead = source_length(tool, sink, _avg(pipe["received"]))
            sources.append(source_run(tool, sink, n, length))
            runs.append(("smtp-source run 1", sources[-1], None))
            details.append(
                f"smtp-source: postfix {tool.version} from Debian's package; {tool.binary.name} -d "
                f"-s {SOURCE_SESSIONS} -l {length} -m {n} -f bench@example.jp -t resident@example.jp "
                f"127.0.0.1:PORT; exit status 0; it adds {overhead} bytes of headers to the body"
            )

        if not args.skip_prefect:
            from prefect.settings import temporary_settings

            # No heartbeat thread to join at the end of the flow run (about 1 s).
            with temporary_settings(updates={"flows.heartbeat_frequency": None}):
                log("Prefect warm-up flow (ephemeral server start)")
                warmup = prefect_warmup()
                log(f"koho publish-article flow: {n} messages, connections={args.connections}")
                flow = measure(
                    sink, n, koho_prefect, ws, articles[1][0], url.format(port=sink.port, c=args.connections)
                )
            rss["after Prefect flow"] = peak_rss_mb()
            runs.insert(0, ("koho via Prefect", flow, ledger_states(ws, articles[1][1])))
            details.append(
                f"Prefect warm-up flow (ephemeral server start, excluded): {warmup:.2f} s; heartbeat disabled"
            )
            if tool:
                sources.append(source_run(tool, sink, n, length))
                runs.append(("smtp-source run 2", sources[-1], None))

        for i, value in enumerate(sweep):
            log(f"sweep: koho pipeline with connections={value}")
            swept = measure(sink, n, koho_pipeline, ws, articles[2 + i][0], url.format(port=sink.port, c=value))
            runs.append((f"sweep connections={value}", swept, ledger_states(ws, articles[2 + i][1])))
        sink_rss = sink.peak_rss_mb()

    details += cpu_lines(n, runs)
    if args.latency_ms:
        details.append(f"NOTE: the sink delayed its replies to MAIL, RCPT and DATA by {args.latency_ms:g} ms each")
    details.append(
        "load average at the start and end (2 cores; other work on the machine skews seconds): "
        f"{load[0]:.1f}, {os.getloadavg()[0]:.1f}"
    )
    if args.profile:
        details.append("NOTE: --profile was on; the pipeline figure includes cProfile overhead")
    checks = check_lines(n, runs)
    failed = any(line.endswith("FAILED") for line in checks)
    print("\n".join(result_lines(n, args.connections, pipe, flow, sources, length, rss, sink_rss)))
    print("\n".join("  " + d for d in checks + details))
    if args.json:
        args.json.write_text(json.dumps(figures(n, pipe, sources, failed, load, rss)), encoding="utf-8")
    return 1 if failed else 0


def figures(n: int, pipe: dict, sources: list[dict], failed: bool, load: tuple[float, ...], rss: dict) -> dict:
    """What ``mail_scale.py`` summarises: koho's pipeline (wall, this process's CPU, rate, peak
    RSS of this process, which ran nothing else of size), smtp-source's first run, the check."""
    source = sources[0] if sources else None
    return {
        "n": n,
        "koho_wall": pipe["seconds"],
        "koho_cpu": pipe["cpu"],
        "koho_rate": pipe["rate"],
        "sink_cpu": pipe["received"].cpu,
        "source_wall": source["seconds"] if source else None,
        "source_rate": source["rate"] if source else None,
        "rss": rss["after pipeline"],
        "failed": failed,
        "load": [load[0], os.getloadavg()[0]],
    }


if __name__ == "__main__":
    # The guard matters: the subscriber seeding and the sink run in spawned processes, which
    # import this file again (as __mp_main__) and must not rerun the benchmark.
    sys.exit(main())
