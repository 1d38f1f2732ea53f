"""The parse cache's metadata index: a warm read builds articles from index rows and reads an
article's text only when asked; the index never outlives the file it was made from (ADR 0038)."""

from __future__ import annotations

import pickle
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

import koho.reader as reader
from koho.article import Article
from koho.article_index import HEAVY, IndexedArticle
from koho.parse_cache import ParseCache
from koho.reader import ContentChanged, read_corpus
from koho.site import load_site
from tests.conftest import CONTENT
from tests.test_reader import GOOD

OTHER = (
    GOOD.replace("防災訓練のお知らせ", "避難所の開設")
    .replace("本文です。", "二本目です。")
    .replace("[bousai]", "[bousai, kenkou]")
)


@pytest.fixture
def settled(monkeypatch):
    """Every file counts as settled: stamps are trusted at once (no racy window in a test)."""
    monkeypatch.setattr(reader, "RACY_NS", -(10**18))


def write(content: Path, name: str, text: str) -> None:
    path = content / "articles" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def index_rows(cache: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(cache / "articles.sqlite3") as db:
        return sorted(db.execute("SELECT id, revision, title FROM article_index"))


def unpickled(monkeypatch) -> list[str]:
    """Keys of the parse cache entries read from here on."""
    seen: list[str] = []
    real = ParseCache.get
    monkeypatch.setattr(ParseCache, "get", lambda self, key: seen.append(key) or real(self, key))
    return seen


def test_a_warm_read_builds_articles_from_the_index_and_reads_text_only_when_asked(
    content, tmp_path, settled, monkeypatch
):
    cache = tmp_path / "cache"
    write(content, "a.md", GOOD)
    write(content, "b.md", OTHER)
    site = load_site(content)
    cold = read_corpus(content, site, cache)
    seen = unpickled(monkeypatch)
    warm = read_corpus(content, site, cache)
    assert seen == [], "no cached article is unpickled to read the corpus"
    assert all(type(a) is IndexedArticle for a in warm.articles.values())
    assert warm.articles["b"].topics == ("bousai", "kenkou") and warm.articles["b"].title == "避難所の開設"
    assert seen == []
    assert warm.articles["a"].html == "<p>本文です。</p>" and len(seen) == 1
    assert warm.articles == cold.articles and cold.articles == warm.articles
    assert {hash(a) for a in warm.articles.values()} == {hash(a) for a in cold.articles.values()}
    assert warm.articles["a"].line_of("topics") == 5
    # Times are in the site's zone, as parsed: messages name it ("JST", not "UTC+09:00").
    assert f"{warm.articles['a'].publish_at:%Z}" == f"{cold.articles['a'].publish_at:%Z}" == "JST"


def test_an_indexed_article_pickles_copies_and_replaces_as_a_plain_article(content, tmp_path, settled):
    cache = tmp_path / "cache"
    write(content, "a.md", GOOD)
    site = load_site(content)
    read_corpus(content, site, cache)
    article = read_corpus(content, site, cache).articles["a"]
    assert isinstance(article, IndexedArticle)
    again = pickle.loads(pickle.dumps(article))
    assert type(again) is Article and again == article and again.key_lines == article.key_lines
    translated = replace(article, language="en", title="Drill", body="Text.", html="<p>Text.</p>")
    assert (translated.language, translated.title, translated.html) == ("en", "Drill", "<p>Text.</p>")
    assert translated.key_lines == article.key_lines and translated.id == "a"


def test_a_cold_read_keeps_no_article_text_in_memory(content, tmp_path):
    """Parsed articles are cached, indexed and then held as index rows: a full build's memory
    does not grow with every article's body and HTML."""
    write(content, "a.md", GOOD)
    corpus = read_corpus(content, load_site(content), tmp_path / "cache")
    article = corpus.articles["a"]
    assert isinstance(article, IndexedArticle) and not set(HEAVY) & set(vars(article))
    assert article.html == "<p>本文です。</p>" and not set(HEAVY) & set(vars(article))


def test_without_a_cache_articles_are_plain(content):
    write(content, "a.md", GOOD)
    assert type(read_corpus(content, load_site(content)).articles["a"]) is Article


def test_an_edited_file_replaces_its_row_and_a_deleted_one_drops_it(content, tmp_path, settled):
    cache = tmp_path / "cache"
    write(content, "a.md", GOOD)
    write(content, "b.md", OTHER)
    site = load_site(content)
    first = read_corpus(content, site, cache).articles
    write(
        content,
        "a.md",
        GOOD.replace("防災訓練のお知らせ", "防災訓練の日程変更").replace("本文です。", "改訂しました。"),
    )
    (content / "articles" / "b.md").unlink()
    changed = read_corpus(content, site, cache).articles
    assert set(changed) == {"a"} and changed["a"].revision != first["a"].revision
    assert changed["a"].title == "防災訓練の日程変更" and "改訂" in changed["a"].html
    assert index_rows(cache) == [("a", changed["a"].revision, "防災訓練の日程変更")]
    again = read_corpus(content, site, cache).articles
    assert again == changed and again["a"].title == "防災訓練の日程変更"


def test_a_withdrawn_or_renamed_article_is_read_as_it_is_now(content, tmp_path, settled):
    cache = tmp_path / "cache"
    write(content, "a.md", GOOD)
    site = load_site(content)
    read_corpus(content, site, cache)
    write(content, "a.md", GOOD.replace("bulletin: 2026-11-01\n", "status: withdrawn\nid: drill-2026\n"))
    read_corpus(content, site, cache)
    article = read_corpus(content, site, cache).articles["drill-2026"]
    assert isinstance(article, IndexedArticle) and article.withdrawn and article.bulletin is None
    assert [row[0] for row in index_rows(cache)] == ["drill-2026"]


def test_a_deleted_cache_is_made_again(content, tmp_path, settled):
    cache = tmp_path / "cache"
    write(content, "a.md", GOOD)
    site = load_site(content)
    first = read_corpus(content, site, cache).articles
    for name in ("articles.sqlite3", "articles.sqlite3-wal", "articles.sqlite3-shm"):
        (cache / name).unlink(missing_ok=True)
    assert read_corpus(content, site, cache).articles == first
    assert read_corpus(content, site, cache).articles == first and len(index_rows(cache)) == 1


def test_an_entry_gone_while_in_use_is_read_from_its_file_unless_the_file_changed(content, tmp_path, settled):
    """Another run may drop the cache entry an indexed article reads its text from: the file
    is parsed again if it still holds the same bytes; if not, the run stops rather than mix two
    revisions of one article."""
    cache = tmp_path / "cache"
    write(content, "a.md", GOOD)
    write(content, "b.md", OTHER)
    site = load_site(content)
    read_corpus(content, site, cache)
    articles = read_corpus(content, site, cache).articles
    with sqlite3.connect(cache / "articles.sqlite3") as db:
        db.execute("DELETE FROM entries")
    assert articles["a"].html == "<p>本文です。</p>"
    write(content, "b.md", OTHER.replace("二本目です。", "書き換えました。"))
    with pytest.raises(ContentChanged, match="b.md changed while this run was using it"):
        _ = articles["b"].html


def test_a_cache_from_before_the_index_is_indexed_on_the_next_read(content, tmp_path, settled):
    cache = tmp_path / "cache"
    write(content, "a.md", GOOD)
    site = load_site(content)
    first = read_corpus(content, site, cache).articles
    with sqlite3.connect(cache / "articles.sqlite3") as db:
        db.execute("DROP TABLE article_index")
        db.execute("DELETE FROM meta WHERE name = 'index'")
    again = read_corpus(content, site, cache).articles
    assert again == first and index_rows(cache) == [("a", first["a"].revision, "防災訓練のお知らせ")]
    assert type(read_corpus(content, site, cache).articles["a"]) is IndexedArticle


def test_a_worker_parses_a_file_again_only_if_it_still_has_the_bytes_that_were_hashed(content):
    """Past the pool's threshold the reader keeps no file's bytes: a worker reads the file again
    and refuses it if it changed since it was hashed (a first build holds none of the archive)."""
    write(content, "a.md", GOOD)
    site = load_site(content)
    path = (content / "articles" / "a.md").as_posix()
    key = reader._key(path, site, GOOD.encode())
    article, errors = reader._parse_work(key, None, path, "a", "articles/a.md", site)
    assert errors == [] and article is not None and article.html == "<p>本文です。</p>"
    write(content, "a.md", GOOD.replace("本文です。", "改訂しました。"))
    article, errors = reader._parse_work(key, None, path, "a", "articles/a.md", site)
    assert article is None and [e.message for e in errors] == ["the file changed while koho read it; run again"]


def test_the_sample_content_reads_back_the_same_from_the_index(tmp_path, settled):
    """Every field of every sample article survives the index, press releases' contact, PDFs
    and embargo included (a field the index could not hold once stopped every publish)."""
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    site = load_site(content)
    cold = read_corpus(content, site, tmp_path / "cache")
    warm = read_corpus(content, site, tmp_path / "cache")
    press = [a for a in warm.articles.values() if a.press is not None]
    assert press and all(a.press.attachments for a in press)
    assert warm.articles == cold.articles
    for article in press:
        embargo = article.press.embargo_until
        assert embargo is None or f"{embargo:%Z}" == "JST"
