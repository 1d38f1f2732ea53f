"""Whole-pipeline runs through real Prefect flows (test harness) on a copy of the sample content."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest

from koho.bulletin import ISSUE_PREFIX
from koho.clock import now as koho_now
from koho.errors import ContentInvalid
from koho.ledger import Ledger
from koho.reader import read_corpus
from koho.settings import Settings
from koho.site import load_site
from tests.crawl import sitemap_text

pytestmark = pytest.mark.usefixtures("prefect_harness")


def publish(*paths: str, **kwargs):
    from flows.publish import publish_article

    return publish_article(paths=list(paths) or [os.environ["KOHO_CONTENT_DIR"] + "/articles"], **kwargs)


def ledger() -> Ledger:
    return Ledger(Settings().db_url())


def live_articles():
    settings = Settings()
    corpus = read_corpus(settings.content_dir, load_site(settings.content_dir))
    now = koho_now()
    return corpus, [a for a in corpus.articles.values() if a.is_due(now)]


def set_field(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def article_file(workspace: Path, article_id: str) -> Path:
    return next((workspace / "content" / "articles").rglob(f"{article_id}.md"))


def test_publish_twice_then_edit_one(workspace, clock):
    corpus, live = live_articles()
    outcomes = publish()
    public = workspace / "public"
    for article in live:
        page = (public / "articles" / article.id / "index.html").read_text(encoding="utf-8")
        assert f"<h1>{article.title}</h1>" in page
        assert '<html lang="ja">' in page
        assert f'<link rel="canonical" href="{corpus.site.url("articles/" + article.id + "/")}">' in page
    held = [a for a in corpus.articles.values() if a not in live]
    assert held, "the samples include a draft"
    for article in held:
        assert not (public / "articles" / article.id).exists()
    assert sum(o.count("sent") for o in outcomes) > 0
    rows = ledger().rows()
    assert rows and all(r["state"] in ("sent", "skipped") for r in rows)
    first_count = len(rows)

    # Second run: nothing new is recorded and nothing is sent.
    again = publish()
    assert again and sum(len(o.receipts) for o in again) == 0
    assert all(
        o.note in ("nothing to send: already delivered", "nothing to deliver")
        or o.note.startswith(("draft", "embargoed"))
        for o in again
    )
    assert len(ledger().rows()) == first_count

    # Edit one article: only its pages and feeds get new rows; other articles are untouched.
    target = live[0]
    before = {p: p.read_bytes() for p in public.rglob("*") if p.is_file()}
    known = {r["key"] for r in ledger().rows()}
    clock.advance(hours=1)  # the edit comes later: its feed entry says when
    set_field(article_file(workspace, target.id), "\n## ", "\n\n追記：内容を一部更新しました。\n\n## ")
    third = publish()
    new_rows = [r for r in ledger().rows() if r["key"] not in known]
    # Only the edited article's new revision, and the e-book of its 区報 issue (the ebook channel
    # is on by default); posts and mail keyed "once" are not made again.
    # ... and the search index of its year, made once at the run's end (files of the site, "_site").
    issue = {ISSUE_PREFIX + target.bulletin.isoformat()} if target.bulletin else set()
    assert new_rows and {r["article_id"] for r in new_rows} == {target.id, "_site"} | issue
    assert all(r["revision"] != "once" for r in new_rows)
    # Its translations are touched too (outcomes "id (en)"; rows naming a missing model count).
    touched = {o.item_id for o in third if o.receipts}
    assert touched == {target.id, "_site"} | issue
    changed = {
        p.relative_to(public).as_posix() for p in public.rglob("*") if p.is_file() and before.get(p) != p.read_bytes()
    }
    assert f"articles/{target.id}/index.html" in changed
    assert changed <= {r["target"] for r in new_rows}
    assert "追記" in (public / "articles" / target.id / "index.html").read_text(encoding="utf-8")

    feed = feedparser.parse((public / "feeds" / "atom.xml").read_bytes())
    entry = next(e for e in feed.entries if e.link.endswith(f"/articles/{target.id}/"))
    assert entry.id.startswith("tag:") and entry.id.endswith(f":articles/{target.id}")
    assert entry.updated_parsed > entry.published_parsed
    assert "追記" in entry.content[0].value


def test_feeds_are_valid_and_per_topic(workspace):
    corpus, live = live_articles()
    publish()
    public = workspace / "public" / "feeds"
    for fmt in ("atom", "rss"):
        feed = feedparser.parse((public / f"{fmt}.xml").read_bytes())
        assert not feed.bozo, feed.get("bozo_exception")
        assert len(feed.entries) == min(len(live), corpus.site.feed_entries)
        newest = max(live, key=lambda a: (a.publish_at, a.id))
        assert feed.entries[0].title == newest.title
        # Full HTML in both formats (Atom content, RSS content:encoded), not just the summary.
        assert "<p>" in feed.entries[0].content[0].value, fmt
        assert feed.entries[0].summary == newest.summary, fmt
    for topic in corpus.site.topics:
        feed = feedparser.parse((public / "topics" / topic / "atom.xml").read_bytes())
        assert not feed.bozo
        expected = {a.title for a in live if topic in a.topics}
        assert {e.title for e in feed.entries} == expected
    ids_before = [e.id for e in feedparser.parse((public / "rss.xml").read_bytes()).entries]
    publish()
    assert [e.id for e in feedparser.parse((public / "rss.xml").read_bytes()).entries] == ids_before


def test_withdrawn_article_is_taken_down_everywhere(workspace):
    _corpus, live = live_articles()
    publish()
    victim = next(a for a in live if a.topics)
    set_field(article_file(workspace, victim.id), "status: ready", "status: withdrawn")
    publish()
    public = workspace / "public"
    page = (public / "articles" / victim.id / "index.html").read_text(encoding="utf-8")
    assert "この記事の掲載は終了しました" in page and "noindex" in page
    assert f"articles/{victim.id}/" not in (public / "index.html").read_text(encoding="utf-8")
    assert f"articles/{victim.id}/" not in sitemap_text(public)
    topic_page = (public / "topics" / victim.topics[0] / "index.html").read_text(encoding="utf-8")
    assert f"articles/{victim.id}/" not in topic_page
    for feed_file in [public / "feeds" / "atom.xml", public / "feeds" / "topics" / victim.topics[0] / "rss.xml"]:
        assert victim.title not in {e.title for e in feedparser.parse(feed_file.read_bytes()).entries}


def test_embargo_then_publish_due(workspace):
    from flows.publish import publish_due

    path = article_file(workspace, "conbini-kofu-service")
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"publish_at: .*", "publish_at: 2099-01-01T09:00:00+09:00", text, count=1), encoding="utf-8")
    outcomes = publish()
    held = [o for o in outcomes if o.item_id == "conbini-kofu-service"]
    assert held and all(o.note.startswith("embargoed until 2099-01-01 09:00") for o in held)
    assert not (workspace / "public" / "articles" / "conbini-kofu-service").exists()
    assert not [r for r in ledger().rows() if r["article_id"] == "conbini-kofu-service"]
    assert publish_due() == [], "everything due was already published"
    path.write_text(re.sub(r"publish_at: .*", "publish_at: 2026-01-05T09:00:00+09:00", text, count=1), encoding="utf-8")
    due = publish_due()
    # Now published before its issue appeared, it joins the 11-21 issue: the issue is planned again.
    # (and the search index of its year: "_site")
    assert {o.item_id for o in due} == {"conbini-kofu-service", "issue-2026-11-21", "_site"}
    assert (workspace / "public" / "articles" / "conbini-kofu-service" / "index.html").is_file()
    assert publish_due() == []


def test_invalid_content_publishes_nothing(workspace):
    set_field(article_file(workspace, "conbini-kofu-service"), "topics:", "topicz:")
    with pytest.raises(ContentInvalid) as caught:
        publish()
    assert any(e.field == "topicz" for e in caught.value.errors)
    assert not (workspace / "public").exists()
    assert not (workspace / ".koho" / "koho.db").exists() or ledger().rows() == []


def test_permanent_write_failure_is_recorded_with_reason(workspace):
    public = workspace / "public"
    public.mkdir()
    (public / "articles").write_text("not a folder")  # every article page write must fail
    outcomes = publish()
    failed = [r for r in ledger().rows() if r["state"] == "failed"]
    assert failed and all(r["target"].startswith("articles/") for r in failed)
    assert all("cannot write" in r["detail"] for r in failed)
    assert sum(o.count("failed") for o in outcomes) == len(failed)


def test_run_leaves_a_table_artifact(workspace):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    publish()

    async def latest():
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["koho-deliveries"])),
                # The newest first: the session's server holds every earlier test's runs too.
                sort=ArtifactSort.CREATED_DESC,
            )
            return found

    artifacts = asyncio.run(latest())
    assert artifacts and artifacts[0].type == "table"
    assert "archive" in str(artifacts[0].data) and "sent" in str(artifacts[0].data)


def test_build_then_publish_one_keeps_every_listing(workspace):
    from flows.publish import build_site

    corpus, live = live_articles()
    first = build_site(channels=["archive", "feeds"])
    assert all(o.count("sent") for o in first)
    assert build_site(channels=["archive", "feeds"])[0].note.startswith("nothing to write")
    new = workspace / "content" / "articles" / "2026" / "kouen-seisou.md"
    new.write_text(
        "---\ntitle: 区立公園の一斉清掃にご協力ください\npublish_at: 2026-01-04T09:00:00+09:00\n"
        "topics: [kusei]\nbulletin: 2026-01-11\n---\n清掃活動に参加しませんか。\n",
        encoding="utf-8",
    )
    outcomes = publish(str(new))
    # Its issue's digest, the search index of its year ("_site"); outcomes of its translations
    # read "kouen-seisou (en)".
    assert {o.item_id for o in outcomes} == {"kouen-seisou", "issue-2026-01-11", "_site"}
    public = workspace / "public"
    sitemap = sitemap_text(public)
    assert all(f"articles/{a.id}/" in sitemap for a in live) and "articles/kouen-seisou/" in sitemap
    feed = feedparser.parse((public / "feeds" / "atom.xml").read_bytes())
    assert len(feed.entries) == min(len(live) + 1, corpus.site.feed_entries)
    year = (public / "2026" / "index.html").read_text(encoding="utf-8")
    of_2026 = [a for a in live if a.publish_at.year == 2026]
    assert of_2026 and all(f"articles/{a.id}/" in year for a in of_2026)


def test_koho_build_gives_a_store_back_the_files_it_lost(workspace, cli_env, monkeypatch):
    """The ledger saying "sent" is not enough: `koho build` checks that the store still holds
    every planned file (pages, feeds, e-books) and writes the missing ones again, without
    --force; a build of an unchanged, complete site writes nothing."""
    from typer.testing import CliRunner

    from koho.cli import app

    monkeypatch.setenv("KOHO_CHANNELS", "archive,feeds,ebook")
    runner = CliRunner()
    first = runner.invoke(app, ["build"], env={"COLUMNS": "250"})
    assert first.exit_code == 0, first.output
    public = workspace / "public"
    lost = [public / "index.html", public / "feeds" / "atom.xml", next((public / "ebooks").rglob("*.epub"))]
    kept = {p: p.read_bytes() for p in lost}
    others = {p: p.stat().st_mtime_ns for p in public.rglob("*") if p.is_file() and p not in kept}
    for path in lost:
        path.unlink()

    again = runner.invoke(app, ["build"], env={"COLUMNS": "250"})
    assert again.exit_code == 0 and "missing from the store written again" in again.output, again.output
    assert all(p.read_bytes() == data for p, data in kept.items())
    assert all(p.stat().st_mtime_ns == t for p, t in others.items()), "only the missing files were written"
    rows = ledger().rows()
    assert rows and all(r["state"] in ("sent", "skipped") for r in rows)

    unchanged = runner.invoke(app, ["build"], env={"COLUMNS": "250"})
    assert unchanged.exit_code == 0 and "every file present" in unchanged.output, unchanged.output


def test_home_page_puts_urgent_notices_first_while_they_are_current(workspace, clock):
    _corpus, live = live_articles()
    urgent = [a for a in live if a.urgent]
    assert urgent, "the samples include an urgent notice"
    pinned = clock.now
    clock.set(urgent[0].publish_at + timedelta(hours=1))
    publish()
    home = (workspace / "public" / "index.html").read_text(encoding="utf-8")
    assert home.index("緊急のお知らせ") < home.index(f"articles/{urgent[0].id}/") < home.index("新着記事")

    # Weeks later (site.yaml: urgent_days 3), newer articles re-render the home page: the box is
    # gone, the notice is still listed.
    clock.set(pinned)
    publish()
    home = (workspace / "public" / "index.html").read_text(encoding="utf-8")
    assert "緊急のお知らせ" not in home and f"articles/{urgent[0].id}/index.html" in home
