"""Session fixture: argostranslate in private folders with tiny ja -> xx packages installed.

argostranslate fixes its folders (XDG_*) when first imported, so this process may point them
somewhere only once: the first test that asks for `argos_home` builds the eight tiny packages
(ADR 0006, ~50 ms each), sets the folders and installs them; every later test shares that.
Tests that need a pair *not* installed ask for one outside the eight (e.g. ja -> fr).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pytest

from translations import tiny_packages
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
    root = tmp_path_factory.mktemp("argos-home")
    built = tmp_path_factory.mktemp("argos-packages")
    packages = {lang: tiny_packages.build_package("ja", lang, built) for lang in LANGUAGES}
    tiny_packages.isolate_argos(root, threads=1)
    tiny_packages.install(packages.values())
    return ArgosHome(root, packages)
