"""What a benchmark run sets up and throws away: its temporary folder and a warmed-up Prefect
ephemeral server (its start is not koho's time). No koho import, as ``timing.py``."""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_folder(prefix: str, keep: bool) -> Iterator[Path]:
    """A fresh temporary folder for the ``with`` block, removed after it unless ``keep``
    (``--keep``: left for inspection, and its path printed)."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        if keep:
            print(f"  kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def scratch_root(prefix: str, keep: bool) -> Path:
    """A temporary workspace for one benchmark run, removed at exit unless ``keep``: for a run
    that starts Prefect's ephemeral server with its home inside the folder."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    if keep:
        print(f"[bench] workspace kept: {root}", file=sys.stderr, flush=True)
    else:
        # atexit, not finally: Prefect's ephemeral server (home inside ``root``) stops in its own
        # atexit hook, registered later and so run earlier than this one.
        atexit.register(shutil.rmtree, root, True)
    return root


def prefect_warmup() -> float:
    """Start Prefect's ephemeral server with one trivial flow; its seconds are not koho's."""
    from prefect import flow, task

    @task
    def _noop(x: int) -> int:
        return x + 1

    @flow(name="bench-warmup")
    def _warmup() -> int:
        return _noop(1)

    started = time.perf_counter()
    _warmup()
    return time.perf_counter() - started
