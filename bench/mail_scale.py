"""``mail_fanout.py --subscribers 10000,40000,100000``: one child run of the mail benchmark per
size (koho's pipeline without Prefect, then smtp-source into the same sink), so each size's peak
memory is its own process's; then a summary line per size and issue 16's checks. Each child's
lines are passed through, indented."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

#: koho's messages/s >= this x smtp-source's into the same sink, by list size (issue 16).
RATIO_TARGETS = {10_000: 0.6, 40_000: 0.8}
RSS_TARGET = 300.0  # MB, koho's process at any size (the goal is stated for 500,000)


def _child(script: Path, n: int, koho_only: bool, connections: int | None) -> tuple[dict, str, int]:
    """Run one size; return its figures, its stdout and its exit status."""
    with tempfile.TemporaryDirectory(prefix="koho-mail-scale-") as tmp:
        out = Path(tmp) / "figures.json"
        command = [sys.executable, str(script), "--subscribers", str(n), "--skip-prefect", "--json", str(out)]
        command += ["--koho-only"] if koho_only else []
        command += ["--connections", str(connections)] if connections else []
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
        if done.returncode not in (0, 1) or not out.exists():
            raise SystemExit(f"--subscribers {n} failed with status {done.returncode}")
        return json.loads(out.read_text(encoding="utf-8")), done.stdout, done.returncode


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def summary_line(f: dict) -> str:
    """One size's figures in one line (compared across runs: keep the format)."""
    n = f["n"]
    line = (
        f"fan-out {n}: koho wall {f['koho_wall']:.2f} s, CPU {f['koho_cpu']:.2f} s "
        f"({1000 * f['koho_cpu'] / n:.3f} ms/message), {f['koho_rate']:.0f} messages/s"
    )
    if f["source_rate"]:
        line += (
            f"; smtp-source wall {f['source_wall']:.2f} s, {f['source_rate']:.0f} messages/s; "
            f"ratio koho/smtp-source {f['koho_rate'] / f['source_rate']:.2f}"
        )
    return line + f"; koho peak RSS {f['rss']:.0f} MB; load {f['load'][0]:.1f}-{f['load'][1]:.1f}"


def scale_main(sizes: list[int], script: Path, koho_only: bool, connections: int | None) -> int:
    """Run every size, print each child's lines, the summary and the checks; 1 if a child's own
    check failed (its figures are then of a broken run)."""
    runs, failed = [], False
    for n in sorted(sizes):
        print(f"[bench] --subscribers: {n}", file=sys.stderr, flush=True)
        figures, stdout, status = _child(script, n, koho_only, connections)
        runs.append(figures)
        failed = failed or status != 0 or figures["failed"]
        print(f"--- {n} subscribers (child process) ---\n" + "\n".join("  " + line for line in stdout.splitlines()))
    print("--- mail fan-out summary (koho: pipeline steps without Prefect; peak RSS of its own process) ---")
    for f in runs:
        print(summary_line(f))
    for f in runs:
        target = RATIO_TARGETS.get(f["n"])
        if target is not None and f["source_rate"]:
            ratio = f["koho_rate"] / f["source_rate"]
            print(f"ratio at {f['n']}: {ratio:.2f} (target >= {target}) {_verdict(ratio >= target)}")
    largest = runs[-1]
    print(
        f"peak RSS at {largest['n']}: {largest['rss']:.0f} MB (target <= {RSS_TARGET:.0f} MB) "
        f"{_verdict(largest['rss'] <= RSS_TARGET)}"
    )
    print(f"checks (every subscriber mailed once, ledger agrees): {'FAILED' if failed else 'ok'}")
    return 1 if failed else 0
