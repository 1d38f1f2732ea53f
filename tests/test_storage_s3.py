"""The S3 byte store against a real moto server on loopback (tests/peers.py), and the archive
channel publishing an article through it with the pipeline's record-then-deliver steps."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from channels.archive.channel import ArchiveChannel
from koho.delivery import State
from koho.ledger import Ledger
from koho.pipeline import context_for, deliver, plan_and_record
from koho.reader import read_corpus
from koho.site import load_site
from koho.storage import S3Store, StoreError, open_store
from tests.peers import free_port

CONTENT = Path(__file__).resolve().parents[1] / "content"
PAGE = "articles/a/index.html"
NOW = datetime(2026, 12, 31, tzinfo=UTC)  # after every sample article's publish time


@pytest.fixture
def s3(s3_env):
    """A plain boto3 client on the same server, to look at what the store did."""
    return boto3.client("s3")


def versions(s3, bucket: str, key: str) -> int:
    """How many times ``key`` was uploaded (the bucket has versioning on)."""
    found = s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    return sum(1 for v in found if v["Key"] == key)


def count_calls(store: S3Store, operation: str) -> list[str]:
    """Record every ``operation`` request the store's client sends (an observer, not a stub)."""
    seen: list[str] = []
    store.client.meta.events.register(f"before-call.s3.{operation}", lambda **_: seen.append(operation))
    return seen


def test_put_uploads_and_returns_the_etag(s3_env, s3):
    store = open_store(f"s3://{s3_env}/site/")
    assert isinstance(store, S3Store)
    body = "<h1>総合防災訓練</h1>".encode()

    written, ref = store.put(PAGE, body, "text/html; charset=utf-8")

    head = s3.head_object(Bucket=s3_env, Key=f"site/{PAGE}")
    assert written is True
    assert ref == hashlib.md5(body).hexdigest() == head["ETag"].strip('"')
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert s3.get_object(Bucket=s3_env, Key=f"site/{PAGE}")["Body"].read() == body
    assert store.read(PAGE) == body
    assert store.read("articles/missing/index.html") is None


def test_identical_bytes_are_not_uploaded_again(s3_env, s3):
    s3.put_bucket_versioning(Bucket=s3_env, VersioningConfiguration={"Status": "Enabled"})
    store = open_store(f"s3://{s3_env}/site")
    key = f"site/{PAGE}"
    _, ref = store.put(PAGE, b"page v1", "text/html")

    assert store.put(PAGE, b"page v1", "text/html") == (False, ref)
    assert versions(s3, s3_env, key) == 1

    written, ref2 = store.put(PAGE, b"page v2", "text/html")
    assert written is True and ref2 != ref
    assert versions(s3, s3_env, key) == 2


def test_a_fresh_store_lists_etags_once_and_skips_unchanged_pages(s3_env, s3):
    s3.put_bucket_versioning(Bucket=s3_env, VersioningConfiguration={"Status": "Enabled"})
    pages = {f"articles/{n}/index.html": f"page {n}".encode() for n in range(5)}
    first = open_store(f"s3://{s3_env}/site")
    for path, body in pages.items():
        assert first.put(path, body, "text/html")[0] is True
    # Same bytes just outside the prefix must not count as stored under it.
    s3.put_object(Bucket=s3_env, Key="other/index.html", Body=b"home")

    fresh = open_store(f"s3://{s3_env}/site")
    lists, puts = count_calls(fresh, "ListObjectsV2"), count_calls(fresh, "PutObject")
    results = [fresh.put(path, body, "text/html") for path, body in pages.items()]

    assert [written for written, _ in results] == [False] * 5
    assert [ref for _, ref in results] == [hashlib.md5(b).hexdigest() for b in pages.values()]
    assert (len(lists), len(puts)) == (1, 0)
    assert fresh.put("index.html", b"home", "text/html")[0] is True
    assert fresh.put("articles/0/index.html", b"page 0, edited", "text/html")[0] is True
    assert (len(lists), len(puts)) == (1, 2)
    assert [versions(s3, s3_env, f"site/{p}") for p in pages] == [2, 1, 1, 1, 1]


def test_a_missing_bucket_is_a_permanent_store_error(s3_env):
    missing = f"koho-missing-{uuid.uuid4().hex[:12]}"
    store = open_store(f"s3://{missing}/site")

    with pytest.raises(StoreError) as caught:
        store.put(PAGE, b"page", "text/html")

    assert caught.value.transient is False
    assert missing in str(caught.value)
    assert "NoSuchBucket" in str(caught.value)


def test_an_unreachable_endpoint_is_a_transient_store_error(s3_env, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    store = open_store(f"s3://{s3_env}/site")

    with pytest.raises(StoreError) as caught:
        store.put(PAGE, b"page", "text/html")

    assert caught.value.transient is True


def test_the_archive_channel_publishes_an_article_to_s3(s3_env, s3, tmp_path):
    site = load_site(CONTENT)
    corpus = read_corpus(CONTENT, site)
    assert corpus.errors == []
    article = next(a for a in corpus.articles.values() if a.is_due(NOW) and a.images)  # a page and an image
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    channel = ArchiveChannel(f"s3://{s3_env}/site", content_dir=CONTENT)
    try:
        ctx = context_for(channel, article, corpus, ledger, NOW)
        planned, recorded = plan_and_record(channel, article, ctx, ledger, run_id="test")
        receipts = deliver(channel, ledger, planned)

        targets = {d.target for d in planned}
        assert {f"articles/{article.id}/index.html", "index.html", "sitemap.xml"} <= targets
        assert any(t.startswith("media/") for t in targets)
        assert recorded.new == {d.key for d in planned}
        assert [r.state for r in receipts] == [State.SENT] * len(planned)
        rows = {r["key"]: r for r in ledger.rows()}
        for delivery in planned:
            obj = s3.get_object(Bucket=s3_env, Key=f"site/{delivery.target}")
            assert obj["Body"].read() == delivery.body(), delivery.target
            assert obj["ContentType"] == delivery.content_type
            assert rows[delivery.key]["state"] == "sent"
            assert rows[delivery.key]["provider_ref"] == obj["ETag"].strip('"')
        html = s3.get_object(Bucket=s3_env, Key=f"site/articles/{article.id}/index.html")["Body"].read()
        assert article.title in html.decode("utf-8")

        # The same revision again: the ledger already has every key, nothing is sent.
        again, recorded_again = plan_and_record(
            channel, article, context_for(channel, article, corpus, ledger, NOW), ledger
        )
        assert recorded_again.new == frozenset() and recorded_again.to_deliver() == []
        assert deliver(channel, ledger, again) == []
    finally:
        ledger.close()

    # A lost ledger: a new channel and ledger plan the same bytes, and S3 skips every file.
    fresh_ledger = Ledger(f"sqlite:///{tmp_path / 'fresh.db'}")
    fresh_channel = ArchiveChannel(f"s3://{s3_env}/site", content_dir=CONTENT)
    try:
        ctx = context_for(fresh_channel, article, corpus, fresh_ledger, NOW)
        replanned, _ = plan_and_record(fresh_channel, article, ctx, fresh_ledger)
        receipts = deliver(fresh_channel, fresh_ledger, replanned)
        assert {d.target for d in replanned} == targets
        assert [r.state for r in receipts] == [State.SKIPPED] * len(replanned)
        assert all(r.detail.startswith("unchanged") for r in receipts)
    finally:
        fresh_ledger.close()


def test_sizes_see_what_another_store_wrote_and_removal_deletes(s3_env, s3):
    archive = open_store(f"s3://{s3_env}/site/")
    archive.put(PAGE, b"<h1>page</h1>", "text/html")  # the archive's store has listed the bucket
    audio = open_store(f"s3://{s3_env}/site/")
    audio.put("audio/articles/a.mp3", b"x" * 1234, "audio/mpeg")  # written by another channel's store
    assert archive.sizes(["audio/articles/a.mp3", "braille/x.brf"]) == {"audio/articles/a.mp3": 1234}
    assert audio.remove("audio/articles/a.mp3") is True and audio.remove("audio/articles/a.mp3") is False
    assert "Contents" not in s3.list_objects_v2(Bucket=s3_env, Prefix="site/audio/")
    assert archive.sizes(["audio/articles/a.mp3"]) == {}
