#!/usr/bin/env python
"""Benchmark: how long the `koho` command takes for what PR staff type, and how much of a
publish is koho's own work.

Run from the repository root: ``python bench/cli_latency.py``. In a fresh temporary folder (a
copy of the sample content, state, output, Prefect home, no translation models: a new user's
machine) it times, as child processes:

1. ``koho --help`` and ``koho check`` (goal: under 1.5 s each; the fastest of ``--rounds``);
2. ``koho publish ONE --dry-run`` (the fastest of ``--rounds``);
3. ``koho publish ONE``: the first starts koho's local Prefect server (ADR 0015) and leaves the
   warm runner (ADR 0016) behind; once the runner listens, ONE is edited (a sentence added, as
   PR staff correct an article) and published again ``--rounds`` times, each a real change to
   render and write; then once more unchanged (nothing new to send). For each, the process's
   wall time is split by the flow run's own start and end times as the Prefect server recorded
   them: *before* (interpreter, pre-flight, finding or starting the server, creating the flow
   run), *flow* (koho's pipeline run by Prefect: read, plan, record, deliver, artifact), *after*
   (the report, Prefect's flush and exit). Goal: a warm publish of an edited article spends at
   least 70% of its wall time in the flow; the fastest of the rounds is the figure.

The server it started is stopped at the end. Results go to stdout, one figure per line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

from scratch import scratch_folder

REPO = Path(__file__).resolve().parents[1]
ARTICLE = "content/articles/2026/tokushu-sagi-chuui.md"
HELP_CHECK_GOAL = 1.5  # seconds
WARM_SHARE_GOAL = 0.70


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--article", default=ARTICLE, help="the article ONE, relative to the repository")
    parser.add_argument("--rounds", type=int, default=3, help="runs of help, check and dry run (fastest kept)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--pause", type=float, default=5.0, help="seconds between warm publishes")
    args = parser.parse_args()
    with scratch_folder("koho-bench-cli-", args.keep) as work:
        try:
            return run(work, args.article, args.rounds, args.pause)
        finally:
            koho(work, "server", "stop")


def environment(work: Path) -> dict[str, str]:
    """The shell's environment without KOHO_* and Prefect's API: everything in ``work``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KOHO_", "PREFECT_"))}
    env.update(
        {
            "KOHO_CONTENT_DIR": str(work / "content"),
            "KOHO_STATE_DIR": str(work / ".koho"),
            "KOHO_ARCHIVE_URL": f"file://{work / 'public'}",
            "PREFECT_HOME": str(work / "prefect-client"),
            "XDG_DATA_HOME": str(work / "xdg" / "data"),
            "XDG_CONFIG_HOME": str(work / "xdg" / "config"),
            "XDG_CACHE_HOME": str(work / "xdg" / "cache"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
    )
    return env


def koho(work: Path, *args: str) -> tuple[float, float, float, subprocess.CompletedProcess]:
    """(start, end, wall seconds, result) of one `koho` command in ``work``."""
    start = time.time()
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "koho", *args],
        cwd=work,
        env=environment(work),
        capture_output=True,
        text=True,
        timeout=600,
    )
    return start, time.time(), time.perf_counter() - began, done


def fastest(work: Path, rounds: int, *args: str) -> float:
    times = []
    for _ in range(rounds):
        _, _, wall, done = koho(work, *args)
        if done.returncode != 0:
            raise SystemExit(f"koho {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
        times.append(wall)
    return min(times)


def last_flow_run(work: Path) -> dict:
    """The latest flow run the local server recorded (its own start and end times)."""
    port = json.loads((work / ".koho" / "prefect" / "server.json").read_text())["port"]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/flow_runs/filter",
        method="POST",
        data=json.dumps({"sort": "START_TIME_DESC", "limit": 1}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)[0]


def in_runner(work: Path, wall: float) -> None:
    """Print how long the warm runner itself ran the last command (the rest is the command's
    interpreter and the relay)."""
    try:
        seconds = json.loads((work / ".koho" / "prefect" / "runner.json").read_text())["last_seconds"]
    except (OSError, ValueError, KeyError):
        return
    print(
        f"  in the warm runner: {seconds:.2f} s ({seconds / wall:.0%} of wall), the command's own "
        f"process {wall - seconds:.2f} s"
    )


def wait_for_runner(work: Path, timeout: float = 120.0) -> bool:
    """Whether the runner the first publish left behind listens (it imports Prefect first)."""
    place = work / ".koho" / "prefect"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if json.loads((place / "runner.json").read_text())["listening"]:
                return True
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.1)
    return False


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def publish(work: Path, article: str, label: str) -> tuple[float, float]:
    """Publish ONE, print its split; returns (wall seconds, the flow's share of them)."""
    start, end, wall, done = koho(work, "publish", article)
    if done.returncode != 0:
        raise SystemExit(f"koho publish failed ({done.returncode}):\n{done.stderr}")
    run = last_flow_run(work)
    began, ended = _stamp(run["start_time"]), _stamp(run["end_time"])
    flow = ended - began
    share = flow / wall
    print(
        f"koho publish ONE ({label}): {wall:.2f} s; before the flow {began - start:.2f} s, "
        f"flow {flow:.2f} s ({share:.0%}), after {end - ended:.2f} s"
    )
    return wall, share


def run(work: Path, article: str, rounds: int, pause: float) -> int:
    shutil.copytree(REPO / "content", work / "content")
    load = os.getloadavg()[0]
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    print(f"  {os.cpu_count()} cores, load average {load:.2f}; commit {head}; ONE = {article}")
    help_s = fastest(work, rounds, "--help")
    check_s = fastest(work, rounds, "check")
    dry_s = fastest(work, rounds, "publish", article, "--dry-run")
    server_json = work / ".koho" / "prefect" / "server.json"
    assert not server_json.exists(), "help, check or a dry run started a server"
    print(f"koho --help: {help_s:.2f} s")
    print(f"koho check: {check_s:.2f} s")
    print(f"koho publish ONE --dry-run: {dry_s:.2f} s")
    publish(work, article, "first, starts the server")
    began = time.perf_counter()
    ready = wait_for_runner(work)
    print(
        f"warm runner listening {time.perf_counter() - began:.2f} s after the first publish ended"
        if ready
        else "warm runner: none came up (KOHO_RUNNER=off?)"
    )
    warm_runs = []
    for n in range(2, 2 + rounds):
        with open(work / article, "a", encoding="utf-8") as text:
            text.write(f"\n\n訂正{n}: 受付時間を追記しました。\n")
        time.sleep(pause)  # PR staff publish minutes apart: the server has digested the last run
        warm_runs.append(publish(work, article, f"warm {n}, edited, {pause:g} s after the last"))
        in_runner(work, warm_runs[-1][0])
    with open(work / article, "a", encoding="utf-8") as text:
        text.write("\n\n訂正: 続けてもう一度。\n")
    publish(work, article, "warm, edited, right after the last (the server still busy with it)")
    publish(work, article, "warm, unchanged: nothing new to send")
    served = json.loads((work / ".koho" / "prefect" / "runner.json").read_text())["served"] if ready else 0
    print(f"  commands the warm runner served: {served} of {rounds + 2}")
    warm_wall, warm = min(warm_runs)
    print(f"koho publish ONE (warm, edited, fastest of {rounds}): {warm_wall:.2f} s, {warm:.0%} in the flow")
    ok = lambda good: "ok" if good else "MISSED"  # noqa: E731
    print(f"ratio help/goal: {help_s / HELP_CHECK_GOAL:.2f} (goal < 1.5 s) {ok(help_s < HELP_CHECK_GOAL)}")
    print(f"ratio check/goal: {check_s / HELP_CHECK_GOAL:.2f} (goal < 1.5 s) {ok(check_s < HELP_CHECK_GOAL)}")
    print(f"warm publish in koho's flow: {warm:.0%} of wall time (goal >= 70%) {ok(warm >= WARM_SHARE_GOAL)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
