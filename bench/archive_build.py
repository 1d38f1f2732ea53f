#!/usr/bin/env python
"""Benchmark: koho's full archive build and one incremental publish, against Pelican.

Run from the repository root: ``python bench/archive_build.py`` (5,000 articles, a few minutes),
``--n 200`` for a smoke run, ``--skip-pelican`` / ``--skip-prefect``. Each run works in a fresh
temporary workspace: generated articles (corpus.py), koho's timed full build and incremental
publishes (this file), Pelican on the same articles (pelican_baseline.py). bench/README.md says
what each figure includes. Seconds vary a lot between machines and runs; compare the ratios.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The checkout first (not another installed koho), then this folder for the sibling modules, so
# the script also works when loaded by path from elsewhere (runpy, a spawned worker's re-import).
for _path in (REPO, REPO / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from corpus import NEW_AT, generate, new_spec, write_article, write_koho_content  # noqa: E402
from pelican_baseline import pelican_available, pelican_build  # noqa: E402
from scratch import prefect_warmup, scratch_root  # noqa: E402
from timing import Timer  # noqa: E402

from koho.prefect_env import DEFAULTS as PREFECT_ENV  # noqa: E402  (the CLI's own offline defaults)

FULL_TARGET = 0.5  # koho full build <= 0.5 x Pelican
INCREMENTAL_TARGET = 1.0  # incremental publish <= 1 % of the full build (issue 16)


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the result lines."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of its reaped children (read_corpus's
    parse workers), so a build that parses in other processes is not counted as cheap."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Workspace:
    """Paths of one benchmark run under ``root``; also exported as KOHO_* for the Prefect flow."""

    def __init__(self, root: Path):
        self.root = root
        self.content, self.state, self.public = root / "content", root / "state", root / "public"
        self.db_url = f"sqlite:///{(self.state / 'koho.db').as_posix()}"
        self.archive_url = self.public.resolve().as_uri()

    def settings(self):
        """koho Settings for this workspace. Every path is passed explicitly, so KOHO_* variables
        of the calling shell (a real archive or feeds URL) cannot redirect the benchmark's output."""
        from koho.settings import Settings

        return Settings(
            content_dir=self.content,
            state_dir=self.state,
            database_url=self.db_url,
            archive_url=self.archive_url,
            feeds_url="",
            channels="archive,feeds",
            languages="",  # the originals only: what Pelican builds too
        )

    def export(self) -> None:
        """The same settings as environment variables: the flow builds its own Settings()."""
        os.environ.update(
            {
                "KOHO_CONTENT_DIR": str(self.content),
                "KOHO_STATE_DIR": str(self.state),
                "KOHO_DATABASE_URL": self.db_url,
                "KOHO_ARCHIVE_URL": self.archive_url,
                "KOHO_CHANNELS": "archive,feeds",
                "KOHO_LANGUAGES": "",  # as settings(): the originals only
            }
        )
        os.environ.pop("KOHO_FEEDS_URL", None)


def _written(outcomes) -> int:
    """Files this run really wrote (a file with unchanged bytes is not sent again)."""
    from koho.delivery import State

    return sum(o.count(State.SENT) for o in outcomes)


def _files(outcomes, by_channel: bool = False) -> str:
    """``14 of 14 planned`` for a step's koho.pipeline.Outcome list, or with ``by_channel``
    ``archive 8 written of 8 planned, feeds 6 written of 6 planned``."""
    if by_channel:
        return ", ".join(f"{o.channel} {_written([o])} written of {o.planned} planned" for o in outcomes)
    return f"{_written(outcomes)} of {sum(o.planned for o in outcomes)} planned"


def koho_full_build(ws: Workspace, now: datetime) -> dict:
    """Timed: the build-archive run (``flows/driver.py`` ``run`` with ``Work(build=True)``, plain
    steps, no Prefect) of archive and feeds: cold-cache read, fresh ledger, then per channel
    ``site_build``, delivery and ``finish_build``."""
    from timed_steps import TimedSteps

    from flows.driver import Work, run

    settings = ws.settings()
    cache = settings.state_dir / "cache"
    assert not cache.exists() or not any(cache.iterdir()), "the full build must start with an empty cache"
    cpu = cpu_seconds()
    timer = Timer()
    steps = TimedSteps(timer)
    # Part of the build: the built articles then count as published on the channel, which is
    # what lets the incremental step list them next to the new article.
    outcomes = run(settings, Work(build=True), ["archive", "feeds"], now=now, steps=steps)
    timer.lap("finish+close")
    cpu = cpu_seconds() - cpu
    return {"timer": timer, "cpu": cpu, "outcomes": outcomes, "corpus": _corpus(settings)}


def koho_incremental(ws: Workspace, path: Path, now: datetime) -> dict:
    """Timed: the publish-article run for one new file (``flows/driver.py`` ``run``, plain
    steps, no Prefect): read (warm cache), choose, then per channel plan+record and deliver."""
    from timed_steps import TimedSteps

    from flows.driver import Work, run
    from koho.ledger import SITE_ID

    settings = ws.settings()
    cpu = cpu_seconds()
    timer = Timer()
    outcomes = run(settings, Work(paths=(str(path),)), now=now, steps=TimedSteps(timer))
    timer.lap("report+close")
    cpu = cpu_seconds() - cpu
    corpus = _corpus(settings)
    (article,) = corpus.select([path], settings.content_dir)
    # The article's own outcomes, and the run's closing one (the archive's search bundles).
    assert {o.item_id for o in outcomes} - {SITE_ID} == {article.id}, [o.label for o in outcomes]
    return {"timer": timer, "cpu": cpu, "outcomes": outcomes, "article": article, "corpus": corpus}


def fresh_publish(ws: Workspace, path: Path) -> dict:
    """Once, not in this process: ``bench/fresh_publish.py`` publishes ``path`` in a new
    interpreter (imports included) with the default languages and no translation model
    installed (argos folders pointed into the workspace); it says whether argostranslate was
    imported. Warm parse cache and OS file cache; no Prefect."""
    import json

    empty = ws.root / "no-models"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KOHO_", "ARGOS_"))}
    env.update(XDG_DATA_HOME=str(empty / "data"), XDG_CONFIG_HOME=str(empty / "config"), PYTHONPATH=str(REPO))
    env.pop("SNAP", None)
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "fresh_publish.py"), str(ws.root), str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        raise SystemExit(f"fresh-process publish failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _corpus(settings):
    """The corpus as the run read it (from the parse cache; not timed)."""
    from koho.reader import load

    return load(settings)


def _listed(html: str) -> int:
    """Entries of the first article list on a page."""
    return html.split('<ul class="articles">', 1)[1].split("</ul>", 1)[0].count("<li")


def check_incremental_pages(ws: Workspace, result: dict, site) -> list[str]:
    """Sanity checks (not timed): the new article is listed and the built ones did not disappear
    (they would if the full build had not been recorded as published)."""
    article = result["article"]
    home = (ws.public / "index.html").read_text(encoding="utf-8")
    home_items = _listed(home.split('id="latest"', 1)[1])  # after the urgent box, if any
    year_items = _listed((ws.public / str(article.publish_at.year) / "index.html").read_text(encoding="utf-8"))
    expected_year = sum(
        1
        for a in result["corpus"].articles.values()
        if a.status == "ready" and a.publish_at.year == article.publish_at.year
    )
    ok_home = article.title in home and home_items == site.latest_count
    ok_year = year_items == expected_year
    return [
        f"check: home page lists {home_items} articles (latest_count {site.latest_count}) incl. the new one: "
        f"{'ok' if ok_home else 'FAILED'}",
        f"check: {article.publish_at.year} page lists {year_items} of {expected_year} live articles: "
        f"{'ok' if ok_year else 'FAILED'}",
    ]


def prefect_incremental(ws: Workspace, path: Path) -> dict:
    """Timed once: flows.publish.publish_article on an ephemeral server started beforehand."""
    from prefect.settings import temporary_settings

    from flows.publish import publish_article

    ws.export()
    # No heartbeat thread to join at the end of every flow run (about 1 s each).
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        warmup = prefect_warmup()  # starts the ephemeral server, which must not count as publishing
        started = time.perf_counter()
        outcomes = publish_article(paths=[str(path)])
        elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "warmup": warmup, "outcomes": outcomes, "heartbeat_disabled": True}


def _tree_state() -> str:
    """Commit and uncommitted koho files, so figures can be matched to the code they measured."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    changed = [line[3:] for line in dirty if line.strip()]
    return f"{head or 'unknown'}" + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


def _profiled(enabled: bool, label: str, out_dir: Path | None, func, *args):
    """Run ``func`` under cProfile when asked; print the top functions to stderr."""
    if not enabled:
        return func(*args)
    profiler = cProfile.Profile()
    result = profiler.runcall(func, *args)
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(25).sort_stats("cumulative").print_stats(40)
    print(f"\n===== profile: {label} =====\n{stream.getvalue()}", file=sys.stderr)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(out_dir / f"{label}.prof")
    return result


def result_lines(
    n: int, full: dict, inc: dict, prefect: dict | None, pelican: dict | None, on_disk: int, rss: tuple[float, float]
) -> list[str]:
    """The stable lines, one figure each (their format is compared across runs: keep it)."""
    full_s, inc_s = full["timer"].total, inc["timer"].total
    pel_s = pelican["seconds"] if pelican else None
    lines = [
        f"koho full build ({n} articles): {full_s:.2f} s",
        f"pelican full build ({n} articles): " + (f"{pel_s:.2f} s" if pel_s else "skipped"),
        f"koho incremental publish (1 article, archive+feeds, no Prefect): {inc_s:.3f} s",
        "koho incremental publish via Prefect flow: " + (f"{prefect['seconds']:.2f} s" if prefect else "skipped"),
    ]
    if pel_s:
        ratio = full_s / pel_s
        verdict = "ok" if ratio <= FULL_TARGET else "MISSED"
        lines.append(f"ratio full build koho/pelican: {ratio:.2f} (target <= {FULL_TARGET}) {verdict}")
    else:
        lines.append(f"ratio full build koho/pelican: n/a (target <= {FULL_TARGET})")
    pct = 100 * inc_s / full_s
    verdict = "ok" if pct <= INCREMENTAL_TARGET else "MISSED"
    lines.append(f"ratio incremental/full: {pct:.1f}% (target <= {INCREMENTAL_TARGET:g}%) {verdict}")
    if prefect:
        lines.append(f"ratio incremental via Prefect/full: {100 * prefect['seconds'] / full_s:.1f}% (informational)")
    lines.append(
        f"files written: koho full build {_written(full['outcomes'])} ({on_disk} on disk), "
        f"pelican full build {pelican['files'] if pelican else 'n/a'}, "
        f"koho incremental {_files(inc['outcomes'])}, "
        f"Prefect flow {_files(prefect['outcomes']) if prefect else 'n/a of n/a planned'}"
    )
    pelican_rss = f"{pelican['rss']:.0f} MB" if pelican and pelican["rss"] else "n/a"
    lines.append(
        f"peak RSS: koho process {peak_rss_mb():.0f} MB (after full build {rss[0]:.0f} MB, "
        f"after incremental {rss[1]:.0f} MB), pelican subprocess {pelican_rss}"
    )
    return lines + cpu_lines(full, inc, pelican)


def cpu_lines(full: dict, inc: dict, pelican: dict | None) -> list[str]:
    """CPU seconds (the figure a loaded machine does not skew), added after the original lines."""
    pel_cpu = pelican["cpu"] if pelican else None
    lines = [
        f"koho full build CPU: {full['cpu']:.2f} s (incl. parse workers); pelican full build CPU: "
        + (f"{pel_cpu:.2f} s" if pel_cpu else "n/a")
    ]
    if pel_cpu:
        ratio = full["cpu"] / pel_cpu
        verdict = "ok" if ratio <= FULL_TARGET else "MISSED"
        lines.append(
            f"ratio full build CPU koho/pelican: {ratio:.2f} (target <= {FULL_TARGET}; pelican paginated like koho: "
            f"{pelican['pagination']}; output koho {full['bytes'] / 1e6:.1f} MB, "
            f"pelican {pelican['bytes'] / 1e6:.1f} MB) "
            f"{verdict}"
        )
    pct = 100 * inc["cpu"] / full["cpu"]
    verdict = "ok" if pct <= INCREMENTAL_TARGET else "MISSED"
    lines.append(
        f"koho incremental publish CPU (warm: same process, parse cache filled, Japanese only, no Prefect): "
        f"{inc['cpu']:.3f} s = {pct:.2f}% of full build CPU (target <= {INCREMENTAL_TARGET:g}%) {verdict}"
    )
    fresh = inc.get("fresh")
    if fresh:
        lines.append(
            f"koho incremental publish, fresh process (cold interpreter, warm parse cache and OS file cache, "
            f"{fresh['languages']} translation languages, no model installed, no Prefect): wall {fresh['wall']:.2f} s, "
            f"CPU {fresh['cpu']:.2f} s, imports {fresh['imports']:.2f} s, {fresh['written']} files written, "
            f"peak RSS {fresh['rss']:.0f} MB, argostranslate imported: {'yes' if fresh['argostranslate'] else 'no'}, "
            f"torch imported: {'yes' if fresh['torch'] else 'no'}"
        )
    return lines


def detail_lines(full: dict, inc: dict, prefect: dict | None, pelican: dict | None) -> list[str]:
    """The indented lines after the figures: where the time went, and what was written."""
    details = [
        f"koho full build breakdown: {full['timer'].breakdown()}",
        f"koho full build files: {_files(full['outcomes'], by_channel=True)}",
        f"koho incremental breakdown: {inc['timer'].breakdown()}",
        f"koho incremental files: {_files(inc['outcomes'], by_channel=True)}",
    ]
    if prefect:
        details.append(
            f"Prefect warm-up flow (ephemeral server start, excluded): {prefect['warmup']:.2f} s; "
            f"heartbeat disabled: {prefect['heartbeat_disabled']}"
        )
    if pelican:
        details.append(
            f"pelican: {pelican['articles']} articles, self-reported {pelican['internal']} s, "
            f"subprocess wall {pelican['wall']:.2f} s (incl. interpreter start and imports)"
        )
    return details


def main(argv: list[str] | None = None) -> int:
    """Run every step, print the figures; exit 1 if a page check failed, 2 without Pelican."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="number of articles (default 5000)")
    parser.add_argument("--skip-pelican", action="store_true", help="do not run the Pelican baseline")
    parser.add_argument("--skip-prefect", action="store_true", help="do not time the Prefect flow")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the koho steps under cProfile (times are then inflated) and print hotspots",
    )
    parser.add_argument("--profile-dir", type=Path, help="also write .prof files here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace and print its path")
    parser.add_argument("--skip-fresh", action="store_true", help="do not time the fresh-process publish")
    parser.add_argument(
        "--scale",
        help="comma-separated sizes (1000,5000,20000): one child run per size (--skip-prefect), then the "
        "incremental cost per size, its growth, its ratio to the full build and each child's peak RSS",
    )
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)  # a --scale child's figures
    args = parser.parse_args(argv)
    if args.scale:
        from scale import scale_main

        return scale_main(
            [int(n) for n in args.scale.split(",")], args.skip_pelican, REPO / "bench" / "archive_build.py"
        )
    if not args.skip_pelican and not pelican_available():
        log("pelican is not installed: pip install -e '.[bench]'  (or use --skip-pelican)")
        return 2

    root = scratch_root("koho-bench-", args.keep)
    # Before anything imports Prefect: offline, quiet, in a private home, always the ephemeral
    # server (never a configured PREFECT_API_URL).
    os.environ.update(PREFECT_ENV, PREFECT_HOME=str(root / "prefect-home"))
    os.environ.pop("PREFECT_API_URL", None)
    (root / "prefect-home").mkdir()
    ws = Workspace(root)

    started = time.perf_counter()
    import timed_steps  # noqa: F401  (imports are not part of any timed step)

    import channels.registry  # noqa: F401
    import flows.driver  # noqa: F401
    import koho.ledger  # noqa: F401
    import koho.reader  # noqa: F401
    from channels.archive.pages import environment

    environment()
    details = [
        f"koho import time (excluded from every figure): {time.perf_counter() - started:.2f} s",
        f"koho tree: {_tree_state()}",
    ]

    log(f"generating {args.n} articles in {root}")
    specs = generate(args.n)
    write_koho_content(specs, ws.content)
    now = datetime.now(UTC)
    if now < NEW_AT[-1]:
        raise SystemExit(
            f"the clock says {now:%Y-%m-%d}; the benchmark's articles are dated up to {NEW_AT[-1]:%Y-%m-%d}"
        )

    log("koho full build (cold cache, fresh ledger, fresh output folder)")
    full = _profiled(args.profile, "koho-full-build", args.profile_dir, koho_full_build, ws, now)
    rss_full = peak_rss_mb()
    built = [p for p in ws.public.rglob("*") if p.is_file()]
    on_disk = len(built)
    full["bytes"] = sum(p.stat().st_size for p in built)

    log("koho incremental publish (warm cache, archive + feeds, no Prefect)")
    path1 = write_article(new_spec(0), ws.content)
    inc = _profiled(args.profile, "koho-incremental", args.profile_dir, koho_incremental, ws, path1, now)
    checks = check_incremental_pages(ws, inc, full["corpus"].site)
    rss_inc = peak_rss_mb()
    if not args.skip_fresh:
        log("koho incremental publish in a fresh process (default languages, no models)")
        inc["fresh"] = fresh_publish(ws, write_article(new_spec(2), ws.content))

    prefect = None
    if not args.skip_prefect:
        log("koho incremental publish via the Prefect flow (ephemeral server started first)")
        prefect = prefect_incremental(ws, write_article(new_spec(1), ws.content))

    pelican = None
    if not args.skip_pelican:
        log(f"pelican full build of {args.n} articles (subprocess)")
        from channels.archive.pages import TOPIC_PAGE_MAX

        home = full["corpus"].site.latest_count
        pelican = pelican_build(specs, root, home=home, topic=TOPIC_PAGE_MAX)
        pelican["pagination"] = f"index {home} per page, topic pages {TOPIC_PAGE_MAX}"

    print("\n".join(result_lines(args.n, full, inc, prefect, pelican, on_disk, (rss_full, rss_inc))))
    if args.json:
        import json

        figures = {
            "n": args.n,
            "full_wall": full["timer"].total,
            "full_cpu": full["cpu"],
            "inc_wall": inc["timer"].total,
            "inc_cpu": inc["cpu"],
            "fresh": inc.get("fresh"),
            "pelican_cpu": pelican["cpu"] if pelican else None,
            "pelican_seconds": pelican["seconds"] if pelican else None,
            "rss": peak_rss_mb(),
        }
        args.json.write_text(json.dumps(figures), encoding="utf-8")
    details += checks + detail_lines(full, inc, prefect, pelican)
    if args.profile:
        details.append("NOTE: --profile was on; koho figures include cProfile overhead")
    print("\n".join("  " + d for d in details))
    return 1 if any(line.endswith("FAILED") for line in checks) else 0


if __name__ == "__main__":
    # The guard matters: koho's reader may parse in worker processes, and with the spawn start
    # method each worker imports this file again (as __mp_main__) and must not rerun the benchmark.
    sys.exit(main())
