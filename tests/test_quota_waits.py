"""Quota waits (issue 14, ADR 0030): a refusal that passes with time is not a failure. The row
waits, pending with the reset as its not-before time; no run sends it before then, the first run
after sends it once, ``koho status`` says when, and the operators' alert is quiet meanwhile.
Against the loopback fakes, whose quota days, months and windows follow koho's injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from channels.line import LineChannel, LineSettings
from channels.x.api import _reset
from channels.x.channel import XChannel, XSettings
from channels.youtube import YouTubeChannel, YouTubeSettings, quota_day
from koho.alerts import PENDING, problems
from koho.channel import PlanContext
from koho.delivery import Receipt
from koho.ledger import Ledger
from koho.pipeline import deliver
from koho.settings import Settings
from tests.fakes import line_api, youtube_api
from tests.fakes.line_api import FakeLine
from tests.fakes.steps import corpus, publish
from tests.fakes.x_api import CREDENTIALS, FakeX
from tests.fakes.youtube_api import FakeYouTube
from tests.test_ledger import page
from tests.test_ledger_postgres import race

TOKYO = ZoneInfo("Asia/Tokyo")
VIDEOS = ("hL3xK9_pWz4", "q7Vd-Rm2sYe")
ARTICLE, VIDEO = "tokushu-sagi-chuui", "hL3xK9_pWz4"
#: The pinned moment (2026-11-28 12:00 Japan time) is 19:00 on the 27th in California: its quota
#: day ends at midnight Pacific (PST), 2026-11-28 08:00 UTC, 17:00 in Japan.
PACIFIC_MIDNIGHT = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def youtube_channel(fake: FakeYouTube) -> YouTubeChannel:
    return YouTubeChannel(
        YouTubeSettings(
            api_url=fake.url + "/",
            token_uri=fake.url + "/token",
            client_id=youtube_api.CLIENT_ID,
            client_secret=youtube_api.CLIENT_SECRET,
            refresh_token=youtube_api.REFRESH_TOKEN,
            timeout=2.0,
        )
    )


@pytest.fixture
def youtube_env(workspace, monkeypatch, relay):
    fake = FakeYouTube(daily_quota=10_000).start()
    for vid in VIDEOS:
        fake.add_video(vid)
    _, port = relay
    env = {
        "KOHO_CHANNELS": "youtube",
        "KOHO_YOUTUBE_API_URL": fake.url + "/",
        "KOHO_YOUTUBE_TOKEN_URI": fake.url + "/token",
        "KOHO_YOUTUBE_CLIENT_ID": youtube_api.CLIENT_ID,
        "KOHO_YOUTUBE_CLIENT_SECRET": youtube_api.CLIENT_SECRET,
        "KOHO_YOUTUBE_REFRESH_TOKEN": youtube_api.REFRESH_TOKEN,
        # The operators' alert, by mail through the relay: it must stay quiet about a wait.
        "KOHO_MAIL_URL": f"smtp://127.0.0.1:{port}?connections=1",
        "KOHO_OPS_MAIL": "ops@example.city.lg.jp",
        "KOHO_OPS_LANGUAGE": "en",
        # The test jumps hours between runs; the schedule's gaps are test_alerts' subject.
        "KOHO_OPS_MISSED_MINUTES": str(48 * 60),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield fake
    fake.stop()


def youtube_rows() -> list[dict]:
    ledger = Ledger(Settings().db_url())
    try:
        return ledger.rows(channel="youtube")
    finally:
        ledger.close()


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("spent_by", ["koho", "provider"])
def test_a_youtube_quota_refusal_waits_and_goes_out_once_after_the_quota_day_rolls_over(
    youtube_env, relay, clock, monkeypatch, spent_by
):
    from flows.publish import publish_due
    from koho.cli import app

    fake, (sink, _) = youtube_env, relay
    if spent_by == "koho":  # koho's own book: its earlier runs spent the day's units
        ledger = Ledger(Settings().db_url())
        ledger.spend_quota("youtube-data-api", quota_day(), 9_990)
        ledger.close()
    else:  # YouTube's: another application of the project spent them; koho's book knows nothing
        fake.by_day[quota_day()] = 10_000

    publish_due()
    found = youtube_rows()
    assert sorted(r["target"] for r in found) == [f"video-{v}" for v in VIDEOS]
    assert {(r["state"], r["waiting"], r["not_before"]) for r in found} == {("pending", True, PACIFIC_MIDNIGHT)}
    assert all(r["detail"].startswith("waiting for YouTube's quota: ") for r in found)
    assert not fake.calls("PUT")

    status = CliRunner().invoke(app, ["status"], env={"COLUMNS": "250", "LANG": "C.UTF-8"})
    assert status.exit_code == 0, status.output
    assert "Waiting for a quota to reset" in status.output
    assert f"- {ARTICLE} on youtube: 1 deliveries go out after 2026-11-28 17:00 JST" in status.output
    one = CliRunner().invoke(app, ["status", ARTICLE], env={"COLUMNS": "250", "LANG": "C.UTF-8"})
    assert "pending: goes out after 2026-11-28 17:00 JST" in one.output, one.output

    clock.set(datetime(2026, 11, 28, 16, 50, tzinfo=TOKYO))  # nearly five hours later: still that day
    publish_due()
    assert not fake.calls("PUT") and {r["state"] for r in youtube_rows()} == {"pending"}
    assert not sink.messages  # planned long ago, but waiting for a known time: not "pending too long"

    clock.set(datetime(2026, 11, 28, 17, 1, tzinfo=TOKYO))  # a new quota day in California
    publish_due()
    found = youtube_rows()
    assert {(r["state"], r["waiting"]) for r in found} == {("sent", False)}, [r["detail"] for r in found]
    assert sorted(r["provider_ref"] for r in found) == sorted(VIDEOS)
    assert len(fake.calls("PUT")) == 2 and {b.json()["id"] for b in fake.calls("PUT")} == set(VIDEOS)

    clock.advance(minutes=10)
    publish_due()
    assert len(fake.calls("PUT")) == 2 and not sink.messages  # once, and nothing to tell


def test_after_the_apis_own_refusal_further_updates_that_day_wait_without_a_request(workspace, clock):
    fake = FakeYouTube(daily_quota=10_000).start()
    for vid in VIDEOS:
        fake.add_video(vid)
    fake.by_day[quota_day()] = 10_000  # spent by another application: koho's book says 0
    ledger = Ledger(Settings().db_url())
    chan = youtube_channel(fake)
    try:
        assert publish(chan, ARTICLE, ledger)[0][0].until == PACIFIC_MIDNIGHT
        asked = len(fake.seen)
        (second,) = publish(chan, "nerima-daikon-hikkonuki-2026", ledger)[0]
        assert (second.state, second.until, len(fake.seen)) == ("pending", PACIFIC_MIDNIGHT, asked)
        assert "refused an earlier update on 2026-11-27 (Pacific time)" in second.detail
        clock.set(PACIFIC_MIDNIGHT + timedelta(minutes=1))  # a new day: the same channel asks again
        assert publish(chan, "nerima-daikon-hikkonuki-2026", ledger)[0][0].state == "sent"
    finally:
        chan.close()
        ledger.close()
        fake.stop()


def test_two_runs_at_once_after_the_rollover_send_it_once(workspace, clock, ledger_url):
    fake = FakeYouTube(daily_quota=10_000).start()
    fake.add_video(VIDEO)
    fake.by_day[quota_day()] = 10_000
    ledger = Ledger(ledger_url)
    try:
        receipts, _ = publish(youtube_channel(fake), ARTICLE, ledger)
        assert receipts[0].until == PACIFIC_MIDNIGHT
        clock.set(PACIFIC_MIDNIGHT + timedelta(minutes=1))
        content = corpus()
        context = PlanContext(site=content.site, now=clock.now, live={})
        deliveries = youtube_channel(fake).plan(content.articles[ARTICLE], context)
        both = race(
            ledger_url,
            "deliveries",
            lambda each: deliver(youtube_channel(fake), each, deliveries),
            verb="UPDATE",
            first_only=True,
        )
        assert not [r for r in both if isinstance(r, Exception)], both
        assert sorted(len(r) for r in both) == [0, 1]  # one run claimed it, the other found it leased
        assert len(fake.calls("PUT")) == 1
        (row,) = ledger.rows(channel="youtube")
        assert (row["state"], row["provider_ref"], row["waiting"]) == ("sent", VIDEO, False)
    finally:
        ledger.close()
        fake.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'race.sqlite3'}"
    return request.getfixturevalue("fresh_postgres_db")


# -- LINE: the month -------------------------------------------------------------------------------

URGENT = "ooame-jishu-hinanjo-kaisetsu"
NEXT_MONTH = datetime(2026, 12, 1, tzinfo=TOKYO)


def line_channel(fake: FakeLine) -> LineChannel:
    return LineChannel(LineSettings(api_url=fake.url, channel_access_token=line_api.TOKEN, timeout=2.0))


@pytest.mark.parametrize("refused_by", ["koho", "provider"])
def test_a_line_broadcast_over_the_monthly_quota_waits_for_the_first_of_next_month(workspace, clock, refused_by):
    fake = FakeLine(quota=1000, used=950 if refused_by == "koho" else 0).start()  # a broadcast reaches 100
    if refused_by == "provider":  # LINE's own answer (its consumption figures lag)
        fake.fail_next(
            status=429, body={"message": "You have reached your monthly limit."}, path="/v2/bot/message/broadcast"
        )
    ledger = Ledger(Settings().db_url())
    try:
        receipts, transient = publish(line_channel(fake), URGENT, ledger)
        assert transient is None and (receipts[0].state, receipts[0].until) == ("pending", NEXT_MONTH)
        assert receipts[0].detail.startswith("waiting for LINE's monthly quota: ")
        assert receipts[0].detail.endswith("it goes out when the quota renews on 2026-12-01")
        clock.set(datetime(2026, 11, 30, 23, 59, tzinfo=TOKYO))
        assert publish(line_channel(fake), URGENT, ledger)[0] == [] and not fake.broadcasts
        clock.set(datetime(2026, 12, 1, 0, 1, tzinfo=TOKYO))
        receipts, _ = publish(line_channel(fake), URGENT, ledger)
        assert receipts[0].state == "sent" and len(fake.broadcasts) == 1
        assert publish(line_channel(fake), URGENT, ledger)[0] == [] and len(fake.broadcasts) == 1
    finally:
        ledger.close()
        fake.stop()


# -- X: the rate window ------------------------------------------------------------------------------


def test_an_x_post_over_the_rate_window_waits_for_its_reset(workspace, clock, monkeypatch):
    fake = FakeX().start()
    fake.limit_posts(1, window=900)  # the pinned 03:00 UTC starts a window; it resets at 03:15
    ledger = Ledger(Settings().db_url())
    chan = lambda: XChannel(XSettings(url=fake.url, timeout=2.0, **CREDENTIALS))  # noqa: E731
    try:
        assert publish(chan(), ARTICLE, ledger)[0][0].state == "sent"
        receipts, transient = publish(chan(), "sogo-bousai-kunren-2026", ledger)
        reset = datetime(2026, 11, 28, 3, 15, tzinfo=UTC)
        assert transient is None and (receipts[0].state, receipts[0].until) == ("pending", reset)
        assert receipts[0].detail == "waiting for X's rate limit: X 429, the window resets at 2026-11-28 03:15:00 UTC"
        clock.advance(minutes=10)
        assert publish(chan(), "sogo-bousai-kunren-2026", ledger)[0] == [] and len(fake.posts) == 1
        clock.advance(minutes=6)
        receipts, _ = publish(chan(), "sogo-bousai-kunren-2026", ledger)
        assert receipts[0].state == "sent" and len(fake.posts) == 2
        assert publish(chan(), "sogo-bousai-kunren-2026", ledger)[0] == [] and len(fake.posts) == 2
    finally:
        ledger.close()
        fake.stop()


def test_x_waits_for_the_latest_spent_limit_of_its_headers():
    window, day = 1_795_000_000, 1_795_050_000
    headers = {"x-rate-limit-remaining": "12", "x-rate-limit-reset": str(window)}
    assert _reset(headers) == datetime.fromtimestamp(window, UTC)
    spent_day = {**headers, "x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": str(day)}
    assert _reset(spent_day) == datetime.fromtimestamp(day, UTC)  # the 24-hour cap, not the window
    assert _reset({**spent_day, "x-user-limit-24hour-remaining": "3"}) == datetime.fromtimestamp(window, UTC)
    assert _reset({}) is None


# -- the alert ------------------------------------------------------------------------------------


def test_a_waiting_row_is_not_late_until_its_reset_has_passed(workspace, clock):
    ledger = Ledger(Settings().db_url())
    try:
        post, video = page("post", article="a", channel="x"), page("video", article="b", channel="youtube")
        ledger.record([post, video])
        ledger.apply(
            [
                Receipt.transient(post.key, "X 503", 30.0),
                Receipt.waits(video.key, "waiting for YouTube's quota", clock.now + timedelta(hours=5)),
            ]
        )
        clock.advance(hours=2)
        assert [(p.kind, p.subject) for p in problems(ledger, clock.now, timedelta(hours=1))] == [(PENDING, post.key)]
        clock.advance(hours=3, minutes=1)  # the reset passed and no run sent it: late like any other
        assert [p.subject for p in problems(ledger, clock.now, timedelta(hours=1))] == [post.key, video.key]
    finally:
        ledger.close()
