"""publish-due as time passes, through the real flows, a file store and the injected clock.

Pages that change with time alone are written again when their moment passes, with nothing
published: the urgent box leaves the home pages (Japanese and English) when the urgency ends,
and an issue page links its e-book once the issue has appeared. A run before such a moment
writes nothing. Every run leaves its artifact, a run with nothing due saying so and naming the
next embargo, and `koho publish-due` says the same in the reader's language.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from lxml import html
from typer.testing import CliRunner

pytestmark = pytest.mark.usefixtures("prefect_harness", "argos_home")

#: An urgent notice published an hour before the pinned moment (2026-11-28 12:00 JST), current
#: until 18:00 that day.
URGENT = "teiden-kyusui"
NOTICE = """---
title: 停電による給水所を開設しました
publish_at: 2026-11-28 11:00
priority: urgent
urgent_until: 2026-11-28 18:00
topics: [bousai]
---
区内の一部で停電が続いています。給水所を開設しました。
"""
JST = timezone(timedelta(hours=9))
#: The sample article embargoed past the pinned moment, and its issue.
EMBARGOED = "nerima-hotline-2026-12"
ISSUE = "2026-12-01"


@pytest.fixture
def site(workspace, monkeypatch):
    """The sample content plus the urgent notice, published in Japanese and English to the
    archive and e-books; the public folder."""
    from flows.publish import publish_article

    monkeypatch.setenv("KOHO_CHANNELS", "archive,ebook")
    monkeypatch.setenv("KOHO_LANGUAGES", "en")
    (workspace / "content" / "articles" / "2026" / f"{URGENT}.md").write_text(NOTICE, encoding="utf-8")
    publish_article(paths=[str(workspace / "content" / "articles")])
    return workspace / "public"


def home(public, language: str = "ja") -> html.HtmlElement:
    return html.fromstring((public / ("index.html" if language == "ja" else f"{language}/index.html")).read_bytes())


def urgent_links(doc: html.HtmlElement) -> list[str]:
    """The articles in the urgent box, by id (the English edition links ``../en/articles/…``)."""
    return [href.split("/")[-2] for href in doc.xpath("//section[@class='urgent']//a/@href")]


def listed(doc: html.HtmlElement) -> list[str]:
    return [href.split("/")[-2] for href in doc.xpath("//section[@aria-labelledby='latest']//a/@href")]


def files(public) -> dict:
    return {p: p.stat().st_mtime_ns for p in public.rglob("*") if p.is_file()}


def latest_artifact():
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    async def read():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["koho-deliveries"])),
                sort=ArtifactSort.CREATED_DESC,
                limit=1,
            )

    return asyncio.run(read())[0]


def test_the_urgent_box_leaves_the_home_pages_when_the_urgency_ends(site, clock):
    from flows.publish import publish_due

    assert urgent_links(home(site)) == [URGENT] and urgent_links(home(site, "en")) == [URGENT]

    clock.advance(hours=5)  # 17:00, an hour before the end: nothing changes, nothing is written
    before = files(site)
    assert publish_due() == []
    assert files(site) == before

    clock.advance(hours=2)  # 19:00: the urgency ended an hour ago, nothing was published since
    outcomes = publish_due()
    assert [(o.channel, o.item_id) for o in outcomes] == [("archive", "_site")]
    assert outcomes[0].count("sent") == 2 and "index.html" in outcomes[0].note
    for language in ("ja", "en"):
        doc = home(site, language)
        assert urgent_links(doc) == [] and URGENT in listed(doc), language
    assert "緊急のお知らせ" not in (site / "index.html").read_text(encoding="utf-8")
    # Only the home pages were written; the notice's own page still says it was urgent news.
    assert {p.relative_to(site).as_posix() for p, t in files(site).items() if before.get(p) != t} == {
        "index.html",
        "en/index.html",
    }

    clock.advance(minutes=10)
    assert publish_due() == [], "the refresh is recorded: the next run has nothing to do"


def test_an_issue_page_links_its_e_book_once_the_issue_appears(site, clock):
    from flows.publish import publish_due

    # The embargoed article of the 12-01 issue goes out (and the urgent box of the 28th leaves).
    clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=JST))
    assert {o.item_id for o in publish_due()} == {EMBARGOED, "_site"}
    issue_page = site / "bulletin" / ISSUE / "index.html"
    assert "kuho-2026-12-01-ja.epub" not in issue_page.read_text(encoding="utf-8")

    clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=JST))  # the issue appeared at 07:00
    outcomes = publish_due()
    assert {(o.channel, o.item_id) for o in outcomes} == {
        ("ebook", f"issue-{ISSUE}"),
        ("archive", "_site"),
    }
    for language, page in (("ja", issue_page), ("en", site / "en" / "bulletin" / ISSUE / "index.html")):
        link = f"ebooks/{ISSUE}/kuho-{ISSUE}-{language}.epub"
        assert link in page.read_text(encoding="utf-8") and (site / link).is_file(), language


def test_a_run_with_nothing_due_leaves_an_artifact_naming_the_next_embargo(site, clock, cli_env, monkeypatch):
    from flows.publish import publish_due

    clock.advance(minutes=10)
    assert publish_due() == []
    artifact = latest_artifact()
    assert artifact.type == "markdown"
    assert "Nothing due at 2026-11-28 12:10 JST" in artifact.data
    assert f"Next to be published: {EMBARGOED} (" in artifact.data and "at 2026-11-30 09:00 JST" in artifact.data

    for name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    ja = runner.invoke(app(), ["publish-due"], env={"LANG": "ja_JP.UTF-8", "COLUMNS": "250"})
    assert ja.exit_code == 0, ja.output
    assert "2026-11-28 12:10 JST 現在、公開時刻を迎えた未配信の記事はありません" in ja.output, ja.output
    assert f"次の公開予定: {EMBARGOED}（" in ja.output and "は 2026-11-30 09:00 JST に公開されます" in ja.output

    # Past the last embargo (the draft waits for nobody): nothing is waiting.
    clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=JST))
    publish_due()
    clock.advance(minutes=10)
    en = runner.invoke(app(), ["publish-due"], env={"LANG": "C.UTF-8", "COLUMNS": "250"})
    assert en.exit_code == 0, en.output
    assert "Nothing due at 2026-11-30 10:10 JST" in en.output
    # At the pinned 2026-11-30 10:10 (whatever the machine's date) the sample content's next is
    # its press release, mailed to the media on 2026-12-08 (tests/test_press.py: the moments after).
    waiting = "Next to be published: bousai-kyotei-konbini ("
    assert waiting in en.output and "at 2026-12-08 14:00 JST" in en.output, en.output
    assert waiting in latest_artifact().data


def app():
    from koho.cli import app

    return app
