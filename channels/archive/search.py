"""The search index of each language edition: Pagefind run over the edition's article pages.

Pagefind has no incremental mode, so an edition's index is cut by year: one bundle per year of
articles (``pagefind/2026/``, ``en/pagefind/2026/``), which the search page loads newest first
and merges in the browser (Pagefind's ``mergeIndex``). A run rebuilds, once at its end, only the
years of the editions whose articles it published or withdrew (``ArchiveChannel.plan_finish``;
``bench/search_index.py`` measures what that costs). The output is deterministic and its file
names carry content hashes, so a bundle goes out as site files keyed by their bytes, like the
furniture (ADR 0014): an unchanged year is recorded and written once.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pagefind.service import get_executable

#: Where an edition's bundles live, under the edition's folder (``pagefind/``, ``en/pagefind/``).
BUNDLE = "pagefind/"


def year_bundle(year: int) -> str:
    """The edition-relative folder of one year's bundle (``pagefind/2026/``)."""
    return f"{BUNDLE}{year}/"


#: Pagefind writes its own UIs too; the archive's search page uses only the search API.
_UNUSED = ("pagefind-ui.", "pagefind-modular-ui.", "pagefind-component-ui.", "pagefind-highlight.", "playground/")


def search_bundle(documents: Mapping[str, bytes], language: str) -> dict[str, bytes]:
    """Pagefind's bundle for one edition: ``documents`` maps edition-relative page paths
    (``articles/x/index.html``) to their HTML; the result maps bundle-relative paths
    (``pagefind.js``, ``fragment/…``) to bytes. The language is forced (``--force-language``):
    a translated page's Japanese fragments must not start a second index, and Japanese needs
    the extended binary's segmentation. Pagefind reads only ``data-pagefind-body`` elements."""
    if not documents:
        return {}  # Pagefind refuses a site without pages; an emptied edition keeps its last bundle
    binary = get_executable()
    if binary is None:
        raise FileNotFoundError("the pagefind binary is missing: pip install 'pagefind[extended]'")
    with tempfile.TemporaryDirectory(prefix="koho-search-") as tmp:
        site, out = Path(tmp) / "site", Path(tmp) / "out"
        for path, html in documents.items():
            target = site / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(html)
        site.mkdir(exist_ok=True)
        # The CLI rather than the Python API: the API's service is this same binary behind a
        # pipe, answering each call (add a page, write the files) on a 0.1 s polling loop, so
        # it would not save the start-up and would add a tenth of a second per call.
        subprocess.run(
            [
                str(binary),
                "--site",
                str(site),
                "--output-path",
                str(out),
                "--force-language",
                language,
                "--keep-index-url",
                "--silent",
            ],
            check=True,
            capture_output=True,
        )
        files = {}
        for file in sorted(out.rglob("*")):
            name = file.relative_to(out).as_posix()
            if file.is_file() and not name.startswith(_UNUSED):
                files[name] = file.read_bytes()
        return files
