"""The local byte store (``file://``): change-only, atomic writes and refusal of unsafe paths."""

from __future__ import annotations

import hashlib
import os

import pytest

from koho.errors import ConfigError
from koho.storage import FileStore, StoreError, open_store

PAGE = "articles/a/index.html"


@pytest.fixture
def store(tmp_path) -> FileStore:
    opened = open_store("file://out", base_dir=tmp_path)
    assert isinstance(opened, FileStore)
    assert opened.root == tmp_path / "out"
    return opened


def leftovers(root) -> list[str]:
    """Temp files a write left behind (FileStore names them .koho-*)."""
    return sorted(p.name for p in root.rglob(".koho-*"))


def test_put_writes_the_bytes_and_returns_their_digest(store):
    written, ref = store.put(PAGE, "<h1>防災訓練</h1>".encode(), "text/html")

    dest = store.root / PAGE
    assert written is True
    assert ref == "sha256:" + hashlib.sha256("<h1>防災訓練</h1>".encode()).hexdigest()[:16]
    assert dest.read_bytes() == "<h1>防災訓練</h1>".encode()
    assert dest.stat().st_mode & 0o777 == 0o644
    assert store.read(PAGE) == "<h1>防災訓練</h1>".encode()
    assert store.read("articles/missing/index.html") is None


def test_identical_bytes_are_not_written_again(store):
    store.put(PAGE, b"same", "text/html")
    dest = store.root / PAGE
    os.utime(dest, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = dest.stat()

    written, ref = store.put(PAGE, b"same", "text/html")

    after = dest.stat()
    assert (written, ref) == (False, "sha256:" + hashlib.sha256(b"same").hexdigest()[:16])
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)

    written, _ = store.put(PAGE, b"diff", "text/html")  # same length, other bytes
    assert written is True
    assert dest.read_bytes() == b"diff"


def test_writes_replace_the_file_atomically_and_leave_no_temp_files(store):
    store.put(PAGE, b"old page", "text/html")
    reader = open(store.root / PAGE, "rb")  # someone serving the old page right now
    try:
        store.put(PAGE, b"new page, longer than the old one", "text/html")
        store.put("index.html", b"home", "text/html")
        store.put("a/b/c/deep.xml", b"<x/>", "application/xml")

        assert reader.read() == b"old page"  # renamed over, never truncated in place
    finally:
        reader.close()
    assert (store.root / PAGE).read_bytes() == b"new page, longer than the old one"
    assert leftovers(store.root) == []


def test_a_failed_write_leaves_no_temp_file(store):
    (store.root / PAGE).mkdir(parents=True)  # a folder where the page should go: rename fails

    with pytest.raises(StoreError) as caught:
        store.put(PAGE, b"page", "text/html")

    assert caught.value.transient is False
    assert leftovers(store.root) == []


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a\\b", "a/../../x", "", "a\0b"])
def test_unsafe_paths_are_refused_permanently(store, tmp_path, path):
    with pytest.raises(StoreError) as caught:
        store.put(path, b"evil", "text/plain")
    assert caught.value.transient is False
    assert "unsafe" in str(caught.value)
    with pytest.raises(StoreError):
        store.read(path)
    assert not (tmp_path / "x").exists()
    assert not store.root.exists()  # nothing was written anywhere


def test_absolute_file_urls_ignore_the_base_dir(tmp_path):
    target = tmp_path / "srv" / "www"
    opened = open_store(f"file://{target}", base_dir=tmp_path / "elsewhere")

    opened.put("index.html", b"home", "text/html")

    assert (target / "index.html").read_bytes() == b"home"
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("url", ["ftp://host/site", "public", "s3://", "gs://bucket/site"])
def test_unknown_or_incomplete_store_urls_are_config_errors(url, tmp_path):
    with pytest.raises(ConfigError) as caught:
        open_store(url, base_dir=tmp_path)
    assert repr(url) in str(caught.value)


def test_sizes_and_removal_through_write_batch(store):
    from koho.delivery import Delivery, State
    from koho.storage import REMOVE, write_batch

    store.put("audio/a.mp3", b"x" * 1234, "audio/mpeg")
    assert store.sizes(["audio/a.mp3", "audio/b.mp3"]) == {"audio/a.mp3": 1234}
    removal = Delivery("audio", "audio/a.mp3", "a", "withdrawn", "ja", b"", REMOVE)
    assert [r.state for r in write_batch(store, [removal])] == [State.SENT]
    assert not (store.root / "audio/a.mp3").exists() and store.sizes(["audio/a.mp3"]) == {}
    assert [r.state for r in write_batch(store, [removal])] == [State.SKIPPED]  # already gone
