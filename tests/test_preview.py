"""``koho preview`` in headless Chromium: the page the command serves on loopback shows every
channel's panel as the channels plan it, the X meter turns red past 280, a saved edit shows
after the page reloads itself; ``--out`` writes the same page as files; a check problem is
shown beside the channel it affects; nothing reaches the ledger."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from koho.cli import app
from koho.cli_preview import _renderer
from koho.preview_server import PreviewServer
from koho.settings import Settings
from tests.validators.tools import BROWSER_ARGS, CHROMIUM

ARTICLE = Path("content/articles/2026/jitensha-tonan-boushi.md")
TITLE = "自転車盗難が増えています 短時間でも必ず「ツーロック」を"
CHANNELS = ("archive", "mail", "x", "facebook", "line", "youtube", "ebook")
RED = "rgb(176, 0, 32)"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is missing: run `sh tests/system-deps.sh`")
    with sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def served(workspace):
    """``koho preview``'s server for the sample article, on a free loopback port."""

    def start(article: Path = ARTICLE) -> PreviewServer:
        settings = Settings()
        server = PreviewServer(_renderer(settings, article), [article, settings.content_dir / "site.yaml"])
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    started: list[tuple[PreviewServer, threading.Thread]] = []
    yield start
    for server, thread in started:
        server.shutdown()
        thread.join(timeout=10)


def _page(browser, url: str):
    page = browser.new_page()
    # Only the preview's own server: the mail's absolute links point at the public site.
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith((url, "about:")) else r.abort())
    page.goto(url)
    return page


def _rows(workspace: Path) -> int:
    """Rows the ledger holds of deliveries, first-seen revisions and plans."""
    from sqlalchemy import create_engine, inspect, text

    db = workspace / ".koho" / "koho.db"
    if not db.exists():
        return 0
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names()) & {"deliveries", "article_revisions", "plans"}
            return sum(int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables)
    finally:
        engine.dispose()


def test_every_channel_panel_shows_what_it_would_send(browser, served, workspace):
    server = served()
    page = _page(browser, server.url)
    try:
        assert page.locator("html").get_attribute("lang") == "ja"
        assert TITLE in page.locator("h1").inner_text()
        for channel in CHANNELS:
            panel = page.locator(f"#panel-{channel}")
            assert panel.is_visible(), channel
            assert panel.locator("h2").inner_text().strip(), channel
        # The archive's own page, in a frame, with its stylesheet served beside it.
        archive = page.frame_locator("#panel-archive iframe").first
        assert TITLE in archive.locator("h1").inner_text()
        # The mail as a client shows it: subject, the HTML part sandboxed, the text part.
        mail = page.locator("#panel-mail article").first
        assert mail.locator(".subject").inner_text() == TITLE
        frame = mail.locator("iframe")
        assert frame.get_attribute("sandbox") == ""
        assert TITLE in page.frame_locator("#panel-mail article iframe").first.locator("body").inner_text()
        assert "ツーロック" in mail.locator(".text-part").inner_text()
        # X: the post and its weighted length against 280, within it.
        meter = page.locator("#panel-x .meter").first
        assert meter.get_attribute("data-limit") == "280"
        assert int(meter.get_attribute("data-used") or 0) <= 280
        assert "over" not in (meter.get_attribute("class") or "")
        assert (
            "https://koho.example.city.lg.jp/articles/jitensha-tonan-boushi/"
            in page.locator("#panel-x pre").inner_text()
        )
        assert TITLE in page.locator("#panel-facebook pre").inner_text()
        assert "区報" in page.locator("#panel-line pre").inner_text()  # the broadcast
        assert "youtube" in page.locator("#panel-youtube .note").inner_text()
        chapter = page.frame_locator("#panel-ebook iframe").first
        assert TITLE in chapter.locator("body").inner_text()
        # Every form control has a label; the English page is there too.
        assert page.locator("meter").count() == page.locator("label").count()
        page.goto(server.url + "?lang=en")
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.locator("#h-x").inner_text() == "X post"
    finally:
        page.close()
    assert _rows(workspace) == 0  # nothing recorded


def test_x_meter_turns_red_past_280_and_the_check_problem_is_beside_x(browser, served, workspace):
    text = ARTICLE.read_text(encoding="utf-8")
    ARTICLE.write_text(text.replace("status: ready\n", "status: ready\nx:\n  text: " + "盗" * 140 + "\n"), "utf-8")
    page = _page(browser, served().url)
    try:
        meter = page.locator("#panel-x .meter").first
        assert "over" in (meter.get_attribute("class") or "")
        assert int(meter.get_attribute("data-used") or 0) > 280
        assert meter.evaluate("e => getComputedStyle(e).color") == RED
        problem = page.locator("#panel-x .problems li")
        assert "x.text" in problem.inner_text()
        assert page.locator("#panel-facebook .problems").count() == 0
        assert page.locator("#panel-archive iframe").count() == 1  # the rest is still previewed
    finally:
        page.close()


def test_a_check_problem_is_shown_beside_the_channel_it_affects(browser, served, workspace):
    text = ARTICLE.read_text(encoding="utf-8")
    ARTICLE.write_text(text.replace("status: ready\n", "status: ready\nyoutube:\n  video_id: short\n"), "utf-8")
    page = _page(browser, served().url)
    try:
        assert "youtube.video_id" in page.locator("#panel-youtube .problems").inner_text()
        assert page.locator("#panel-x .problems").count() == 0
        assert "problem" in (page.locator("#panel-youtube").get_attribute("class") or "")
    finally:
        page.close()


def test_an_edit_on_disk_shows_after_the_page_reloads_itself(browser, served, workspace):
    page = _page(browser, served().url)
    try:
        assert TITLE in page.locator("h1").inner_text()
        text = ARTICLE.read_text(encoding="utf-8")
        ARTICLE.write_text(text.replace(f"title: {TITLE}", "title: 自転車の盗難にご注意ください"), "utf-8")
        stat = ARTICLE.stat()
        os.utime(ARTICLE, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a coarse clock still sees it
        # The page polls the file's version and reloads itself: wait for the new title to appear.
        page.wait_for_function(
            "() => document.querySelector('h1').textContent.includes('自転車の盗難にご注意ください')"
        )
        assert "自転車の盗難にご注意ください" in page.locator("#panel-x pre").inner_text()
    finally:
        page.close()


def test_out_writes_the_same_page_as_static_files(browser, workspace):
    out = workspace / "preview"
    result = CliRunner().invoke(app, ["preview", "--out", str(out), str(ARTICLE)])
    assert result.exit_code == 0, result.output
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'lang="ja"' in index and "data-version" not in index  # no reload script from disk
    assert (out / "en.html").is_file()
    for link in re.findall(r'(?:src|href)="([^"#:?]+)"', index):
        assert (out / link).is_file(), link
    page = browser.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "about:")) else r.abort())
    try:
        page.goto((out / "index.html").as_uri())
        for channel in CHANNELS:
            assert page.locator(f"#panel-{channel}").is_visible()
        assert TITLE in page.frame_locator("#panel-archive iframe").first.locator("h1").inner_text()
    finally:
        page.close()
    assert _rows(workspace) == 0


def test_each_translated_edition_is_previewed_once_its_model_is_installed(workspace, argos_home, monkeypatch):
    from flows.preview import gather

    monkeypatch.setenv("KOHO_LANGUAGES", "en,ko")
    made = gather(Settings(), ARTICLE)
    panels = {p.channel: p for p in made.panels}
    pages = {s.language for s in panels["archive"].shown}
    assert pages == {"ja", "en", "ko"}
    assert not panels["archive"].notes  # nothing said missing
    assert {s.language for s in panels["mail"].shown if s.kind == "mail"} >= {"ja", "en", "ko"}
    english = next(s for s in panels["archive"].shown if s.language == "en")
    assert english.path == "site/en/articles/jitensha-tonan-boushi/index.html" and english.path in made.files
    assert {s.language for s in panels["ebook"].shown} == {"ja", "en", "ko"}


def test_a_glossary_problem_is_shown_for_every_channel(workspace, monkeypatch):
    from flows.preview import gather

    monkeypatch.setenv("KOHO_LANGUAGES", "en")
    glossary = Path("content/glossary.yaml")
    glossary.write_text(glossary.read_text(encoding="utf-8") + "\n  - term: [\n", encoding="utf-8")
    made = gather(Settings(), ARTICLE)
    assert any(Path(p.path).name == "glossary.yaml" for p in made.problems)
    assert all(p.said and not p.shown for p in made.panels)  # no run starts with a broken glossary


def test_the_page_passes_axe_core_in_japanese_and_english(browser, workspace):
    from tests.validators.tools import tool

    out = workspace / "preview"
    assert CliRunner().invoke(app, ["preview", "--out", str(out), str(ARTICLE)]).exit_code == 0
    script = tool("axe-core/axe.min.js")  # the validators' locked axe-core, in this module's browser
    found = {}
    for name in ("index.html", "en.html"):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "about:")) else r.abort())
        try:
            page.goto((out / name).as_uri())
            page.add_script_tag(path=str(script))
            violations = page.evaluate("async () => (await axe.run(document)).violations")
        finally:
            page.close()
        found[name] = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    assert not any(found.values()), found


def test_the_youtube_description_is_counted_in_bytes_against_5000(workspace):
    from flows.preview import gather

    made = gather(Settings(), Path("content/articles/2026/nerima-hotline-2026-12.md"))
    youtube = next(p for p in made.panels if p.channel == "youtube")
    meter = youtube.shown[0].meter
    assert meter is not None and (meter.unit, meter.limit) == ("bytes", 5000)
    assert meter.used == len(youtube.shown[0].text.encode("utf-8"))


def test_a_press_release_is_previewed_as_the_site_shows_it_after_its_embargo(workspace):
    from flows.preview import gather

    made = gather(Settings(), Path("content/articles/press/2026/bousai-kyotei-konbini.md"))
    assert made.when == "2026-12-10 05:00 JST"  # its embargo's end, not its release to the media
    archive = next(p for p in made.panels if p.channel == "archive")
    assert archive.shown and not archive.problems
