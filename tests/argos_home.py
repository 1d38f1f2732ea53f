"""Session fixture: argostranslate in private folders with tiny ja -> xx packages installed.

argostranslate fixes its folders (XDG_*) when first imported; conftest points them at a private
session folder at start-up (one per pytest-xdist worker). The first test that asks for
`argos_home` installs the eight tiny packages (ADR 0006) there; every later test of that process
shares them. The packages themselves are built once and kept in pytest's cache folder
(`tiny_package_cache`), shared by the workers and by later runs: building is cheap, but each
process would first import CTranslate2, sentencepiece and onnx just to make the same bytes.
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
def tiny_package_cache(request, tmp_path_factory) -> Path:
    """Where `tiny_packages.cached_package` keeps built packages: `.pytest_cache/d/koho-tiny-argos`
    (`pytest --cache-clear` empties it), or a session folder when the cache plugin is off."""
    cache = getattr(request.config, "cache", None)
    if cache is None:
        return tmp_path_factory.mktemp("tiny-argos-cache")
    return Path(cache.mkdir("koho-tiny-argos"))


@pytest.fixture(scope="session")
def argos_home(tiny_package_cache) -> ArgosHome:
    """argostranslate's private folders for this process, with ja -> each of LANGUAGES installed."""
    if importlib.util.find_spec("argostranslate") is None:
        pytest.skip("argostranslate is not installed (pip install -c constraints.txt -e '.[translate]')")
    from tests.conftest import ARGOS_ROOT
    from translations.engine import install_files

    packages = {lang: tiny_packages.cached_package("ja", lang, tiny_package_cache) for lang in LANGUAGES}
    # conftest pointed argostranslate at ARGOS_ROOT before anything imported it; install_files
    # also drops what an earlier publish in this session cached as missing.
    install_files(packages.values())
    return ArgosHome(ARGOS_ROOT, packages)
