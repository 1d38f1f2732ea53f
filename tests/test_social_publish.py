"""Publishing the sample content through the real Prefect flow to the four social fakes at once:
every post gets its provider id, a second run posts nothing, `koho status` shows the ids, and no
secret reaches the logs, the artifacts, the ledger or the outbox."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from koho.ledger import Ledger
from koho.settings import Settings
from tests.fakes import graph_api, line_api, x_api, youtube_api
from tests.fakes.graph_api import FakeGraph
from tests.fakes.line_api import FakeLine
from tests.fakes.x_api import FakeX
from tests.fakes.youtube_api import FakeYouTube

pytestmark = pytest.mark.usefixtures("prefect_harness")

SECRETS = [
    x_api.CREDENTIALS["consumer_secret"],
    x_api.CREDENTIALS["access_token_secret"],
    graph_api.PAGE_TOKEN,
    line_api.TOKEN,
    youtube_api.CLIENT_SECRET,
    youtube_api.REFRESH_TOKEN,
]
SOCIAL = ("x", "facebook", "line", "youtube")


@pytest.fixture
def fakes(workspace, monkeypatch):
    started = {"x": FakeX(), "facebook": FakeGraph(), "line": FakeLine(quota=5000), "youtube": FakeYouTube()}
    for fake in started.values():
        fake.start()
    started["youtube"].add_video("hL3xK9_pWz4")
    started["youtube"].add_video("q7Vd-Rm2sYe")
    env = {
        "KOHO_CHANNELS": "archive,feeds," + ",".join(SOCIAL),
        "PREFECT_LOGGING_LEVEL": "DEBUG",
        "KOHO_X_URL": started["x"].url,
        "KOHO_FACEBOOK_API_URL": f"{started['facebook'].url}/v21.0",
        "KOHO_FACEBOOK_PAGE_ID": graph_api.PAGE_ID,
        "KOHO_FACEBOOK_PAGE_TOKEN": graph_api.PAGE_TOKEN,
        "KOHO_LINE_API_URL": started["line"].url,
        "KOHO_LINE_CHANNEL_ACCESS_TOKEN": line_api.TOKEN,
        "KOHO_YOUTUBE_API_URL": started["youtube"].url + "/",
        "KOHO_YOUTUBE_TOKEN_URI": started["youtube"].url + "/token",
        "KOHO_YOUTUBE_CLIENT_ID": youtube_api.CLIENT_ID,
        "KOHO_YOUTUBE_CLIENT_SECRET": youtube_api.CLIENT_SECRET,
        "KOHO_YOUTUBE_REFRESH_TOKEN": youtube_api.REFRESH_TOKEN,
    }
    env.update({f"KOHO_X_{k.upper()}": v for k, v in x_api.CREDENTIALS.items()})
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield started
    for fake in started.values():
        fake.stop()


async def _evidence(flow_run_id):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    async with get_client() as client:
        logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        artifacts = await client.read_artifacts()
    return "\n".join(log.message for log in logs), "\n".join(str(a.data) for a in artifacts)


def test_publish_to_all_four_then_nothing_twice(fakes, workspace, monkeypatch):
    from flows.publish import publish_article
    from koho.cli import app

    fakes["x"].rate_limit_next(reset_in=1)  # the first post waits for X's window, then goes out
    fakes["facebook"].fail_next(status=500, body={"error": {"message": "An unknown error occurred", "code": 1}})
    state = publish_article(paths=[str(workspace / "content" / "articles")], return_state=True)
    assert state.is_completed(), state

    ledger = Ledger(Settings().db_url())
    rows = [r for r in ledger.rows() if r["channel"] in SOCIAL]
    ledger.close()
    by_channel = {c: [r for r in rows if r["channel"] == c] for c in SOCIAL}
    assert {r["state"] for r in rows} == {"sent"}, [
        (r["key"], r["state"], r["detail"]) for r in rows if r["state"] != "sent"
    ]
    x_ids = {r["provider_ref"] for r in by_channel["x"]}
    assert x_ids == set(fakes["x"].posts) and len(x_ids) >= 10  # every published article, once
    assert {r["provider_ref"] for r in by_channel["facebook"]} == set(fakes["facebook"].posts)
    assert any(r["article_id"] == "ooame-jishu-hinanjo-kaisetsu" for r in by_channel["line"])
    assert len(fakes["line"].broadcasts) == len(by_channel["line"])
    assert sorted(r["provider_ref"] for r in by_channel["youtube"]) == ["hL3xK9_pWz4", "q7Vd-Rm2sYe"]
    assert fakes["x"].rejected == [] and max(r["attempts"] for r in by_channel["x"]) == 2

    posted = (
        len(fakes["x"].posts),
        len(fakes["facebook"].posts),
        len(fakes["line"].broadcasts),
        len(fakes["youtube"].calls("PUT")),
    )
    again = publish_article(paths=[str(workspace / "content" / "articles")], return_state=True)
    assert again.is_completed()
    assert (
        len(fakes["x"].posts),
        len(fakes["facebook"].posts),
        len(fakes["line"].broadcasts),
        len(fakes["youtube"].calls("PUT")),
    ) == posted

    from rich.console import Console

    import koho.cli

    monkeypatch.setattr(koho.cli, "out", Console(width=250))  # a wide terminal: ids unfolded
    status = CliRunner().invoke(app, ["status"])
    assert status.exit_code == 0
    some_post = next(r for r in by_channel["x"] if r["article_id"] == "ooame-jishu-hinanjo-kaisetsu")
    assert some_post["provider_ref"] in status.output and "hL3xK9_pWz4" in status.output

    logs, artifacts = asyncio.run(_evidence(state.state_details.flow_run_id))
    places = {"logs": logs, "artifacts": artifacts, "ledger": repr(rows), "status": status.output}
    assert logs and artifacts
    for where, text in places.items():
        for secret in SECRETS:
            assert secret not in text, f"a secret leaked into {where}"


def test_the_embedded_default_writes_every_request_to_the_outbox(workspace, monkeypatch):
    from flows.publish import publish_article

    monkeypatch.setenv("KOHO_CHANNELS", ",".join(SOCIAL))
    state = publish_article(paths=[str(workspace / "content" / "articles")], return_state=True)
    assert state.is_completed(), state
    outbox = workspace / "outbox"
    for channel in SOCIAL:
        assert sorted((outbox / channel).glob("*.json")), channel
    assert (outbox / "youtube" / "tokushu-sagi-chuui--video-hL3xK9_pWz4.json").is_file()
    assert (outbox / "line" / "ooame-jishu-hinanjo-kaisetsu--broadcast.json").is_file()
    ledger = Ledger(Settings().db_url())
    assert {r["state"] for r in ledger.rows()} == {"sent"}
    ledger.close()


def test_change_note_is_shown_on_the_archive_page_and_in_feeds(workspace):
    from channels.registry import build
    from tests.fakes.steps import edit_front_matter, publish

    edit_front_matter(workspace, "sogo-bousai-kunren-2026", change_note="集合時間を<午前9時>に訂正しました。")
    ledger = Ledger(Settings().db_url())
    for chan in build(Settings(), ["archive", "feeds"]):
        publish(chan, "sogo-bousai-kunren-2026", ledger)
        chan.close()
    ledger.close()
    page = (workspace / "public" / "articles" / "sogo-bousai-kunren-2026" / "index.html").read_text()
    assert '<p class="change-note"><strong>訂正・変更</strong>　集合時間を&lt;午前9時&gt;に訂正しました。</p>' in page
    import feedparser

    entry = feedparser.parse((workspace / "public" / "feeds" / "atom.xml").read_bytes()).entries[0]
    assert entry.summary.startswith("【訂正・変更】集合時間を<午前9時>に訂正しました。")
    assert "訂正・変更" in entry.content[0].value
