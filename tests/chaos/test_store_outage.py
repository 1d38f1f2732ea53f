"""An S3 store that closes every connection for a while (botocore's ConnectionClosedError, once
treated as permanent): the run ends with its files pending, not failed, and says so (exit code
3); after the store recovers, the next scheduled run writes every file, and nothing failed."""

from __future__ import annotations

from urllib.parse import urlsplit

import boto3
import pytest

from koho.ledger import Ledger
from koho.settings import Settings
from tests.fakes.flaky_proxy import FlakyProxy

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_a_store_outage_leaves_files_pending_and_the_next_run_writes_them_all(
    workspace, s3_env, moto_endpoint, monkeypatch, clock
):
    from flows import publish
    from flows.publish import publish_article, publish_due
    from flows.tasks import deliver_task

    parts = urlsplit(moto_endpoint)
    proxy = FlakyProxy((parts.hostname, parts.port)).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # koho decides about retries, with the ledger
        monkeypatch.setenv("KOHO_ARCHIVE_URL", f"s3://{s3_env}/site")
        monkeypatch.setenv("KOHO_CHANNELS", "archive,feeds")
        # Prefect's in-run retries come too soon for the retry time: no minutes of waiting here.
        monkeypatch.setattr(publish, "deliver_task", deliver_task.with_options(retry_delay_seconds=[0, 0, 0, 0]))
        proxy.failing = True
        outcomes = publish_article(paths=[str(workspace / "content" / "articles")])
        assert proxy.dropped > 0
        # Only the first batch of each channel spends its retries; the rest of the run does
        # not hammer a store that is down.
        assert any(o.note.startswith("not tried: archive failed temporarily") for o in outcomes)
        rows = Ledger(Settings().db_url()).rows()
        assert rows and {r["state"] for r in rows} == {"pending"}, {r["state"] for r in rows}
        tried = [r for r in rows if r["attempts"]]
        assert tried and all(r["not_before"] is not None for r in tried)  # tried: a retry time
        # Each article's report says its files are pending (shared files count in every plan).
        planned = [o for o in outcomes if o.planned]
        assert planned and all(o.count("pending") for o in planned)
        assert not any(o.count("failed") for o in outcomes)

        proxy.failing = False
        clock.advance(minutes=10)  # the next publish-due, after the retry times
        publish_due()
        rows = Ledger(Settings().db_url()).rows()
        assert {r["state"] for r in rows} <= {"sent", "skipped"}, [
            (r["key"], r["state"]) for r in rows if r["state"] not in ("sent", "skipped")
        ]
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
        stored = {
            o["Key"][len("site/") :]
            for page in boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=s3_env, Prefix="site/")
            for o in page.get("Contents", [])
        }
        assert {r["target"] for r in rows} <= stored
        assert "index.html" in stored and "feeds/atom.xml" in stored
    finally:
        proxy.stop()
