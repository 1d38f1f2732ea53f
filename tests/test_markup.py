"""Markdown rendering and the nh3 allow-list: nothing executable survives."""

from __future__ import annotations

import pytest

from koho.markup import render_markdown, sanitize


@pytest.mark.parametrize(
    "dirty, clean",
    [
        ("<script>alert(1)</script><p>ok</p>", "<p>ok</p>"),
        ('<p onclick="steal()">hi</p>', "<p>hi</p>"),
        ('<a href="javascript:alert(1)">区のページ</a>', "区のページ"),
        ('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', "x"),
        ('<a href="JaVaScRiPt:alert(1)" title="t">y</a>', "y"),
        ('<img src="data:image/png;base64,AAAA" alt="地図">', '<img alt="地図">'),
        ('<iframe src="https://evil.example/"></iframe>', ""),
        ("<style>body{display:none}</style>text", "text"),
    ],
)
def test_dangerous_html_is_removed(dirty, clean):
    assert sanitize(dirty) == clean


def test_safe_links_keep_their_address_and_get_rel():
    html = sanitize('<a href="https://www.city.nerima.tokyo.jp/">練馬区</a> <a href="tel:03-3993-1111">電話</a>')
    assert '<a href="https://www.city.nerima.tokyo.jp/" rel="noopener noreferrer">練馬区</a>' in html
    assert 'href="tel:03-3993-1111"' in html


def test_markdown_features_render():
    html = render_markdown(
        "## 日時\n\n| 項目 | 内容 |\n|---|---|\n| 会場 | 区役所 |\n\n- 一\n- 二\n\n[リンク](javascript:alert(1))"
    )
    assert "<h2>日時</h2>" in html
    assert "<table>" in html and "<td>区役所</td>" in html
    assert "<li>一</li>" in html
    assert "javascript" not in html and "リンク" in html and "<a" not in html


def test_raw_html_in_markdown_is_sanitised():
    html = render_markdown('本文<script>x()</script>\n\n<div onmouseover="x()">区報</div>')
    assert "<script" not in html and "onmouseover" not in html and "区報" in html
