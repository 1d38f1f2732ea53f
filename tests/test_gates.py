"""The code gates of CI (issue 15, ADR 0022), run as tests so that CI's one command runs them.

Lint (``ruff check``), format (``ruff format --check``) and strict types (``mypy``, configured in
pyproject.toml) over the whole tree, each from the interpreter's own bin folder: the versions
pinned in the dev extra and locked in requirements.lock, never whatever is on PATH. A failure
prints the tool's findings. And the lock must cover every dependency pyproject.toml declares: a
dependency added without relocking fails here, saying how to relock.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

BIN = Path(sys.executable).parent
LOCK = REPO / "requirements.lock"
#: The extras the lock is compiled for (README "Updating the lock").
LOCKED_EXTRAS = ("dev", "translate", "accessible")
RELOCK = (
    "relock: pip-compile --extra dev --extra translate --extra accessible -c constraints.txt --strip-extras "
    "--allow-unsafe --no-emit-index-url --no-emit-find-links --no-emit-trusted-host -o requirements.lock pyproject.toml"
)


def _tool(name: str) -> Path:
    path = BIN / name
    # The dev extra installs them; a missing tool is a broken install, never a reason to skip.
    assert path.exists(), f"{path} is missing: install the dev extra (README: Run the whole test suite)"
    return path


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "--no-cache", "."], ["ruff", "format", "--check", "--no-cache", "."], ["mypy"]],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_the_tree_passes_the_gate(command):
    done = subprocess.run([str(_tool(command[0])), *command[1:]], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"`{' '.join(command)}` found:\n{done.stdout}{done.stderr}"


def _locked() -> dict[str, str]:
    """name -> pinned version of every line ``name==version`` of the lock."""
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        found = re.match(r"^([A-Za-z0-9._-]+)==([^\s;]+)", line)
        if found:
            pins[canonicalize_name(found.group(1))] = found.group(2)
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    return [Requirement(r) for r in [*project["dependencies"], *(r for e in LOCKED_EXTRAS for r in extras[e])]]


def test_the_lock_pins_every_declared_dependency_within_its_bounds():
    locked = _locked()
    assert locked, f"{LOCK} pins nothing"
    problems = []
    for requirement in _declared():
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue  # not installed on this platform
        pinned = locked.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"{requirement} is not in requirements.lock")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(f"{requirement}: requirements.lock pins {pinned}")
    assert not problems, "pyproject.toml changed without relocking:\n" + "\n".join(problems) + "\n" + RELOCK


def test_the_lock_is_compiled_for_the_extras_the_readme_installs():
    header = "".join(
        line for line in LOCK.read_text(encoding="utf-8").splitlines() if line.startswith("#    pip-compile")
    )
    for extra in LOCKED_EXTRAS:
        assert f"--extra={extra}" in header, RELOCK
    assert "--constraint=constraints.txt" in header and "--strip-extras" in header, RELOCK
