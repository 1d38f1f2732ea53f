"""YouTube: video descriptions within 5,000 bytes, OAuth refresh and the daily quota, against fakes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels.common.textfit import utf8_bytes
from channels.youtube import (
    DESCRIPTION_MAX_BYTES,
    YouTubeChannel,
    YouTubeSettings,
    description,
    next_quota_day,
    quota_day,
)
from koho.ledger import Ledger
from koho.settings import Settings
from tests.fakes.steps import corpus, edit_front_matter, publish, rows
from tests.fakes.youtube_api import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, FakeYouTube

ARTICLE, VIDEO = "tokushu-sagi-chuui", "hL3xK9_pWz4"


@pytest.fixture
def youtube(workspace):
    fake = FakeYouTube().start()
    fake.add_video(VIDEO, description="古い説明", tags=["練馬区", "防犯"])
    ledger = Ledger(Settings().db_url())
    yield fake, ledger
    ledger.close()
    fake.stop()


def channel(fake: FakeYouTube, secret: str = CLIENT_SECRET, **settings) -> YouTubeChannel:
    options = dict(
        api_url=fake.url + "/",
        token_uri=fake.url + "/token",
        client_id=CLIENT_ID,
        client_secret=secret,
        refresh_token=REFRESH_TOKEN,
        timeout=1.0,
    )
    return YouTubeChannel(YouTubeSettings(**{**options, **settings}))


def test_description_link_first_no_angle_brackets_and_5000_bytes_at_most(workspace):
    content = corpus()
    article = content.articles[ARTICLE]
    text = description(article, content.site)
    assert text.startswith(f"https://koho.example.city.lg.jp/articles/{ARTICLE}/\n\n{article.title}")
    assert "<" not in text and ">" not in text
    from dataclasses import replace

    long = replace(article, html="<p>" + "お知らせです。" * 400 + "</p>", summary="a<b>c")  # 3 bytes a char
    cut = description(long, content.site)
    assert utf8_bytes(cut) <= DESCRIPTION_MAX_BYTES and cut.endswith("。…")
    assert "a＜b＞c" in cut
    # 4-byte characters (emoji) never split: the result is valid UTF-8 within the budget.
    emoji = description(replace(article, html="<p>" + "🎍" * 2000 + "</p>"), content.site)
    assert utf8_bytes(emoji) <= DESCRIPTION_MAX_BYTES and emoji.encode("utf-8").decode("utf-8")


def test_update_keeps_title_category_tags_and_spends_51_units(youtube):
    fake, ledger = youtube
    receipts, transient = publish(channel(fake), ARTICLE, ledger)
    assert transient is None and (receipts[0].state, receipts[0].provider_ref) == ("sent", VIDEO)
    video = fake.videos[VIDEO]
    assert (
        video["title"] == "ねりまほっとライン" and video["categoryId"] == "25" and video["tags"] == ["練馬区", "防犯"]
    )
    assert video["description"].startswith("https://koho.example.city.lg.jp/articles/tokushu-sagi-chuui/")
    assert fake.units == 51 and ledger.quota_spent("youtube-data-api", quota_day()) == 51
    assert "units: 51" in rows(ledger, "youtube")[f"video-{VIDEO}"]["detail"]
    assert publish(channel(fake), ARTICLE, ledger)[0] == [] and fake.units == 51  # re-run: nothing


def test_an_unchanged_description_is_read_but_not_written(youtube, workspace):
    fake, ledger = youtube
    publish(channel(fake), ARTICLE, ledger)
    edit_front_matter(workspace, ARTICLE, priority="normal  # touched")  # new revision, same description
    receipts, _ = publish(channel(fake), ARTICLE, ledger)
    assert receipts[0].state == "skipped" and "already current" in receipts[0].detail
    assert fake.units == 52 and len(fake.calls("PUT")) == 1


def test_an_expired_access_token_is_refreshed(youtube, workspace):
    fake, ledger = youtube
    chan = channel(fake)
    publish(chan, ARTICLE, ledger)
    assert fake.tokens_issued == 1
    fake.expire_token()
    edit_front_matter(workspace, ARTICLE, change_note="問合せ先の電話番号を訂正しました。")
    receipts, _ = publish(chan, ARTICLE, ledger)
    assert receipts[0].state == "sent" and fake.tokens_issued == 2
    assert "【訂正・変更】問合せ先の電話番号を訂正しました。" in fake.videos[VIDEO]["description"]


def test_work_over_the_daily_budget_waits_for_the_next_quota_day_before_any_request(youtube):
    fake, ledger = youtube
    ledger.spend_quota("youtube-data-api", quota_day(), 9_950)  # 50 left; an update needs up to 51
    receipts, transient = publish(channel(fake), ARTICLE, ledger)
    assert receipts[0].state == "pending" and transient is None and not fake.seen
    assert "budget is 10,000 units a day; 9,950 are spent" in receipts[0].detail
    assert receipts[0].until == datetime(2026, 11, 28, 8, 0, tzinfo=UTC)  # midnight Pacific (PST)
    ledger.spend_quota("youtube-data-api", quota_day(), -1)  # exactly 51 left: allowed
    publish(channel(fake), "nerima-daikon-hikkonuki-2026", ledger)  # another video, unknown to the fake
    assert ledger.quota_spent("youtube-data-api", quota_day()) == 9_950


def test_the_quota_day_is_pacific_time():
    assert quota_day(datetime(2026, 11, 27, 7, 59, tzinfo=UTC)) == "2026-11-26"
    assert quota_day(datetime(2026, 11, 27, 8, 0, tzinfo=UTC)) == "2026-11-27"
    assert next_quota_day(datetime(2026, 11, 27, 7, 59, tzinfo=UTC)) == datetime(2026, 11, 27, 8, tzinfo=UTC)
    assert next_quota_day(datetime(2026, 7, 1, 12, tzinfo=UTC)) == datetime(2026, 7, 2, 7, tzinfo=UTC)  # PDT
    # The day daylight saving ends (2026-11-01) is 25 hours long: its end is 08:00 UTC, not 07:00.
    assert next_quota_day(datetime(2026, 11, 1, 12, tzinfo=UTC)) == datetime(2026, 11, 2, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    "fault, state, detail",
    [
        (
            dict(
                status=503,
                body={"error": {"code": 503, "message": "Backend Error", "errors": [{"reason": "backendError"}]}},
            ),
            "pending",
            "YouTube 503: Backend Error [backendError] (units: 1)",
        ),
        (
            dict(
                status=403,
                body={
                    "error": {
                        "code": 403,
                        "message": "The request cannot be completed because you have exceeded your quota.",
                        "errors": [{"reason": "quotaExceeded"}],
                    }
                },
            ),
            "pending",
            "waiting for YouTube's quota: YouTube 403: The request cannot be completed because you have "
            "exceeded your quota. [quotaExceeded] (units: 1); it goes out when the quota day ends",
        ),
        (dict(timeout=1.5), "pending", "YouTube unreachable"),
    ],
)
def test_errors_land_in_the_ledger(youtube, fault, state, detail, clock):
    fake, ledger = youtube
    fake.fail_next(path="/youtube/", **fault)  # the token request goes through, videos.list fails
    receipts, transient = publish(channel(fake), ARTICLE, ledger)
    row = rows(ledger, "youtube")[f"video-{VIDEO}"]
    assert row["state"] == state and row["detail"].startswith(detail)
    waits = row["waiting"]
    assert waits == detail.startswith("waiting") and (transient is not None) == (state == "pending" and not waits)
    assert ledger.quota_spent("youtube-data-api", quota_day()) == 1  # a refused request costs a unit too
    if state == "pending":
        clock.advance(hours=12 if waits else 0, minutes=2)  # a later run, after the retry time (the quota day)
        assert publish(channel(fake), ARTICLE, ledger)[0][0].state == "sent"


def test_a_refused_refresh_token_fails_without_the_secret(youtube):
    fake, ledger = youtube
    receipts, _ = publish(channel(fake, secret="GOCSPX-wrong-Secret"), ARTICLE, ledger)
    assert receipts[0].state == "failed" and receipts[0].detail == "YouTube OAuth token refresh failed: invalid_grant"


def test_secrets_from_prefect_secret_blocks(workspace, prefect_harness):
    from prefect.blocks.system import Secret

    Secret(value=CLIENT_SECRET).save("koho-youtube-client-secret", overwrite=True)
    Secret(value=REFRESH_TOKEN).save("koho-youtube-refresh-token", overwrite=True)
    settings = YouTubeSettings(
        client_id=CLIENT_ID,
        client_secret_block="koho-youtube-client-secret",
        refresh_token_block="koho-youtube-refresh-token",
    )
    assert settings.configured() and settings.transport_url() == "https://youtube.googleapis.com/"
    assert settings.secrets() == (CLIENT_SECRET, REFRESH_TOKEN)
    from koho.errors import ConfigError

    with pytest.raises(ConfigError, match="KOHO_YOUTUBE_REFRESH_TOKEN_BLOCK='missing'"):
        YouTubeSettings(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token_block="missing").secrets()
