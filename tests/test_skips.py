"""tests/skips.py: a skip fails the suite unless allowed, and KOHO_ALLOW_SKIPS=1 keeps it a skip.

Each case runs a small pytest session in a child process with only that plugin loaded (not this
suite's conftest), the way the suite itself loads it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SAMPLE = """
import pytest

def test_runs():
    assert True

@pytest.mark.skipif(True, reason="no frobnicator here")
def test_skipped_by_mark():
    pass

def test_skipped_in_the_call():
    pytest.skip("no java here")

@pytest.fixture
def peer():
    pytest.skip("no peer binaries")

def test_skipped_by_a_fixture(peer):
    pass

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_expected_failure():
    assert False
"""


def _run(tmp_path: Path, allow: str | None, files: dict[str, str]) -> subprocess.CompletedProcess:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.skips"]\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "KOHO_ALLOW_SKIPS"}
    env["PYTHONPATH"] = str(REPO)
    if allow is not None:
        env["KOHO_ALLOW_SKIPS"] = allow
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-p", "no:xdist", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_skip_fails_and_says_what_was_missing(tmp_path):
    run = _run(tmp_path, None, {"test_sample.py": SAMPLE})
    assert run.returncode == 1, run.stdout
    # A skip in set-up (a skipif mark, a fixture) is reported as an error, in the call as a failure.
    summary = run.stdout.strip().splitlines()[-1]
    assert summary.startswith("1 failed, 1 passed, 1 xfailed, 2 errors"), run.stdout
    for reason in ("no frobnicator here", "no java here", "no peer binaries"):
        assert reason in run.stdout
    assert "KOHO_ALLOW_SKIPS=1" in run.stdout


def test_a_developer_can_keep_skips_as_skips(tmp_path):
    run = _run(tmp_path, "1", {"test_sample.py": SAMPLE})
    assert run.returncode == 0, run.stdout
    assert "1 passed" in run.stdout and "3 skipped" in run.stdout and "1 xfailed" in run.stdout, run.stdout


def test_a_module_that_skips_at_import_fails(tmp_path):
    module = 'import pytest\npytest.importorskip("no_such_module_koho")\n\ndef test_x():\n    pass\n'
    run = _run(tmp_path, None, {"test_module.py": module})
    assert run.returncode != 0, run.stdout
    assert "no_such_module_koho" in run.stdout and "skip fails the suite" in run.stdout, run.stdout
    allowed = _run(tmp_path, "1", {})
    # Exit code 5: no test ran, which is pytest's answer for a run whose only module skipped.
    assert allowed.returncode == 5 and "1 skipped" in allowed.stdout, allowed.stdout


def test_nothing_is_allowed_to_skip_without_a_reason():
    from tests.skips import ALLOWED

    assert [node for node, reason in ALLOWED.items() if not reason.strip()] == []
