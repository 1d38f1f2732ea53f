"""The README's first command on a fresh clone gives a complete, working site (ADR 0014).

`koho publish` with nothing configured (every default channel, nine languages with the tiny
argos packages, the sample content, koho's clock pinned) in an empty folder, once per module:
every reference in the output resolves (pages, stylesheet, icons, images, feeds, sitemap,
robots.txt, e-book links, in every language), the site is styled and navigable opened from disk
in a real Chromium, and the 404 page works at any missing path of a real HTTP server. The same
command to an S3 bucket (a moto server) leaves an equally whole site there.
"""

from __future__ import annotations

import http.server
import os
import shutil
import struct
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import boto3
import pytest
from lxml import html
from playwright.sync_api import sync_playwright
from typer.testing import CliRunner

from koho import prefect_env
from tests.channel_lists import WITHOUT_AUDIO
from tests.clock import TestClock
from tests.conftest import CONTENT
from tests.crawl import crawl, read_folder, read_s3
from translations.translator import LANGUAGES

BASE = "https://koho.example.city.lg.jp/"
#: `koho serve` answers there (the info-mail sign-up pages): not files of the site.
MAIL = BASE + "mail/"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.usefixtures("prefect_harness", "argos_home")


def first_publish(folder: Path, mp: pytest.MonkeyPatch, **env: str) -> str:
    """Run `koho publish` as the README does, in ``folder`` holding a copy of the sample content,
    on every default channel but audio (tests/channel_lists.py; tests/e2e/test_audio_e2e.py
    follows the audio edition's links)."""
    from koho.cli import app

    shutil.copytree(CONTENT, folder / "content")
    mp.chdir(folder)
    TestClock(mp)
    for name, value in {**prefect_env.DEFAULTS, "KOHO_CHANNELS": WITHOUT_AUDIO, **env}.items():
        mp.setenv(name, value)
    result = CliRunner().invoke(app, ["publish"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def public(tmp_path_factory, prefect_harness, argos_home) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("fresh-clone")
        first_publish(folder, mp)
        yield folder / "public"


def test_every_reference_in_the_first_publish_resolves(public):
    files = read_folder(public)
    report = crawl(files, BASE, outside=(MAIL,))
    assert report.broken == []
    # It looked everywhere: every language's pages, feeds and e-books, and the furniture.
    for language in LANGUAGES:
        assert f"{language}/index.html" in report.reached and f"feeds/{language}/atom.xml" in report.reached
        assert any(p.startswith("ebooks/") and p.endswith(f"-{language}.epub") for p in report.reached)
    for furniture in ("static/koho.css", "static/favicon.svg", "topics/index.html", "404.html", "sitemap.xml"):
        assert furniture in report.reached, furniture
    assert {"robots.txt", "favicon.ico"} <= set(files) and files["favicon.ico"][:4] == b"\0\0\1\0"
    assert report.checked > 10_000

    # Every image has its size (no layout shift); every page links the sign-up page in its language.
    for path in (p for p in files if p.endswith(".html")):
        doc = html.fromstring(files[path])
        for img in doc.xpath("//img"):
            assert img.get("width", "").isdigit() and img.get("height", "").isdigit(), path
        if path != "404.html":
            signup = doc.xpath("//a[@class='signup']/@href")
            language = path.split("/")[0] if path.split("/")[0] in LANGUAGES else "ja"
            assert signup == [MAIL if language == "ja" else f"{MAIL}?lang={language}"], path


def test_opened_from_disk_the_site_is_styled_and_navigable(public, tmp_path):
    """A real Chromium opens public/index.html as file://: the stylesheet applies (seen in a
    screenshot) and links lead to pages, not folder listings. Without Chromium this fails."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 700})
            page.goto((public / "index.html").as_uri())
            shot = page.screenshot(path=str(tmp_path / "home.png"), clip={"x": 0, "y": 0, "width": 64, "height": 8})
            # The header band's colour (#f3f6f9 in koho.css): an unstyled page is white there.
            assert (0xF3, 0xF6, 0xF9) in png_pixels(shot)
            assert page.evaluate("getComputedStyle(document.querySelector('main')).maxWidth") == "736px"

            page.click("header.site nav >> text=区報（号別）")
            assert page.url.endswith("/bulletin/index.html") and page.locator("h1").inner_text() == "区報（号別）"
            page.click("ul.issues a >> nth=0")
            page.click("ul.articles a >> nth=0")
            assert "/articles/" in page.url and page.locator("article h1").count() == 1
            page.click("nav.languages a[lang=en]")
            assert "/en/articles/" in page.url and page.evaluate("document.documentElement.lang") == "en"
            assert (
                page.evaluate("getComputedStyle(document.querySelector('header.site')).backgroundColor")
                == "rgb(243, 246, 249)"
            )
        finally:
            browser.close()


def test_the_404_page_works_at_any_missing_path(public):
    """Served by a real HTTP server for a deep missing path, the 404 page's stylesheet and links
    (all from the site root) are found."""

    class Site(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(public), **kwargs)

        def send_error(self, code, message=None, explain=None):
            if code != 404:
                return super().send_error(code, message, explain)
            body = (public / "404.html").read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    root = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{root}/no/such/deep/page/")
        assert missing.value.code == 404
        doc = html.fromstring(missing.value.read())
        refs = doc.xpath("//a/@href | //link/@href")
        local = [r for r in refs if r.startswith("/")]
        assert "/static/koho.css" in local and "/" in local and len(local) >= 6
        assert not [r for r in refs if not r.startswith(("/", "https://", "#"))], refs
        for ref in local:
            with urllib.request.urlopen(root + ref) as answer:
                assert answer.status == 200, ref
    finally:
        server.shutdown()
        server.server_close()


def test_the_first_publish_to_s3_without_models_is_whole(s3_env, tmp_path, prefect_harness):
    """The README's command as a process of its own, as on a fresh clone: no translation model
    installed (argostranslate's folders empty), so every language of every article is a skipped
    row, recorded before the original is planned. Those rows once made the channel look
    non-empty, and the stylesheet, topic index, 404 page and robots.txt were never written.
    Here the archive is on S3 (moto), and every reference resolves among its objects."""
    from prefect.settings import PREFECT_API_URL

    (tmp_path / "work").mkdir()
    shutil.copytree(CONTENT, tmp_path / "work" / "content")
    empty = tmp_path / "argos"
    env = {
        **os.environ,
        **prefect_env.DEFAULTS,
        "KOHO_ARCHIVE_URL": f"s3://{s3_env}/site",
        "KOHO_CHANNELS": WITHOUT_AUDIO,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "COLUMNS": "250",
        "XDG_DATA_HOME": str(empty / "data"),
        "XDG_CONFIG_HOME": str(empty / "config"),
        "XDG_CACHE_HOME": str(empty / "cache"),
    }
    done = subprocess.run(
        [sys.executable, "-c", "from koho.cli import main; main()", "publish"],
        cwd=tmp_path / "work",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "translate-ja_en" in done.stdout, done.stdout  # the missing model is named
    files = read_s3(boto3.client("s3"), s3_env, "site")
    report = crawl(files, BASE, outside=(MAIL,))
    assert report.broken == [] and report.checked > 500
    assert {
        "static/koho.css",
        "static/favicon.svg",
        "404.html",
        "robots.txt",
        "favicon.ico",
        "topics/index.html",
    } <= set(files)
    assert not any(p.startswith("en/") for p in files)
    assert not (tmp_path / "work" / "public").exists()


def png_pixels(data: bytes) -> set[tuple[int, int, int]]:
    """The RGB colours of an 8-bit RGB(A), non-interlaced PNG (what Chromium's screenshots are)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    step = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * step
    rows, previous, at = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[at], bytearray(raw[at + 1 : at + 1 + stride])
        at += 1 + stride
        for i in range(stride):  # undo the PNG filter of this row
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(line)
        previous = line
    return {tuple(row[i : i + 3]) for row in rows for i in range(0, stride, step)}
