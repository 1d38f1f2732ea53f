"""Press releases end to end (issue 14, ADR 0035): the media list gets each release once, over
SMTP to an aiosmtpd sink, with its PDFs byte for byte and the embargo in the Subject and on the
first line; the site and its press feed show it only after the embargo (injected clock); two
runs at once send each outlet one mail."""

from __future__ import annotations

import gzip
import threading
from collections import Counter
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import event
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from flows import driver
from koho.cli import app
from koho.ledger import Ledger
from koho.settings import Settings
from tests.clock import PINNED_NOW
from tests.peers import free_port

JST = PINNED_NOW.tzinfo
RELEASE = "content/articles/press/2026/bousai-kyotei-konbini.md"
MEDIA_LIST = """name,kind,contact,address,phone
練馬区政記者クラブ,club,幹事社 練馬 花子,club@press.example.jp,03-0000-0001
練馬新聞,outlet,社会部 石神井 一郎,desk@shimbun.example.jp,03-0000-0002
ねりまテレビ,outlet,報道部,news@tv.example.jp,
"""
OUTLETS = {"club@press.example.jp", "desk@shimbun.example.jp", "news@tv.example.jp"}
LABEL = "【解禁：12月10日(木)午前5時】"


class Sink:
    """Keeps every accepted message with its recipients."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 2.0.0 queued"

    def per_recipient(self, subject: str = LABEL) -> Counter[str]:
        """Mails per recipient whose Subject starts with ``subject`` (the release under test: the
        sample content's other release goes to the media too when publish-due finds it)."""
        with self.lock:
            return Counter(
                r
                for rcpts, raw in self.messages
                if str(message_from_bytes(raw, policy=default)["Subject"]).startswith(subject)
                for r in rcpts
            )


@pytest.fixture
def sink(monkeypatch):
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("KOHO_MAIL_URL", f"smtp://127.0.0.1:{controller.port}?connections=2")
    yield handler
    controller.stop()


@pytest.fixture
def press_env(workspace, sink, monkeypatch):
    monkeypatch.setenv("KOHO_CHANNELS", "archive,feeds,press_mail")
    (workspace / "media.csv").write_text(MEDIA_LIST, encoding="utf-8")
    result = CliRunner().invoke(app, ["media", "import", "media.csv"])
    assert result.exit_code == 0, result.output
    return workspace


def indexed(public: Path) -> str:
    """The URLs and text of every page in the search bundles (Pagefind's gzipped fragments)."""
    return "\n".join(
        gzip.decompress(f.read_bytes()).decode("utf-8", "replace") for f in public.glob("pagefind/*/fragment/*")
    )


def on_site(public: Path, article_id: str) -> dict[str, bool]:
    """Where the site shows ``article_id``: its page, the press index, the sitemap files, the
    search bundles; and whether the home page leads to the press index."""
    press = public / "press" / "index.html"
    home = public / "index.html"
    return {
        "page": (public / "articles" / article_id / "index.html").exists(),
        "press index": press.exists() and article_id in press.read_text(encoding="utf-8"),
        "sitemap": any(article_id in f.read_text(encoding="utf-8") for f in public.glob("sitemaps/*.xml")),
        "search": f"/articles/{article_id}/" in indexed(public),
        "home links the press index": home.exists() and 'href="press/index.html"' in home.read_text(encoding="utf-8"),
    }


def _run(work: driver.Work, channels: list[str] | None = None) -> None:
    driver.run(Settings(), work, channels)


def test_a_release_reaches_the_media_with_its_pdfs_and_the_site_only_after_the_embargo(press_env, sink, clock):
    public = press_env / "public"
    page = public / "articles" / "bousai-kyotei-konbini" / "index.html"

    clock.set(datetime(2026, 12, 8, 14, 1, tzinfo=JST))  # the release time: the media, not the site
    _run(driver.Work(paths=(RELEASE,)))
    assert sink.per_recipient() == Counter({a: 1 for a in OUTLETS})
    assert len(sink.messages) == 3
    for _recipients, raw in sink.messages:
        message = message_from_bytes(raw, policy=default)
        assert isinstance(message, EmailMessage)
        assert (
            message["Subject"] == LABEL + "区内のコンビニエンスストアと災害時の帰宅困難者支援に関する協定を締結します"
        )
        body = message.get_body(("plain",))
        assert body is not None and body.get_content().splitlines()[0] == LABEL
        assert "電話：03-5984-1111（内線2345）" in body.get_content()
        files = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
        assert files == {
            name: (press_env / "content" / "media" / name).read_bytes()
            for name in ("press-2026-12-08-bousai-kyotei.pdf", "press-2026-12-08-bousai-kyotei-map.pdf")
        }
        assert all(part.get_content_type() == "application/pdf" for part in message.iter_attachments())
    assert not page.exists()
    assert not (public / "press" / "index.html").exists() or "bousai-kyotei-konbini" not in (
        public / "press" / "index.html"
    ).read_text(encoding="utf-8")
    # The ledger names outlets by id only: no address, name or contact.
    rows = Ledger(Settings().db_url()).rows(article_id="bousai-kyotei-konbini")
    assert {r["channel"] for r in rows} == {"press_mail"} and {r["state"] for r in rows} == {"sent"}
    assert not any("@" in repr(r) or "練馬新聞" in repr(r) for r in rows)

    # The schedule before the embargo: the rest of the sample content goes up (with its other,
    # earlier release: the home leads to the press index), this release nowhere on the site, in
    # its sitemap or its search; and the media are not mailed again.
    clock.set(datetime(2026, 12, 10, 4, 50, tzinfo=JST))
    _run(driver.Work(due=True))
    assert on_site(public, "nerima-daikon-kekka") == dict.fromkeys(on_site(public, "x"), True)
    assert on_site(public, "bousai-kyotei-konbini") == {
        "page": False,
        "press index": False,
        "sitemap": False,
        "search": False,
        "home links the press index": True,
    }
    assert sink.per_recipient() == Counter({a: 1 for a in OUTLETS})

    # After the embargo the schedule puts it on the site, its press index and feed.
    clock.set(datetime(2026, 12, 10, 5, 1, tzinfo=JST))
    _run(driver.Work(due=True))
    assert on_site(public, "bousai-kyotei-konbini") == dict.fromkeys(on_site(public, "x"), True)
    html = page.read_text(encoding="utf-8")
    assert "防災計画課 防災計画係 練馬 太郎" in html and "press-2026-12-08-bousai-kyotei.pdf" in html
    assert (public / "media" / "press-2026-12-08-bousai-kyotei.pdf").read_bytes() == (
        press_env / "content" / "media" / "press-2026-12-08-bousai-kyotei.pdf"
    ).read_bytes()
    assert "bousai-kyotei-konbini" in (public / "press" / "index.html").read_text(encoding="utf-8")
    assert "危機管理室 防災計画課" in (public / "press" / "departments" / "index.html").read_text(encoding="utf-8")
    assert "bousai-kyotei-konbini" in (public / "feeds" / "press" / "atom.xml").read_text(encoding="utf-8")
    assert sink.per_recipient() == Counter({a: 1 for a in OUTLETS})


def test_two_runs_at_once_send_each_outlet_one_mail(press_env, sink, clock):
    clock.set(datetime(2026, 12, 8, 14, 1, tzinfo=JST))
    barrier = threading.Barrier(2, timeout=30)
    racing = threading.local()

    def hold(_conn, _cursor, statement, _params, _context, _many):
        # Both runs have recorded the rows and reach their claim before either claims.
        if getattr(racing, "on", False) and statement.lstrip().upper().startswith("UPDATE DELIVERIES"):
            racing.on = False
            barrier.wait()

    def one_run() -> Exception | None:
        racing.on = True
        try:
            _run(driver.Work(paths=(RELEASE,)), ["press_mail"])
        except Exception as exc:  # the race's outcome, reported to the test
            return exc
        return None

    event.listen(Engine, "before_cursor_execute", hold)
    try:
        threads_out: list[Exception | None] = []
        workers = [threading.Thread(target=lambda: threads_out.append(one_run())) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
    finally:
        event.remove(Engine, "before_cursor_execute", hold)
    assert threads_out == [None, None]
    assert sink.per_recipient() == Counter({a: 1 for a in OUTLETS})
    rows = Ledger(Settings().db_url()).rows(article_id="bousai-kyotei-konbini", channel="press_mail")
    assert len(rows) == 3 and {r["state"] for r in rows} == {"sent"}


def test_koho_media_exports_and_counts_the_list_and_replace_deletes_the_missing(press_env):
    runner = CliRunner()
    exported = runner.invoke(app, ["media", "export"])
    assert exported.exit_code == 0 and "desk@shimbun.example.jp" in exported.output
    counted = runner.invoke(app, ["media", "count"])
    assert counted.exit_code == 0 and "club" in counted.output
    (press_env / "short.csv").write_text("name,address\n練馬新聞,desk@shimbun.example.jp\n", encoding="utf-8")
    replaced = runner.invoke(app, ["media", "import", "short.csv", "--replace"])
    assert replaced.exit_code == 0 and "deleted 2" in replaced.output
    assert "club@press.example.jp" not in runner.invoke(app, ["media", "export"]).output
    (press_env / "bad.csv").write_text("name,address\n,nobody\n", encoding="utf-8")
    refused = runner.invoke(app, ["media", "import", "bad.csv"])
    assert refused.exit_code == 1 and "bad.csv:2: name" in refused.output
