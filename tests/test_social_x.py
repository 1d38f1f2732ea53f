"""X: text within the weighted limit, honest receipts against a loopback fake X API, follow-ups."""

from __future__ import annotations

import json

import pytest

from channels.common.textfit import cut, fit_parts
from channels.x import XChannel, XSettings
from channels.x.channel import post_text
from koho.ledger import Ledger
from koho.settings import Settings
from koho.site import load_site
from koho.social_text import x_override_problem, x_weighted_length
from tests.fakes.steps import corpus, edit_front_matter, publish, rows
from tests.fakes.x_api import CREDENTIALS, FakeX

URL = "https://koho.example.city.lg.jp/articles/a/"


@pytest.fixture
def fake_x():
    fake = FakeX().start()
    yield fake
    fake.stop()


@pytest.fixture
def x_env(workspace, fake_x, monkeypatch):
    monkeypatch.setenv("KOHO_X_URL", fake_x.url)
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(f"KOHO_X_{name.upper()}", value)
    ledger = Ledger(Settings().db_url())
    yield fake_x, ledger
    ledger.close()


def channel(fake: FakeX, **overrides) -> XChannel:
    return XChannel(XSettings(url=fake.url, timeout=1.0, **{**CREDENTIALS, **overrides}))


# -- the weighted length at its edges ----------------------------------------------------------


@pytest.mark.parametrize(
    "text, weight",
    [
        ("あ" * 140, 280),
        ("あ" * 141, 282),
        ("a" * 280, 280),
        ("😀" * 140, 280),
        ("👨‍👩‍👧" * 140, 280),  # one family emoji (5 code points) weighs 2, like X counts it
        (URL, 23),
        ("x " + "https://example.com/" + "a" * 300, 25),
    ],
)
def test_weighted_length_follows_x_rules(text, weight):
    assert x_weighted_length(text) == weight


def test_a_url_at_the_limit_is_never_cut():
    # 128 CJK (256) + newline (1) + URL (23) = 280 exactly: all of it fits.
    text = fit_parts(["あ" * 128], URL, 280, x_weighted_length)
    assert text == "あ" * 128 + "\n" + URL and x_weighted_length(text) == 280
    # One more character (282 > 280): the text is cut, the URL stays whole.
    text = fit_parts(["あ" * 129], URL, 280, x_weighted_length)
    assert text.endswith("…\n" + URL) and x_weighted_length(text) <= 280


def test_cut_prefers_sentence_then_clause_boundaries():
    text = "区では、防災訓練を実施します。光が丘公園で、どなたでも参加できます。"
    assert cut(text, 40, x_weighted_length) == "区では、防災訓練を実施します。…"
    assert cut(text, 20, x_weighted_length) == "区では、…"
    emoji = "🎉" * 50
    assert x_weighted_length(cut(emoji, 21, x_weighted_length)) <= 21


def test_generated_posts_of_every_sample_fit(workspace):
    content = corpus()
    for article in content.articles.values():
        text = post_text(article, content.site)
        assert x_weighted_length(text) <= 280, article.id
        assert text.endswith(f"https://koho.example.city.lg.jp/articles/{article.id}/")


def test_hand_written_text_is_checked_not_cut(workspace):
    site = load_site(workspace / "content")
    url = site.url("articles/x/")
    fits = "あ" * 128  # 256 + newline + link 23 = 280
    assert x_override_problem(fits, url) is None
    problem = x_override_problem(fits + "あ", url)
    assert "282 of X's 280" in problem and "shorten it by 2" in problem
    assert x_override_problem("🙂" * 128, url) is None and x_override_problem("🙂" * 129, url)


def test_koho_check_names_file_line_and_field_of_a_long_x_text(workspace):
    from typer.testing import CliRunner

    from koho.cli import app

    edit_front_matter(workspace, "sogo-bousai-kunren-2026", x=json.dumps({"text": "あ" * 129}, ensure_ascii=False))
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 1
    line = next(ln for ln in result.output.splitlines() if "x.text" in ln)
    assert "sogo-bousai-kunren-2026.md:" in line and "weighs 282 of X's 280" in line
    assert "Traceback" not in result.output


# -- receipts against the fake API -------------------------------------------------------------


def test_post_once_with_the_id_x_returned_and_a_rerun_posts_nothing(x_env):
    fake, ledger = x_env
    receipts, transient = publish(channel(fake), "sogo-bousai-kunren-2026", ledger)
    assert transient is None and [r.state for r in receipts] == ["sent"]
    ((post_id, body),) = fake.posts.items()
    assert receipts[0].provider_ref == post_id and "#防災" in body["text"]
    assert rows(ledger, "x")["post"]["provider_ref"] == post_id
    receipts, _ = publish(channel(fake), "sogo-bousai-kunren-2026", ledger)
    assert receipts == [] and len(fake.calls("POST")) == 1
    assert fake.rejected == []  # every signature checked out


def test_rate_limit_waits_for_the_reset_then_posts(x_env):
    fake, ledger = x_env
    fake.rate_limit_next(reset_in=1)
    receipts, transient = publish(channel(fake), "sogo-bousai-kunren-2026", ledger)
    assert transient is not None and 0 < transient.retry_after <= 2
    row = rows(ledger, "x")["post"]
    assert row["state"] == "pending" and "429" in row["detail"] and row["attempts"] == 1
    receipts, transient = publish(channel(fake), "sogo-bousai-kunren-2026", ledger)  # Prefect's retry
    assert transient is None and receipts[0].state == "sent" and len(fake.posts) == 1


@pytest.mark.parametrize(
    "fault, detail",
    [
        (dict(status=500, body={"title": "Internal Error"}), "X 500"),
        (dict(timeout=1.5), "X did not answer after the request was sent"),
    ],
)
def test_server_errors_and_timeouts_stay_open_then_succeed(x_env, fault, detail, clock):
    fake, ledger = x_env
    fake.fail_next(**fault)
    _, transient = publish(channel(fake), "sogo-bousai-kunren-2026", ledger)
    row = rows(ledger, "x")["post"]
    # A 500 is a refusal (retried); a timeout after sending may hide a post (uncertain).
    assert row["state"] == ("pending" if "500" in detail else "uncertain") and row["detail"].startswith(detail)
    clock.advance(minutes=2)  # a later run: the post is not in the timeline, so it is made now
    receipts, transient = publish(channel(fake), "sogo-bousai-kunren-2026", ledger)
    assert transient is None and receipts[0].state == "sent" and len(fake.posts) == 1


def test_a_post_accepted_but_unanswered_is_found_not_posted_twice(x_env, clock):
    fake, ledger = x_env
    fake.fail_next(accept=True, timeout=1.5, path="/2/tweets")  # X posts it; the answer is lost
    publish(channel(fake), "sogo-bousai-kunren-2026", ledger)
    assert rows(ledger, "x")["post"]["state"] == "uncertain" and len(fake.posts) == 1
    publish(channel(fake), "sogo-bousai-kunren-2026", ledger)  # too soon: not even looked at
    assert rows(ledger, "x")["post"]["state"] == "uncertain" and len(fake.calls("POST")) == 1
    clock.advance(minutes=2)
    receipts, transient = publish(channel(fake), "sogo-bousai-kunren-2026", ledger)
    row = rows(ledger, "x")["post"]
    assert transient is None and row["state"] == "sent" and row["provider_ref"] == next(iter(fake.posts))
    assert len(fake.posts) == 1 and len(fake.calls("POST")) == 1 and fake.rejected == []


def test_bad_credentials_fail_and_duplicates_are_found_with_x_message(x_env, clock):
    fake, ledger = x_env
    receipts, _ = publish(channel(fake, consumer_secret="wrong"), "sogo-bousai-kunren-2026", ledger)
    assert receipts[0].state == "failed" and receipts[0].detail.startswith("X 401")
    assert fake.rejected == ["bad OAuth signature"] and not fake.posts
    fake.posts["1"] = {"text": post_text(corpus().articles["tokushu-sagi-chuui"], corpus().site)}
    receipts, _ = publish(channel(fake), "tokushu-sagi-chuui", ledger)
    # X's duplicate refusal means the text is live: uncertain, then found and recorded with its
    # id (so a withdrawal can delete it), never a failure without one.
    assert receipts[0].state == "uncertain" and "duplicate content" in receipts[0].detail
    clock.advance(minutes=2)
    publish(channel(fake), "tokushu-sagi-chuui", ledger)
    found = ledger.rows(article_id="tokushu-sagi-chuui", channel="x")[0]
    assert found["state"] == "sent" and found["provider_ref"] == "1" and len(fake.posts) == 1


def test_change_note_replies_once_and_withdrawal_deletes(x_env, workspace):
    fake, ledger = x_env
    article = "sogo-bousai-kunren-2026"
    publish(channel(fake), article, ledger)
    post_id = rows(ledger, "x")["post"]["provider_ref"]

    edit_front_matter(workspace, article, summary="会場を変更しました。")  # no note: nothing new
    receipts, _ = publish(channel(fake), article, ledger)
    assert receipts == [] and len(fake.posts) == 1

    edit_front_matter(workspace, article, change_note="集合時間を午前9時に訂正しました。")
    receipts, _ = publish(channel(fake), article, ledger)
    assert [r.state for r in receipts] == ["sent"]
    reply = fake.posts[receipts[0].provider_ref]
    assert reply["reply"] == {"in_reply_to_tweet_id": post_id}
    assert reply["text"].startswith("【訂正・変更】集合時間を午前9時に訂正しました。")

    edit_front_matter(workspace, article, title="総合防災訓練（時間訂正）")  # same note: no second reply
    receipts, _ = publish(channel(fake), article, ledger)
    assert receipts == [] and len(fake.posts) == 2

    edit_front_matter(workspace, article, status="withdrawn")
    receipts, _ = publish(channel(fake), article, ledger)
    assert [(r.state, r.provider_ref) for r in receipts] == [("sent", post_id)]
    assert post_id not in fake.posts and fake.calls("DELETE")
    receipts, _ = publish(channel(fake), article, ledger)
    assert receipts == [] and len(fake.calls("DELETE")) == 1


def test_a_note_present_at_first_publication_is_not_replied(x_env, workspace):
    fake, ledger = x_env
    edit_front_matter(workspace, "tokushu-sagi-chuui", change_note="電話番号を訂正しました。")
    receipts, _ = publish(channel(fake), "tokushu-sagi-chuui", ledger)
    assert [r.state for r in receipts] == ["sent", "skipped"] and len(fake.posts) == 1


def test_outbox_by_default_writes_the_exact_request(workspace, monkeypatch):
    from channels.registry import build

    monkeypatch.chdir(workspace)
    (chan,) = build(Settings(), ["x"])
    assert chan.describe() == "outbox://outbox/x"
    ledger = Ledger(Settings().db_url())
    receipts, _ = publish(chan, "sogo-bousai-kunren-2026", ledger)
    ledger.close()
    written = json.loads((workspace / "outbox" / "x" / "sogo-bousai-kunren-2026--post.json").read_text())
    assert receipts[0].provider_ref == "outbox:sogo-bousai-kunren-2026--post.json"
    assert written["method"] == "POST" and written["url"] == "https://api.twitter.com/2/tweets"
    assert x_weighted_length(written["json"]["text"]) <= 280


def test_api_url_without_credentials_is_a_configuration_error(workspace, monkeypatch):
    from koho.errors import ConfigError

    monkeypatch.setenv("KOHO_X_URL", "https://api.twitter.com")
    from channels.x import load_settings

    with pytest.raises(ConfigError, match="KOHO_X_CONSUMER_KEY"):
        XChannel(load_settings())


def test_every_copy_reconciliation_finds_is_recorded_and_deleted_on_withdrawal(x_env, workspace, clock):
    """A post X already shows twice (made before koho knew: two lost answers under an older
    version): X refuses a third as duplicate; the next run finds both, records the oldest as the
    post and the other as a copy in doubt; a withdrawal deletes both."""
    fake, ledger = x_env
    article = "sogo-bousai-kunren-2026"
    text = post_text(corpus().articles[article], corpus().site)
    fake.posts.update({"1900000000000000001": {"text": text}, "1900000000000000002": {"text": text}})
    receipts, _ = publish(channel(fake), article, ledger)
    assert receipts[0].state == "uncertain" and "duplicate content" in receipts[0].detail
    clock.advance(minutes=2)
    publish(channel(fake), article, ledger)
    found = rows(ledger, "x")
    assert found["post"]["state"] == "sent" and found["post"]["provider_ref"] == "1900000000000000001"
    assert found["post+1900000000000000002"]["in_doubt"] and found["post+1900000000000000002"]["state"] == "sent"
    assert "1 more copies recorded" in found["post"]["detail"]

    edit_front_matter(workspace, article, status="withdrawn")
    receipts, _ = publish(channel(fake), article, ledger)
    assert sorted(r.state for r in receipts) == ["sent", "sent"] and fake.posts == {}
