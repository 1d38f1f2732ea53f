"""Reading articles: every malformed input gives path:line: field: message, never a traceback."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from koho.reader import read_corpus
from koho.site import load_site
from tests.conftest import CONTENT

GOOD = """---
title: 防災訓練のお知らせ
publish_at: 2026-11-01 09:00
summary: 区内全域で総合防災訓練を行います。
topics: [bousai]
bulletin: 2026-11-01
---
本文です。
"""


def read(content: Path, files: dict[str, str | bytes]):
    for name, text in files.items():
        path = content / "articles" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return read_corpus(content, load_site(content))


def messages(corpus) -> list[str]:
    return [f"{Path(e.path).name}:{e.line}: {e.field}: {e.message}" for e in corpus.errors]


def test_valid_article_is_read_with_tokyo_time(content):
    corpus = read(content, {"drill.md": GOOD})
    assert corpus.errors == []
    article = corpus.articles["drill"]
    assert article.publish_at == datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    assert article.topics == ("bousai",) and article.status == "ready" and article.priority == "normal"
    assert article.html == "<p>本文です。</p>"


def test_bom_and_crlf_are_accepted_and_keep_the_revision(content):
    plain = read(content, {"a.md": GOOD}).articles["a"].revision
    (content / "articles" / "a.md").unlink()
    crlf = b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode()
    corpus = read(content, {"a.md": crlf})
    assert corpus.errors == []
    assert corpus.articles["a"].revision == plain


@pytest.mark.parametrize(
    "source, expected",
    [
        (b"", "x.md:1: file: the file is empty"),
        (b"title: x\n---\nbody\n", "x.md:1: front matter: the file must start with a '---' line"),
        (b"---\ntitle: x\nbody\n", "x.md:1: front matter: the front matter is not closed"),
        (b"---\n---\nbody\n", "x.md:2: front matter: the front matter is empty"),
        (
            GOOD.replace("本文です。", "---\ntitle: again\n---\n本文").encode(),
            "x.md:8: front matter: a second '---' block",
        ),
        # The line where the '[' was opened, not where the parser noticed it was never closed.
        (
            b"---\ntitle: [unclosed\npublish_at: 2026-11-01\n---\nbody\n",
            "x.md:2: front matter: this is not valid YAML: a '[' opened here is never closed",
        ),
        (
            "---\ntitle: ok\npublish_at: 2026-11-01\n---\n本文\n".encode("shift_jis") + "本文".encode("shift_jis"),
            "x.md:5: file: not valid UTF-8 (byte 0x96)",
        ),
    ],
)
def test_structural_errors(content, source, expected):
    corpus = read(content, {"x.md": source})
    assert corpus.articles == {}
    assert any(m.startswith(expected) for m in messages(corpus)), messages(corpus)


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            ("title: 防災訓練のお知らせ", "titel: 防災訓練のお知らせ"),
            "x.md:2: titel: unknown field; did you mean 'title'?",
        ),
        (("title: 防災訓練のお知らせ", "title: 123"), "x.md:2: title: expected one line of text; got the number 123"),
        (
            ("title: 防災訓練のお知らせ", "title: " + "長" * 121),
            "x.md:2: title: the title has 121 characters; at most 120",
        ),
        (("title: 防災訓練のお知らせ", "title: |\n  一行目\n  二行目"), "x.md:2: title: the title must be one line"),
        (("publish_at: 2026-11-01 09:00", "publish_at: 来週"), "x.md:3: publish_at: '来週' is not a date and time"),
        (("publish_at: 2026-11-01 09:00\n", ""), "x.md:1: publish_at: this field is required"),
        (
            ("summary: 区内全域で総合防災訓練を行います。", "summary: " + "あ" * 201),
            "x.md:4: summary: the summary has 201",
        ),
        (
            ("topics: [bousai]", "topics: bousai"),
            "x.md:5: topics: expected a list of topic keys such as [bousai, kurashi]; got the text 'bousai'",
        ),
        (("topics: [bousai]", "topics:\n  - bousai\n  - weather"), "x.md:7: topics: unknown topic 'weather'"),
        (("bulletin: 2026-11-01", "bulletin: 2026-11-02"), "x.md:6: bulletin: 2026-11-02 is not a 区報 issue date"),
        (("bulletin: 2026-11-01", "priority: high"), "x.md:6: priority: must be normal or urgent; got the text 'high'"),
        (
            ("bulletin: 2026-11-01", "status: published"),
            "x.md:6: status: must be draft, ready or withdrawn; got the text 'published'",
        ),
        (("bulletin: 2026-11-01", "id: ../../etc"), "x.md:6: id: '../../etc' is not a lowercase slug"),
        (("bulletin: 2026-11-01", "youtube:\n  video_id: short"), "x.md:7: youtube.video_id: a YouTube video id is 11"),
        (
            ("bulletin: 2026-11-01", "images:\n  - src: media/missing.png\n    alt: 地図"),
            "x.md:7: images[0].src: no such file: content/media/missing.png",
        ),
        (
            ("bulletin: 2026-11-01", "images:\n  - src: ../../secret.png\n    alt: 地図"),
            "x.md:7: images[0].src: '../../secret.png' must be a path inside content/",
        ),
        (
            ("bulletin: 2026-11-01", "images:\n  - src: media/sogo-bousai-kunren-2026-map.png\n    alt: ' '"),
            "x.md:8: images[0].alt: alt text must describe the image",
        ),
        (
            ("bulletin: 2026-11-01", "images:\n  - src: media/sogo-bousai-kunren-2026-map.png\n    atl: 地図"),
            "x.md:8: images[0].atl: unknown field; did you mean 'alt'?",
        ),
        (("summary: 区内全域で総合防災訓練を行います。", "title: 二回目"), "x.md:4: title: this key is given twice"),
        (("本文です。", "本文\n\n<script>alert(1)</script>"), "x.md:10: body: <script> is not allowed"),
        (("本文です。", "[地図](javascript:alert(1))"), "x.md:8: body: javascript URLs are not allowed"),
        (("本文です。", "![](map.png)"), "x.md:8: body: image 'map.png' has no alt text"),
        (("本文です。\n", "\n\n"), "x.md:8: body: the article has no text"),
    ],
)
def test_field_errors_name_line_and_field(content, change, expected):
    old, new = change
    assert old in GOOD
    corpus = read(content, {"x.md": GOOD.replace(old, new, 1)})
    assert "x" not in corpus.articles
    assert any(m.startswith(expected) for m in messages(corpus)), messages(corpus)


def test_all_errors_of_all_files_are_listed(content):
    corpus = read(
        content,
        {
            "a.md": GOOD.replace("title:", "titel:").replace("[bousai]", "[nope]"),
            "b.md": GOOD.replace("bulletin: 2026-11-01", "bulletin: 2026-11-05"),
        },
    )
    found = messages(corpus)
    assert any(m.startswith("a.md:2: titel:") for m in found)
    assert any(m.startswith("a.md:1: title: this field is required") for m in found)
    assert any(m.startswith("a.md:5: topics: unknown topic 'nope'") for m in found)
    assert any(m.startswith("b.md:6: bulletin:") for m in found)


def test_duplicate_ids_and_unsafe_file_names(content):
    corpus = read(
        content,
        {
            "one/drill.md": GOOD,
            "two/other.md": GOOD.replace("bulletin: 2026-11-01", "bulletin: 2026-11-01\nid: drill"),
            "防災.md": GOOD,
        },
    )
    found = messages(corpus)
    assert any(m.startswith("other.md:7: id: id 'drill' is already used by") for m in found), found
    assert any(m.startswith("防災.md:1: id: the file name '防災' is not a lowercase slug") for m in found), found
    assert list(corpus.articles) == ["drill"]


def test_site_yaml_errors_name_the_line(content):
    (content / "site.yaml").write_text(
        "name: x\nbase_url: ftp://x\ntopics: {bousai: 防災}\ncolour: red\n", encoding="utf-8"
    )
    from koho.errors import ContentInvalid

    with pytest.raises(ContentInvalid) as caught:
        load_site(content)
    found = [f"{e.line}: {e.field}" for e in caught.value.errors]
    assert "2: base_url" in found and "4: colour" in found


def test_sample_corpus_is_valid():
    corpus = read_corpus(CONTENT, load_site(CONTENT))
    assert corpus.errors == []
    articles = list(corpus.articles.values())
    assert len(articles) >= 12
    assert len({a.bulletin for a in articles}) >= 3
    assert {t for a in articles for t in a.topics} == set(corpus.site.topics)
    assert sum(a.urgent for a in articles) == 1
    assert sum(a.status == "draft" for a in articles) == 1
    assert any(a.images and all(i.alt for i in a.images) for a in articles)


def test_parse_cache_is_used_and_invalidated(content, tmp_path):
    cache = tmp_path / "cache"
    read(content, {"a.md": GOOD})
    site = load_site(content)
    first = read_corpus(content, site, cache).articles["a"]
    assert (cache / "articles.sqlite3").is_file()
    assert read_corpus(content, site, cache).articles["a"] == first
    (content / "articles" / "a.md").write_text(GOOD.replace("本文です。", "改訂しました。"), encoding="utf-8")
    second = read_corpus(content, site, cache).articles["a"]
    assert second.revision != first.revision and "改訂" in second.html


def test_worker_processes_give_the_same_corpus(content, monkeypatch):
    import koho.reader as reader

    files = {
        f"a{i:03}.md": GOOD.replace("本文です。", f"本文{i}です。\n\n| 項目 | 値 |\n|---|---|\n| 番号 | {i} |")
        for i in range(60)
    }
    files["broken.md"] = GOOD.replace("title:", "titel:")
    serial = read(content, files)
    monkeypatch.setattr(reader, "POOL_THRESHOLD", 10)
    pooled = read_corpus(content, load_site(content))
    assert pooled.articles == serial.articles and len(pooled.articles) == 60
    assert pooled.errors == serial.errors and pooled.errors


def test_select_by_file_and_folder(content):
    corpus = read(content, {"2026/a.md": GOOD, "2026/b.md": GOOD, "2025/c.md": GOOD})
    articles = content / "articles"
    assert [a.id for a in corpus.select([articles / "2026" / "a.md"], content)] == ["a"]
    assert {a.id for a in corpus.select([articles / "2026"], content)} == {"a", "b"}
    assert len(corpus.select([articles], content)) == 3
    assert corpus.select([content.parent / "elsewhere.md"], content) == []


def test_unchanged_stat_skips_reading_and_a_racy_file_is_hashed_again(content, tmp_path, monkeypatch):
    """A file whose size, times and inode are those it was hashed with is not read again; one
    changed within the racy window of its stamp is (its times could hide a second change)."""
    import koho.reader as reader

    cache = tmp_path / "cache"
    read(content, {"a.md": GOOD, "b.md": GOOD.replace("本文です。", "二本目です。")})
    site = load_site(content)
    opened: list[str] = []
    real = reader._read_article
    monkeypatch.setattr(reader, "_read_article", lambda path: opened.append(Path(path).name) or real(path))
    first = read_corpus(content, site, cache)
    assert sorted(opened) == ["a.md", "b.md"]
    opened.clear()
    read_corpus(content, site, cache)
    assert sorted(opened) == ["a.md", "b.md"], "files changed within the last RACY_NS are not trusted by stamp"
    monkeypatch.setattr(reader, "RACY_NS", -(10**18))  # every file counts as settled from here on
    read_corpus(content, site, cache)
    opened.clear()
    again = read_corpus(content, site, cache)
    assert opened == [] and again.articles == first.articles
    (content / "articles" / "a.md").write_text(GOOD.replace("本文です。", "改訂しました。"), encoding="utf-8")
    (content / "articles" / "b.md").unlink()
    changed = read_corpus(content, site, cache)
    assert opened == ["a.md"] and "改訂" in changed.articles["a"].html and "b" not in changed.articles
