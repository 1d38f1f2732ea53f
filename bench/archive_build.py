#!/usr/bin/env python
"""Benchmark: koho's full archive build and one incremental publish, against Pelican.

Run from the repository root::

    python bench/archive_build.py            # 5,000 articles (a few minutes)
    python bench/archive_build.py --n 200    # smoke run
    python bench/archive_build.py --skip-pelican

Steps (each in a fresh temporary workspace; nothing in the checkout is touched):

1. Generate N deterministic Japanese articles (koho front matter) over 2016-2026.
2. koho full build, timed: read + parse the corpus with an empty parse cache, open a fresh
   SQLite ledger, ``site_build`` + ``deliver`` for the archive and the feeds channel into a fresh
   ``file://`` folder (the whole public site, as ``koho build`` plus the feeds).
   ``finish_build`` then records the built articles as published (part of the build).
3. koho incremental publish of ONE new article, timed: warm-cache read, select, then for the
   archive and the feeds channel ``context_for`` + ``plan_and_record`` + ``deliver`` (what the
   ``publish-article`` flow does, without Prefect).
4. The same for a second new article through the real Prefect flow
   ``flows.publish.publish_article`` on an ephemeral server started before timing.
5. Pelican building the same articles in a subprocess (``pelican content -o out -s conf``).

Absolute seconds vary a lot between machines and runs; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import io
import os
import pstats
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO, REPO / "bench"):  # the checkout (not another installed copy) and siblings
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from corpus import NEW_AT, generate, new_spec, write_article, write_koho_content  # noqa: E402
from pelican_baseline import pelican_available, pelican_build  # noqa: E402

FULL_TARGET = 0.5       # koho full build <= 0.5 x Pelican
INCREMENTAL_TARGET = 3.0  # incremental publish <= 3 % of the full build

from koho.prefect_env import DEFAULTS as PREFECT_ENV  # noqa: E402  (the CLI's own offline defaults)


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the result lines."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size so far, in MB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(who).ru_maxrss / 1024


# --------------------------------------------------------------------------------------------
# koho steps
# --------------------------------------------------------------------------------------------

@dataclass
class Workspace:
    """Paths of one benchmark run; also exported as KOHO_* for the Prefect flow."""

    root: Path

    @property
    def content(self) -> Path:
        return self.root / "content"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def public(self) -> Path:
        return self.root / "public"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{(self.state / 'koho.db').as_posix()}"

    @property
    def archive_url(self) -> str:
        return self.public.resolve().as_uri()

    def settings(self):
        from koho.settings import Settings

        return Settings(content_dir=self.content, state_dir=self.state, database_url=self.db_url,
                        archive_url=self.archive_url, channels="archive,feeds")

    def export(self) -> None:
        os.environ.update({"KOHO_CONTENT_DIR": str(self.content), "KOHO_STATE_DIR": str(self.state),
                           "KOHO_DATABASE_URL": self.db_url, "KOHO_ARCHIVE_URL": self.archive_url,
                           "KOHO_CHANNELS": "archive,feeds"})
        os.environ.pop("KOHO_FEEDS_URL", None)


class Timer:
    """Named laps inside one timed region."""

    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.laps: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps.append((name, now - self.last))
        self.last = now

    @property
    def total(self) -> float:
        return self.last - self.start

    def breakdown(self) -> str:
        return ", ".join(f"{name} {secs:.2f} s" for name, secs in self.laps)


def _sent(receipts) -> int:
    from koho.delivery import State

    return sum(1 for r in receipts if r.state == State.SENT and not r.retry)


def koho_full_build(ws: Workspace, now: datetime) -> dict:
    """Timed: cold-cache read, fresh ledger, site_build + deliver for archive then feeds."""
    from channels import registry
    from koho.ledger import Ledger
    from koho.pipeline import deliver, finish_build, site_build
    from koho.reader import read_corpus
    from koho.site import load_site

    settings = ws.settings()
    cache = settings.state_dir / "cache"
    assert not cache.exists() or not any(cache.iterdir()), "the full build must start with an empty cache"
    timer = Timer()
    site = load_site(settings.content_dir)
    corpus = read_corpus(settings.content_dir, site, cache)
    if corpus.errors:
        raise SystemExit("generated content has errors:\n" + "\n".join(map(str, corpus.errors[:20])))
    timer.lap("read+parse")
    ledger = Ledger(settings.db_url())
    timer.lap("ledger open")
    result = {"articles": len(corpus.articles), "written": {}, "planned": {}}
    for channel in registry.build(settings, ["archive", "feeds"]):
        planned, recorded, outcome = site_build(channel, corpus, ledger, now)
        timer.lap(f"{channel.name} plan+record")
        receipts = outcome.receipts = deliver(channel, ledger, planned)
        finish_build(ledger, outcome)  # the built articles now count as published
        timer.lap(f"{channel.name} deliver")
        result["written"][channel.name] = _sent(receipts)
        result["planned"][channel.name] = len(planned)
        channel.close()
    ledger.close()
    timer.lap("close")
    result["timer"] = timer
    result["corpus"] = corpus
    return result


def koho_incremental(ws: Workspace, path: Path, now: datetime) -> dict:
    """Timed: what the publish-article flow does for one new file, minus Prefect."""
    from channels import registry
    from koho.ledger import Ledger
    from koho.pipeline import RunState, context_for, deliver, hold_reason, plan_and_record
    from koho.reader import read_corpus
    from koho.site import load_site

    settings = ws.settings()
    timer = Timer()
    site = load_site(settings.content_dir)
    corpus = read_corpus(settings.content_dir, site, settings.state_dir / "cache")
    if corpus.errors:
        raise SystemExit("content errors:\n" + "\n".join(map(str, corpus.errors[:20])))
    timer.lap("read (warm cache)")
    chosen = corpus.select([path], settings.content_dir)
    assert len(chosen) == 1, chosen
    timer.lap("select")
    ledger = Ledger(settings.db_url())
    timer.lap("ledger open")
    written: dict[str, int] = {}
    planned_n: dict[str, int] = {}
    state = RunState(ledger, corpus)  # once per run, as the publish-article flow does
    timer.lap("run state")
    for article in chosen:
        assert hold_reason(article, now) is None
        for channel in registry.build(settings):
            ctx = context_for(channel, article, corpus, ledger, now, state=state)
            timer.lap(f"{channel.name} context")
            planned, _recorded = plan_and_record(channel, article, ctx, ledger)
            timer.lap(f"{channel.name} plan+record")
            receipts = deliver(channel, ledger, planned)
            state.delivered(channel.name, article.id, receipts)
            timer.lap(f"{channel.name} deliver")
            written[channel.name] = _sent(receipts)
            planned_n[channel.name] = len(planned)
            channel.close()
    ledger.close()
    timer.lap("close")
    return {"timer": timer, "written": written, "planned": planned_n, "article": chosen[0], "corpus": corpus}


def check_incremental_pages(ws: Workspace, result: dict, site) -> list[str]:
    """Sanity checks (not timed): the new article is listed and old ones did not disappear."""
    article = result["article"]
    home = (ws.public / "index.html").read_text(encoding="utf-8")
    latest = home.split('id="latest"', 1)[1]  # after the urgent box, if any
    home_items = latest.split('<ul class="articles">', 1)[1].split("</ul>", 1)[0].count("<li")
    year = (ws.public / str(article.publish_at.year) / "index.html").read_text(encoding="utf-8")
    year_items = year.split('<ul class="articles">', 1)[1].split("</ul>", 1)[0].count("<li")
    expected_year = sum(1 for a in result["corpus"].articles.values()
                        if a.status == "ready" and a.publish_at.year == article.publish_at.year)
    ok_home = article.title in home and home_items == site.latest_count
    ok_year = year_items == expected_year
    return [f"check: home page lists {home_items} articles (latest_count {site.latest_count}) incl. the new one: "
            f"{'ok' if ok_home else 'FAILED'}",
            f"check: {article.publish_at.year} page lists {year_items} of {expected_year} live articles: "
            f"{'ok' if ok_year else 'FAILED'}"]


# --------------------------------------------------------------------------------------------
# Prefect
# --------------------------------------------------------------------------------------------

def prefect_incremental(ws: Workspace, path: Path) -> dict:
    """Timed once: flows.publish.publish_article on an ephemeral server started beforehand."""
    from prefect import flow, task
    from prefect.settings import temporary_settings

    from flows.publish import publish_article
    from koho.delivery import State

    # No heartbeat thread to join at the end of every flow run (about 1 s each).
    updates = {"flows.heartbeat_frequency": None}

    @task
    def _noop(x: int) -> int:
        return x + 1

    @flow(name="bench-warmup")
    def _warmup() -> int:
        return _noop(1)

    ws.export()
    with temporary_settings(updates=updates):
        started = time.perf_counter()
        _warmup()
        warmup = time.perf_counter() - started
        started = time.perf_counter()
        outcomes = publish_article(paths=[str(path)])
        elapsed = time.perf_counter() - started
    written = {}
    planned = {}
    for outcome in outcomes:
        written[outcome.channel] = written.get(outcome.channel, 0) + outcome.count(State.SENT)
        planned[outcome.channel] = planned.get(outcome.channel, 0) + outcome.planned
    return {"seconds": elapsed, "warmup": warmup, "written": written, "planned": planned,
            "heartbeat_disabled": True}


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def _tree_state() -> str:
    """Commit and uncommitted koho files, so figures can be matched to the code they measured."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.split("\n")
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
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    print(f"\n===== profile: {label} =====\n{stream.getvalue()}", file=sys.stderr)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(out_dir / f"{label}.prof")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="number of articles (default 5000)")
    parser.add_argument("--skip-pelican", action="store_true", help="do not run the Pelican baseline")
    parser.add_argument("--skip-prefect", action="store_true", help="do not time the Prefect flow")
    parser.add_argument("--profile", action="store_true",
                        help="run the koho steps under cProfile (times are then inflated) and print hotspots")
    parser.add_argument("--profile-dir", type=Path, help="also write .prof files here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace and print its path")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="koho-bench-"))
    if not args.keep:
        # atexit, not finally: Prefect's ephemeral server (home inside ``root``) stops in its own
        # atexit hook, registered later and so run earlier than this one.
        atexit.register(shutil.rmtree, root, True)
    prefect_home = root / "prefect-home"
    prefect_home.mkdir()
    # Before anything imports Prefect: offline, quiet, in a private home.
    os.environ.update(PREFECT_ENV)
    os.environ["PREFECT_HOME"] = str(prefect_home)
    os.environ.pop("PREFECT_API_URL", None)  # always the ephemeral server, never a configured one
    ws = Workspace(root)
    lines: list[str] = []
    details: list[str] = []
    try:
        started = time.perf_counter()
        import channels.registry  # noqa: F401  (imports are not part of any timed step)
        import koho.ledger  # noqa: F401
        import koho.pipeline  # noqa: F401
        import koho.reader  # noqa: F401
        from channels.archive.pages import environment
        environment()
        details.append(f"koho import time (excluded from every figure): {time.perf_counter() - started:.2f} s")
        details.append(f"koho tree: {_tree_state()}")

        log(f"generating {args.n} articles in {root}")
        specs = generate(args.n)
        write_koho_content(specs, ws.content)
        now = datetime.now(timezone.utc)
        if now < NEW_AT[-1]:
            raise SystemExit(f"the clock says {now:%Y-%m-%d}; the benchmark's articles are dated up to {NEW_AT[-1]:%Y-%m-%d}")

        log("koho full build (cold cache, fresh ledger, fresh output folder)")
        full = _profiled(args.profile, "koho-full-build", args.profile_dir, koho_full_build, ws, now)
        full_s = full["timer"].total
        rss_full = peak_rss_mb()
        full_files = sum(full["written"].values())
        on_disk = sum(1 for p in ws.public.rglob("*") if p.is_file())

        log("koho incremental publish (warm cache, archive + feeds, no Prefect)")
        path1 = write_article(new_spec(0), ws.content)
        inc = _profiled(args.profile, "koho-incremental", args.profile_dir, koho_incremental, ws, path1, now)
        inc_s = inc["timer"].total
        details += check_incremental_pages(ws, inc, full["corpus"].site)
        rss_inc = peak_rss_mb()

        prefect = None
        if not args.skip_prefect:
            log("koho incremental publish via the Prefect flow (ephemeral server started first)")
            path2 = write_article(new_spec(1), ws.content)
            prefect = prefect_incremental(ws, path2)

        pelican = None
        if not args.skip_pelican:
            if not pelican_available():
                log("pelican is not installed: pip install pelican markdown  (the 'bench' extra)")
                return 2
            log(f"pelican full build of {args.n} articles (subprocess)")
            pelican = pelican_build(specs, root)

        n = args.n
        lines.append(f"koho full build ({n} articles): {full_s:.2f} s")
        if pelican:
            pel_s = pelican["internal"] or pelican["wall"]
            lines.append(f"pelican full build ({n} articles): {pel_s:.2f} s")
        else:
            pel_s = None
            lines.append(f"pelican full build ({n} articles): skipped")
        lines.append(f"koho incremental publish (1 article, archive+feeds, no Prefect): {inc_s:.3f} s")
        if prefect:
            lines.append(f"koho incremental publish via Prefect flow: {prefect['seconds']:.2f} s")
        else:
            lines.append("koho incremental publish via Prefect flow: skipped")
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
        lines.append(f"files written: koho full build {full_files} ({on_disk} on disk), "
                     f"pelican full build {pelican['files'] if pelican else 'n/a'}, "
                     f"koho incremental {sum(inc['written'].values())} of {sum(inc['planned'].values())} planned, "
                     f"Prefect flow {sum(prefect['written'].values()) if prefect else 'n/a'} of "
                     f"{sum(prefect['planned'].values()) if prefect else 'n/a'} planned")
        pelican_rss = f"{pelican['rss']:.0f} MB" if pelican and pelican["rss"] else "n/a"
        lines.append(f"peak RSS: koho process {peak_rss_mb():.0f} MB (after full build {rss_full:.0f} MB, "
                     f"after incremental {rss_inc:.0f} MB), pelican subprocess {pelican_rss}")

        details.append(f"koho full build breakdown: {full['timer'].breakdown()}")
        details.append("koho full build files: " + ", ".join(
            f"{name} {full['written'][name]} written of {full['planned'][name]} planned" for name in full["written"]))
        details.append(f"koho incremental breakdown: {inc['timer'].breakdown()}")
        details.append("koho incremental files: " + ", ".join(
            f"{name} {inc['written'][name]} written of {inc['planned'][name]} planned" for name in inc["written"]))
        if prefect:
            details.append(f"Prefect warm-up flow (ephemeral server start, excluded): {prefect['warmup']:.2f} s; "
                           f"heartbeat disabled: {prefect['heartbeat_disabled']}")
        if pelican:
            details.append(f"pelican: {pelican['articles']} articles, self-reported {pelican['internal']} s, "
                           f"subprocess wall {pelican['wall']:.2f} s (incl. interpreter start and imports)")
        if args.profile:
            details.append("NOTE: --profile was on; koho figures include cProfile overhead")
    finally:
        if args.keep:
            log(f"workspace kept: {root}")
    print("\n".join(lines))
    print("\n".join("  " + d for d in details))
    return 0


if __name__ == "__main__":
    sys.exit(main())
