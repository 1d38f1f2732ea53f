"""A translation that joins after its original (ADR 0006, 0009, 0010), with the tiny argos packages.

Published after its original, it relinks the Japanese pages (switcher, hreflang, sitemap); a full
build keeps the translated editions already published and publishes none by itself. The whole
sample set in nine languages through `koho publish` is tests/e2e/test_first_publish.py's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from koho.clock import now as koho_now
from koho.reader import read_corpus
from koho.site import load_site
from tests.crawl import sitemap_text
from tests.e2e.editions import alternates, page, switcher

pytestmark = pytest.mark.usefixtures("prefect_harness", "argos_home")

DAY = "2026-11-01"
ARTICLE = "sogo-bousai-kunren-2026"


def issue_files(workspace: Path) -> tuple[list[str], list[str]]:
    """The sample articles of the 2026-11-01 issue (a whole issue: its e-books can be made)."""
    content = workspace / "content"
    corpus = read_corpus(content, load_site(content))
    now = koho_now()
    chosen = sorted(
        (a for a in corpus.articles.values() if a.bulletin and a.bulletin.isoformat() == DAY and a.is_due(now)),
        key=lambda a: a.id,
    )
    assert any(a.id == ARTICLE for a in chosen)
    return [str(content / "articles" / "2026" / f"{a.id}.md") for a in chosen], [a.id for a in chosen]


def test_a_translation_published_later_relinks_the_japanese_pages(workspace, monkeypatch):
    """Published in Japanese only first; when the translations follow, the Japanese article page
    and the sitemap are rewritten with the switcher and alternates (their plans hold every language)."""
    from flows.publish import publish_article

    monkeypatch.setenv("KOHO_CHANNELS", "archive,feeds")
    files, _ = issue_files(workspace)
    one = [f for f in files if f.endswith(f"{ARTICLE}.md")]
    public = workspace / "public"
    monkeypatch.setenv("KOHO_LANGUAGES", "")
    publish_article(one)
    assert alternates(page(public, "ja", f"articles/{ARTICLE}/index.html")) == set()

    monkeypatch.setenv("KOHO_LANGUAGES", "en")
    publish_article(one)
    doc = page(public, "ja", f"articles/{ARTICLE}/index.html")
    assert alternates(doc) == {"ja", "en", "x-default"} and switcher(doc) == {"ja", "en"}
    assert 'hreflang="en"' in sitemap_text(public)
    english = page(public, "en", f"articles/{ARTICLE}/index.html")
    assert switcher(english) == {"ja", "en"} and "Nerima City" in english.text_content()


def test_full_build_keeps_the_translated_editions(workspace, monkeypatch):
    """`koho build` (the build-archive flow) renders the translations already published, with
    the same bytes incremental publishing wrote: the Japanese pages keep their switcher and
    alternates. It never publishes a translation by itself."""
    from flows.publish import build_site, publish_article

    monkeypatch.setenv("KOHO_CHANNELS", "archive,feeds")
    monkeypatch.setenv("KOHO_LANGUAGES", "en,th")
    public = workspace / "public"
    build_site(channels=["archive", "feeds"])
    assert not (public / "en").exists()  # nothing translated yet: a build publishes no translation
    files, _ = issue_files(workspace)
    publish_article([f for f in files if f.endswith(f"{ARTICLE}.md")])

    again = build_site(channels=["archive", "feeds"])
    assert all(o.receipts for o in again)  # a new build (its pages differ from the first), compared byte for byte
    written = [r.key for o in again for r in o.receipts if r.state == "sent"]
    assert written == [], written  # every page, in every language, as publishing left it
    assert sorted(p.name for p in (public / "en" / "articles").iterdir()) == [ARTICLE]
    doc = page(public, "ja", f"articles/{ARTICLE}/index.html")
    assert alternates(doc) == {"ja", "en", "th", "x-default"} and switcher(doc) == {"ja", "en", "th"}
