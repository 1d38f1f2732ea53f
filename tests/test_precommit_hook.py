"""The pre-commit hook a ward's content repository uses (``.pre-commit-hooks.yaml``): it runs the
real ``koho check`` over the whole content folder and refuses what the command refuses."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

HOOKS = Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml"


def hook() -> dict:
    (found,) = [h for h in yaml.safe_load(HOOKS.read_text(encoding="utf-8")) if h["id"] == "koho-check"]
    return found


def run_hook(cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the hook's entry as pre-commit would (``language: python``: the package's own console
    script, from the environment koho is installed in), with no file names."""
    argv = shlex.split(hook()["entry"])
    argv[0] = str(Path(sys.executable).with_name(argv[0]))
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_the_hook_runs_on_any_content_change_and_reads_the_whole_folder():
    found = hook()
    assert found["language"] == "python" and found["pass_filenames"] is False
    files = re.compile(found["files"])
    assert files.search("content/articles/2026/a.md") and files.search("content/glossary.yaml")
    assert not files.search("README.md") and not files.search("docs/content/x.md")


def test_the_hook_passes_good_content_and_refuses_bad(workspace):
    passed = run_hook(workspace)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    bad = workspace / "content" / "articles" / "bad.md"
    bad.write_text("---\ntitel: x\npublish_at: 2026-11-01\n---\n本文\n", encoding="utf-8")
    refused = run_hook(workspace)
    assert refused.returncode == 1
    assert "bad.md:2: titel: unknown field; did you mean 'title'?" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
