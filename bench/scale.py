"""``archive_build.py --scale 1000,5000,20000``: one child run of the archive benchmark per size
(so each size's peak memory is its own), then whether a one-article publish costs the same at
every size. Each child prints its own lines (passed through, indented); this prints the summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

GROWTH_TARGET = 1.5  # incremental CPU at the largest size <= 1.5 x at the smallest
INCREMENTAL_TARGET = 1.0  # % of the full build's CPU, at the largest size
RSS_TARGET = 300.0  # MB, peak of a build (the child process) at the largest size
FULL_TARGET = 0.5  # koho / Pelican, CPU


def _child(script: Path, n: int, skip_pelican: bool) -> tuple[dict, float, str]:
    """Run one size; return its figures, the child's own peak RSS (MB, from wait4) and stdout."""
    with tempfile.TemporaryDirectory(prefix="koho-scale-") as tmp:
        out = Path(tmp) / "figures.json"
        command = [sys.executable, str(script), "--n", str(n), "--skip-prefect", "--json", str(out)]
        command += ["--skip-pelican"] if skip_pelican else []
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        stdout = proc.stdout.read()
        # wait4, not getrusage(RUSAGE_CHILDREN): the latter is the maximum over every child so far.
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1) or not out.exists():
            raise SystemExit(f"--n {n} failed with status {proc.returncode}")
        return json.loads(out.read_text(encoding="utf-8")), usage.ru_maxrss / 1024, stdout


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def scale_main(sizes: list[int], skip_pelican: bool, script: Path) -> int:
    """Run every size, print each child's lines and the summary lines; 1 if a child's check failed."""
    runs = []
    for n in sorted(sizes):
        print(f"[bench] --scale: {n} articles", file=sys.stderr, flush=True)
        figures, rss, stdout = _child(script, n, skip_pelican)
        runs.append((n, figures, rss))
        print(f"--- {n} articles (child process) ---\n" + "\n".join("  " + line for line in stdout.splitlines()))
        if any(line.endswith("FAILED") for line in stdout.splitlines()):
            return 1
    print(
        "--- scale summary (incremental = one new article, archive+feeds, warm, same process, Japanese only, "
        "no Prefect; fresh = new interpreter, default languages, no model) ---"
    )
    for n, f, rss in runs:
        fresh, nan = f["fresh"] or {}, float("nan")
        pelican = (
            f"; pelican CPU {f['pelican_cpu']:.2f} s, koho/pelican CPU {f['full_cpu'] / f['pelican_cpu']:.2f}"
            if f["pelican_cpu"]
            else ""
        )
        print(
            f"scale {n}: full build wall {f['full_wall']:.2f} s, CPU {f['full_cpu']:.2f} s; incremental wall "
            f"{f['inc_wall']:.3f} s, CPU {f['inc_cpu']:.3f} s = {100 * f['inc_cpu'] / f['full_cpu']:.2f}% of full CPU; "
            f"fresh-process publish wall {fresh.get('wall', nan):.2f} s, CPU {fresh.get('cpu', nan):.2f} s; "
            f"peak RSS {rss:.0f} MB{pelican}"
        )
    (small, fs, _), (large, fl, rss_large) = runs[0], runs[-1]
    growth = fl["inc_cpu"] / fs["inc_cpu"]
    pct = 100 * fl["inc_cpu"] / fl["full_cpu"]
    print(
        f"incremental CPU growth {small} -> {large}: {growth:.2f}x "
        f"(target <= {GROWTH_TARGET}) {_verdict(growth <= GROWTH_TARGET)}"
    )
    print(
        f"incremental/full CPU at {large}: {pct:.2f}% "
        f"(target <= {INCREMENTAL_TARGET:g}%) {_verdict(pct <= INCREMENTAL_TARGET)}"
    )
    print(
        f"peak RSS at {large}: {rss_large:.0f} MB (target <= {RSS_TARGET:.0f} MB) {_verdict(rss_large <= RSS_TARGET)}"
    )
    if fl["pelican_cpu"]:
        ratio = fl["full_cpu"] / fl["pelican_cpu"]
        print(
            f"full build CPU koho/pelican at {large}: {ratio:.2f} "
            f"(target <= {FULL_TARGET}) {_verdict(ratio <= FULL_TARGET)}"
        )
    return 0
