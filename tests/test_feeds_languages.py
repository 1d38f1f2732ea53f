"""One RSS and one Atom feed per translated edition, with the language set and the notice."""

from __future__ import annotations

import feedparser
import pytest
from lxml import etree

from channels.feeds import FeedsChannel
from koho.channel import PlanContext
from koho.delivery import State
from koho.i18n import words
from tests.translated import NOW, corpus, live_with, translate

ALL = ("en", "zh", "ko", "th", "pt", "es", "id", "vi")
BASE = "https://koho.example.city.lg.jp/"


def context(live) -> PlanContext:
    return PlanContext(site=corpus().site, now=NOW, live=live, published=frozenset(a.id for a in live.values()))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("feeds")
    live = live_with(ALL)
    channel = FeedsChannel(f"file://{folder}")
    receipts = channel.deliver(channel.plan_all(context(live), "build-test"))
    assert {r.state for r in receipts} == {State.SENT}
    return folder, live


@pytest.mark.parametrize("lang", ALL)
def test_each_language_has_valid_rss_and_atom(built, lang):
    folder, live = built
    originals = [a for a in live.values() if a.language == "ja"]
    for fmt in ("atom", "rss"):
        feed = feedparser.parse((folder / "feeds" / lang / f"{fmt}.xml").read_bytes())
        assert not feed.bozo, feed.get("bozo_exception")
        assert feed.feed.language == {"zh": "zh-Hans"}.get(lang, lang), fmt
        if fmt == "atom":
            assert {(link.rel, link.href) for link in feed.feed.links} >= {("alternate", f"{BASE}{lang}/")}
        assert len(feed.entries) == min(len(originals), corpus().site.feed_entries)
        entry = feed.entries[0]
        newest = max(originals, key=lambda a: (a.publish_at, a.id))
        assert entry.title == translate(newest, lang).title
        assert entry.link == f"{BASE}{lang}/articles/{newest.id}/"
        assert entry.id.endswith(f":{lang}/articles/{newest.id}")
        content = entry.content[0].value
        assert words(lang).machine in content and f'href="{BASE}articles/{newest.id}/"' in content


def test_japanese_feeds_keep_only_japanese_entries(built):
    folder, live = built
    feed = feedparser.parse((folder / "feeds" / "atom.xml").read_bytes())
    assert feed.feed.language == "ja"
    assert {e.link for e in feed.entries} <= {f"{BASE}articles/{a.id}/" for a in live.values()}
    assert not any("machine-translation" in e.content[0].value for e in feed.entries)
    assert not (folder / "feeds" / "topics" / "bousai" / "en").exists()


def test_translation_plans_its_language_feeds_only(built):
    folder, live = built
    article = live["sogo-bousai-kunren-2026@th"]
    channel = FeedsChannel(f"file://{folder}")
    planned = channel.plan(article, context(live))
    assert [d.target for d in planned] == ["feeds/th/atom.xml", "feeds/th/rss.xml"]
    assert {d.language for d in planned} == {"th"}
    # Same bytes as the full build: re-running writes nothing.
    assert {r.state for r in channel.deliver(planned)} == {State.SKIPPED}
    feed = feedparser.parse(planned[0].body())
    image = next(e for e in feed.entries if e.link.endswith("/sogo-bousai-kunren-2026/"))
    assert 'alt="ประกาศ: ' in image.content[0].value


@pytest.mark.parametrize("lang", ["ja", "en", "ko"])
def test_rss_channel_link_is_the_website_and_topics_are_named_in_the_feeds_language(built, lang):
    """RSS 2.0's channel <link> is the website (not the feed); categories use site.yaml's names."""
    folder, _ = built
    prefix = "" if lang == "ja" else f"{lang}/"
    rss = etree.fromstring((folder / "feeds" / prefix / "rss.xml").read_bytes())
    assert rss.findtext("channel/link") == f"{BASE}{prefix}"
    labels = corpus().site.topics_in(lang)
    atom = etree.fromstring((folder / "feeds" / prefix / "atom.xml").read_bytes())
    categories = atom.findall(".//{http://www.w3.org/2005/Atom}category")
    assert categories and all(c.get("label") == labels[c.get("term")] for c in categories)
    # The publisher's name is Japanese: a translated Atom feed says so.
    author = atom.find("{http://www.w3.org/2005/Atom}author")
    assert author.get("{http://www.w3.org/XML/1998/namespace}lang") == (None if lang == "ja" else "ja")
