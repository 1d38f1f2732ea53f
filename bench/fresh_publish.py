"""Child process of archive_build.py: ``koho publish ONE``'s work in a fresh interpreter, with
the default languages and no translation model installed (a new user's machine), minus Prefect.

``python bench/fresh_publish.py ROOT PATH`` prints one JSON line: wall and CPU seconds from
interpreter start (imports included), the import time, how many files were written, and whether
argostranslate (and torch) were imported. Run by archive_build.py; not meant to be run by hand.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

STARTED = time.perf_counter()
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def cpu() -> float:
    """CPU seconds of this process so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def vm_hwm_mb() -> float:
    """This process's own peak RSS (VmHWM): ru_maxrss would still carry the high-water mark of
    the large benchmark process this one was forked from."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(root: Path, path: Path) -> dict:
    """Import what ``koho publish`` imports, then run the publish-article run for ``path``."""
    from datetime import UTC, datetime

    from flows.driver import Work, run
    from koho.settings import Settings

    imported = time.perf_counter() - STARTED
    state = root / "state"
    settings = Settings(
        content_dir=root / "content",
        state_dir=state,
        database_url=f"sqlite:///{(state / 'koho.db').as_posix()}",
        archive_url=(root / "public").resolve().as_uri(),
        feeds_url="",
        channels="archive,feeds",
    )  # languages: the default (eight translations), none of whose models is installed
    outcomes = run(settings, Work(paths=(str(path),)), now=datetime.now(UTC))
    from koho.delivery import State

    return {
        "wall": time.perf_counter() - STARTED,
        "cpu": cpu(),
        "imports": imported,
        "languages": len(settings.target_languages()),
        # Receipts, not Outcome.count: without the bench's steps the run's tally calls its own
        # deliveries "elsewhere".
        "written": sum(1 for o in outcomes for r in o.receipts if r.state == State.SENT),
        "argostranslate": "argostranslate" in sys.modules,
        "torch": "torch" in sys.modules,
        "rss": vm_hwm_mb(),
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))))
