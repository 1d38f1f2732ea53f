"""`koho check` says what is wrong with malformed front matter in plain words: the line of a YAML
mistake (where it was made, not where the parser gave up) and, for a null or wrong-typed value,
what the field takes and what was written, never pydantic's type names (ISSUE 11 §4)."""

from __future__ import annotations

import pytest

from tests.test_reader import GOOD, messages, read

INTERNALS = (
    "Input should",
    "NoneType",
    "instance of",
    "dictionary",
    "valid string",
    "valid list",
    "ImageRef",
    "invalid YAML",
    "scalar",
    "token",
    "<block end>",
)


@pytest.mark.parametrize(
    "source, expected",
    [
        # a second ': ' in a value
        (
            "---\ntitle: 訓練: 変更\npublish_at: 2026-11-01 09:00\n---\n本文\n",
            "x.md:2: front matter: this is not valid YAML: a second ':' on this line: put the value in quotes",
        ),
        # a quote opened on line 2 and never closed: the parser notices at the end
        (
            '---\ntitle: "訓練のお知らせ\npublish_at: 2026-11-01 09:00\nsummary: x\n---\n本文\n',
            "x.md:2: front matter: this is not valid YAML: a quote opened here is never closed",
        ),
        # a list opened on line 4 and never closed
        (
            "---\ntitle: t\npublish_at: 2026-11-01 09:00\ntopics: [bousai\nsummary: x\n---\n本文\n",
            "x.md:4: front matter: this is not valid YAML: a '[' opened here is never closed",
        ),
        # a key indented under another
        (
            "---\ntitle: t\n  publish_at: 2026-11-01 09:00\nsummary: x\n---\n本文\n",
            "x.md:3: front matter: this is not valid YAML: a second ':' on this line",
        ),
        # a tab
        (
            "---\n\ttitle: t\n---\n本文\n",
            "x.md:2: front matter: this is not valid YAML: a character YAML does not allow here (a tab?",
        ),
        # a key outdented inside a list of images
        (
            "---\ntitle: t\npublish_at: 2026-11-01 09:00\nimages:\n  - src: media/a.png\n   alt: x\n---\n本文\n",
            "x.md:6: front matter: this is not valid YAML:",
        ),
    ],
)
def test_yaml_mistakes_point_at_their_line_in_words(content, source, expected):
    corpus = read(content, {"x.md": source})
    found = messages(corpus)
    assert any(m.startswith(expected) for m in found), found
    assert not any(word in m for m in found for word in INTERNALS), found


@pytest.mark.parametrize(
    "change, expected",
    [
        (("title: 防災訓練のお知らせ", "title:"), "x.md:2: title: no value: write one line of text after the ':'"),
        (
            ("publish_at: 2026-11-01 09:00", "publish_at: ~"),
            "x.md:3: publish_at: no value: write a date and time such as 2026-12-01 09:00 after the ':'",
        ),
        (
            ("summary: 区内全域で総合防災訓練を行います。", "summary: null"),
            "x.md:4: summary: no value: write text after the ':', or remove the line",
        ),
        (
            ("topics: [bousai]", "topics:"),
            "x.md:5: topics: no value: write a list of topic keys such as [bousai, kurashi] after the ':', or remove",
        ),
        (("title: 防災訓練のお知らせ", "title: 2026"), "x.md:2: title: expected one line of text; got the number 2026"),
        (
            ("summary: 区内全域で総合防災訓練を行います。", "summary: [a, b]"),
            "x.md:4: summary: expected text; got a list",
        ),
        (
            ("summary: 区内全域で総合防災訓練を行います。", "summary: {a: 1}"),
            "x.md:4: summary: expected text; got 'key: value' lines",
        ),
        (
            ("topics: [bousai]", "topics: [1]"),
            "x.md:5: topics[0]: expected a topic key of content/site.yaml, such as bousai; got the number 1",
        ),
        (
            ("bulletin: 2026-11-01", "status: yes"),
            "x.md:6: status: must be draft, ready or withdrawn; got a yes/no value (true); "
            "put it in quotes if it is text",
        ),
        (
            ("bulletin: 2026-11-01", "status: Ready"),
            "x.md:6: status: must be draft, ready or withdrawn; got the text 'Ready' (write it in lowercase)",
        ),
        (
            ("bulletin: 2026-11-01", "images: [media/map.png]"),
            "x.md:6: images[0]: expected an image: 'src:' and 'alt:' lines under the '-'; got the text 'media/map.png'",
        ),
        (
            ("bulletin: 2026-11-01", "images:\n  - src: media/sogo-bousai-kunren-2026-map.png\n    alt:"),
            "x.md:8: images[0].alt: no value: write text that describes the image after the ':'",
        ),
        (
            ("bulletin: 2026-11-01", "youtube: hL3xK9_pWz4"),
            "x.md:6: youtube: expected a 'video_id:' line under it, such as youtube: {video_id: hL3xK9_pWz4}; "
            "got the text",
        ),
        (("bulletin: 2026-11-01", "x: 手書きの投稿"), "x.md:6: x: expected a 'text:' line under it"),
        (
            ("bulletin: 2026-11-01", "id: 42"),
            "x.md:6: id: expected a lowercase slug such as sogo-bousai-kunren-2026; got the number 42",
        ),
        (("bulletin: 2026-11-01", "bulletin: 20261101"), "x.md:6: bulletin: expected a date such as 2026-12-01"),
    ],
)
def test_null_and_wrong_typed_values_say_what_was_expected(content, change, expected):
    corpus = read(content, {"x.md": GOOD.replace(*change)})
    found = messages(corpus)
    assert any(m.startswith(expected) for m in found), found
    assert not any(word in m for m in found for word in INTERNALS), found
