"""Session fixture: argostranslate in private folders with tiny ja -> xx packages installed.

argostranslate fixes its folders (XDG_*) when first imported; conftest points them at a private
session folder at start-up. The first test that asks for `argos_home` builds the eight tiny
packages (ADR 0006, ~50 ms each) and installs them there; every later test shares that.
Tests that need a pair *not* installed ask for one outside the eight (e.g. ja -> fr).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import tiny_packages
from translations.translator import LANGUAGES


@dataclass(frozen=True)
class ArgosHome:
    """Where argostranslate keeps its packages in this session, and the files installed."""

    root: Path
    packages: dict[str, Path]


@pytest.fixture(scope="session")
def argos_home(tmp_path_factory) -> ArgosHome:
    if importlib.util.find_spec("argostranslate") is None:
        pytest.skip("argostranslate is not installed (pip install -c constraints.txt -e '.[translate]')")
    from translations.engine import install_files
    from tests.conftest import ARGOS_ROOT

    built = tmp_path_factory.mktemp("argos-packages")
    packages = {lang: tiny_packages.build_package("ja", lang, built) for lang in LANGUAGES}
    # conftest pointed argostranslate at ARGOS_ROOT before anything imported it; install_files
    # also drops what an earlier publish in this session cached as missing.
    install_files(packages.values())
    return ArgosHome(ARGOS_ROOT, packages)
