"""``Limits`` is enforced in one place (``channels.common.textfit.fit``) for every channel that
composes text, in the unit its provider counts (ADR 0021)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from channels import facebook, line, youtube
from channels.common.textfit import TextTooLong, fit, measure_of
from channels.x import channel as x
from koho.channel import Limits
from koho.reader import load
from koho.settings import Settings
from koho.social_text import x_weighted_length

LONG = "区民の皆さまへ大切なお知らせです。" * 400  # 6,800 characters, no link


@pytest.mark.parametrize(
    ("channel", "limit", "unit"),
    [
        (x.XChannel, 280, "weighted"),
        (facebook.FacebookChannel, 63206, "chars"),
        (line.LineChannel, 5000, "utf16"),
        (youtube.YouTubeChannel, 5000, "bytes"),
    ],
)
def test_each_api_channel_declares_its_providers_limit(channel, limit, unit):
    assert (channel.limits.body_max, channel.limits.length_unit, channel.limits.overflow) == (limit, unit, "truncate")


def test_truncate_cuts_at_a_sentence_within_the_unit_and_keeps_lead_and_tail():
    url = "https://koho.example.city.lg.jp/articles/x/"
    for unit, budget in (("weighted", 280), ("utf16", 5000), ("bytes", 5000), ("chars", 300)):
        limits = Limits(body_max=budget, length_unit=unit, overflow="truncate")
        text = fit(limits, ["題名", LONG + "😀"], tail=url, lead="▶")
        assert measure_of(limits)(text) <= budget, unit
        assert text.startswith("▶題名\n") and text.endswith("。…\n" + url), unit


def test_text_within_the_limit_is_joined_as_it_is_and_reject_refuses_the_rest():
    limits = Limits(body_max=20, overflow="reject")
    assert fit(limits, [" 題名 ", "", "要旨"], tail="#タグ") == "題名\n要旨\n#タグ"
    with pytest.raises(TextTooLong, match="21 of at most 20"):
        fit(limits, ["あ" * 21])
    assert fit(Limits(), [LONG]) == LONG  # no body_max: nothing to enforce


def test_the_x_post_planned_for_a_long_article_weighs_at_most_280(workspace):
    corpus = load(Settings())
    article = replace(next(iter(corpus.articles.values())), summary=LONG, x_text=None)
    text = x.post_text(article, corpus.site)
    assert x_weighted_length(text) <= 280 and text.endswith(corpus.site.article_url(article.id))


@pytest.mark.parametrize(
    ("channel", "compose"),
    [
        (
            line.LineChannel,
            lambda article, site: line.broadcast_text(article.title, article.summary, site.article_url(article.id)),
        ),
        (youtube.YouTubeChannel, lambda article, site: youtube.description(article, site)),
    ],
    ids=["line", "youtube"],
)
def test_line_and_youtube_fit_a_long_article_within_their_declared_limit(workspace, channel, compose):
    # As X above, in the unit each provider counts. Facebook's 63,206 characters are out of reach
    # of a valid article's title and summary (the link is a separate field), so it has no case.
    corpus = load(Settings())
    article = replace(next(iter(corpus.articles.values())), summary=LONG, x_text=None)
    limits = channel.limits
    assert limits.body_max is not None
    assert 0 < measure_of(limits)(compose(article, corpus.site)) <= limits.body_max
