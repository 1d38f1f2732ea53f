"""The archive's search index (Pagefind, one per language edition), queried in Chromium.

The site is served from a loopback static server: Pagefind's script loads its WebAssembly and
index chunks with ``import()`` and ``fetch``, which Chromium refuses from ``file://``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from channels.archive import ArchiveChannel
from koho.delivery import State
from tests.conftest import CONTENT
from tests.test_archive_languages import build, context
from tests.translated import live_with
from tests.validators.tools import BROWSER_ARGS, CHROMIUM

DRILL = "sogo-bousai-kunren-2026"  # the disaster-drill article (総合防災訓練)


def english_live():
    live = live_with(("en",))
    live[f"{DRILL}@en"] = dataclasses.replace(live[f"{DRILL}@en"], title="Nerima disaster drill in Hikarigaoka Park")
    return live


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    build(folder, english_live())
    return folder


@contextlib.contextmanager
def serve(folder: Path):
    """A loopback static server of ``folder``, in a thread."""

    class Handler(SimpleHTTPRequestHandler):
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def served(site):
    with serve(site) as base:
        yield base


def search(base: str, edition: str, query: str) -> list[str]:
    """The result URLs of ``query`` in an edition's index, through Pagefind's own script."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(base + edition + "index.html")
            return page.evaluate(
                """async ([bundle, query]) => {
                    const pagefind = await import(bundle);
                    const found = await pagefind.search(query);
                    return Promise.all(found.results.map(async r => (await r.data()).url));
                }""",
                [base + edition + "pagefind/pagefind.js", query],
            )
        finally:
            browser.close()


def test_every_edition_has_its_own_bundle(site):
    for edition in ("", "en/"):
        assert (site / edition / "pagefind" / "pagefind.js").is_file()
        assert (site / edition / "pagefind" / "pagefind-entry.json").is_file()
    assert list((site / "pagefind").glob("pagefind.ja_*.pf_meta"))
    assert list((site / "en" / "pagefind").glob("pagefind.en_*.pf_meta"))


def test_a_japanese_query_finds_the_disaster_drill(served):
    assert f"/articles/{DRILL}/index.html" in search(served, "", "防災")


def test_an_english_query_on_the_english_edition(served):
    assert search(served, "en/", "drill") == [f"/en/articles/{DRILL}/index.html"]


def test_a_republish_with_no_change_writes_no_index_file(site):
    live = english_live()
    channel = ArchiveChannel(f"file://{site}", CONTENT, ebooks=True)
    deliveries = [d for d in channel.plan(live[f"{DRILL}@en"], context(live)) if "/pagefind/" in "/" + d.target]
    assert deliveries and all(d.target.startswith("en/pagefind/") for d in deliveries)
    assert {r.state for r in channel.deliver(deliveries)} == {State.SKIPPED}


def test_a_withdrawn_article_leaves_the_index(tmp_path):
    live = english_live()
    build(tmp_path, live)
    gone = dataclasses.replace(live.pop(DRILL), status="withdrawn")
    channel = ArchiveChannel(f"file://{tmp_path}", CONTENT, ebooks=True)
    channel.deliver(channel.plan(gone, dataclasses.replace(context(live), published=frozenset({DRILL}))))
    with serve(tmp_path) as base:
        assert f"/articles/{DRILL}/index.html" not in search(base, "", "防災")
