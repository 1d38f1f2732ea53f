"""The ``koho`` command's entry point: hand the command to the warm runner when one can take it
(``koho/runner.py``, ADR 0016), else run it in this process.

Only the standard library is imported before that choice: a command the runner takes pays a
few milliseconds here instead of importing koho's CLI, Prefect and their dependencies.
"""

from __future__ import annotations

import sys

from koho import runner


def main() -> None:
    """``koho …``: the runner's exit code, or ``koho.cli.main`` in this process."""
    code = runner.delegate(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from koho.cli import main as run_here

    run_here()
