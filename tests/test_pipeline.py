"""Delivery semantics: transient failures stay pending and a later run sends only what is left."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from channels.archive.channel import ArchiveChannel
from koho.ledger import Ledger
from koho.pipeline import RunState, TransientDeliveryError, context_for, deliver, plan_and_record
from koho.reader import read_corpus
from koho.site import load_site
from tests.conftest import CONTENT
from tests.peers import free_port

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_unreachable_store_leaves_rows_pending_and_a_rerun_finishes(
    s3_env, moto_endpoint, monkeypatch, tmp_path, clock
):
    corpus = read_corpus(CONTENT, load_site(CONTENT))
    article = corpus.articles["conbini-kofu-service"]
    ledger = Ledger(f"sqlite:///{tmp_path / 'koho.db'}")
    channel = ArchiveChannel(f"s3://{s3_env}/site", CONTENT)
    ctx = context_for(channel, article, corpus, ledger, NOW, state=RunState(ledger, corpus))
    planned, recorded = plan_and_record(channel, article, ctx, ledger)
    assert len(recorded.to_deliver()) == len(planned) > 3

    # The S3 endpoint is down: nothing is sent, every row stays pending with the reason.
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(TransientDeliveryError):
        deliver(ArchiveChannel(f"s3://{s3_env}/site", CONTENT), ledger, planned)
    rows = ledger.rows(article_id=article.id)
    assert {r["state"] for r in rows} == {"pending"}
    assert all(r["attempts"] == 1 and "cannot list" in r["detail"] for r in rows)

    # The endpoint is back: after the retry time, the same plan is delivered, once; a third call
    # sends nothing.
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    clock.advance(minutes=1)
    receipts = deliver(ArchiveChannel(f"s3://{s3_env}/site", CONTENT), ledger, planned)
    assert len(receipts) == len(planned) and {r.state for r in receipts} == {"sent"}
    assert {r["attempts"] for r in ledger.rows(article_id=article.id)} == {2}
    assert deliver(ArchiveChannel(f"s3://{s3_env}/site", CONTENT), ledger, planned) == []
    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=s3_env)["Contents"]}
    assert f"site/articles/{article.id}/index.html" in keys
