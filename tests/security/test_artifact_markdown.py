"""The Prefect artifact of a run with nothing due is Markdown that quotes an article's id and title:
content must stay text there, as in every other sink (the Prefect UI renders the Markdown)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from markdown_it import MarkdownIt

from koho.report import markdown_text, nothing_due

HOSTILE = (
    "[公開](javascript:alert(1)) ![x](http://evil.example/t.png) <img src=x onerror=alert(1)> "
    "# 見出し *強調* `code` <b>太字</b>\n\n- 一覧"
)


class _Article:
    id = "sagi-[chuui](http://evil.example)"
    title = HOSTILE
    status = "ready"
    publish_at = datetime(2026, 12, 1, tzinfo=UTC)
    on_site_at = publish_at  # not a press release: on the site when it is published


def test_a_title_in_the_artifact_is_literal_text():
    lines = nothing_due([_Article()], _Article.publish_at - timedelta(days=1), UTC, literal=markdown_text)
    html = MarkdownIt("commonmark").render("\n\n".join(lines))
    for live in ("<a ", "<img", "<b>", "<h1", "<em>", "<code>", "<li>"):
        assert live not in html, (live, html)
    assert "javascript:alert(1)" in html  # still there, as the words PR staff wrote
    assert html.count("<p>") == 2  # the title's line break did not start a block of its own
