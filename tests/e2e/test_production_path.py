"""The production shape: PostgreSQL ledger and S3 archive (both real loopback servers), through
the real Prefect flow, and no secret in logs, artifacts, the ledger or the published files."""

from __future__ import annotations

import asyncio

import boto3
import feedparser
import pytest
from sqlalchemy.engine import make_url

from koho.ledger import Ledger

pytestmark = pytest.mark.usefixtures("prefect_harness")

DB_PASSWORD = "pg-Secret-4c1d9e"
AWS_SECRET = "aws-Secret-8b2f0a"


async def _run_evidence(flow_run_id):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    async with get_client() as client:
        logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        artifacts = await client.read_artifacts()
        params = (await client.read_flow_run(flow_run_id)).parameters
    return [log.message for log in logs], [str(a.data) for a in artifacts], str(params)


def test_postgres_ledger_s3_archive_and_no_secret_anywhere(workspace, fresh_postgres_db, s3_env, monkeypatch):
    from flows.publish import publish_article

    # The test server trusts loopback, so any password is accepted: it only has to stay secret.
    url = make_url(fresh_postgres_db).set(password=DB_PASSWORD).render_as_string(hide_password=False)
    monkeypatch.setenv("KOHO_DATABASE_URL", url)
    monkeypatch.setenv("KOHO_ARCHIVE_URL", f"s3://{s3_env}/site")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "DEBUG")

    state = publish_article(paths=[str(workspace / "content" / "articles")], return_state=True)
    assert state.is_completed(), state
    flow_run_id = state.state_details.flow_run_id

    s3 = boto3.client("s3")
    objects = {o["Key"]: o for o in s3.list_objects_v2(Bucket=s3_env, Prefix="site/")["Contents"]}
    assert "site/index.html" in objects and "site/feeds/atom.xml" in objects
    feed = feedparser.parse(s3.get_object(Bucket=s3_env, Key="site/feeds/atom.xml")["Body"].read())
    assert not feed.bozo and feed.entries

    ledger = Ledger(url)
    rows = ledger.rows()
    assert rows and {r["state"] for r in rows} <= {"sent", "skipped"}
    latest: dict[str, str] = {}
    for row in rows:  # newest first: the last write of each file is what S3 holds now
        if row["channel"] == "archive" and row["state"] == "sent":
            latest.setdefault(row["target"], row["provider_ref"])
    assert latest and all(objects[f"site/{target}"]["ETag"].strip('"') == ref for target, ref in latest.items())
    assert DB_PASSWORD not in ledger.describe()
    ledger.close()

    logs, artifacts, params = asyncio.run(_run_evidence(flow_run_id))
    bodies = [
        s3.get_object(Bucket=s3_env, Key=key)["Body"].read().decode("utf-8", "replace")
        for key in objects
        if not key.endswith(".png")
    ]
    places = {
        "logs": "\n".join(logs),
        "artifacts": "\n".join(artifacts),
        "parameters": params,
        "ledger": repr(rows),
        "published files": "\n".join(bodies),
    }
    assert logs and artifacts
    for where, text in places.items():
        for secret in (DB_PASSWORD, AWS_SECRET):
            assert secret not in text, f"{secret} leaked into {where}"
