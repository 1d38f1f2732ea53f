"""Denial of service by content input (issue 12): YAML aliases, front matter and file size."""

from __future__ import annotations

import time

import pytest

from koho.errors import ContentInvalid
from koho.reader import MAX_ARTICLE_BYTES, read_corpus
from koho.site import load_site

LAUGHS = """---
title: 防災
publish_at: 2026-11-01 09:00
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
---
本文
"""


def test_yaml_aliases_in_front_matter_are_refused_quickly(content):
    (content / "articles" / "laughs.md").write_text(LAUGHS, encoding="utf-8")
    started = time.process_time()
    corpus = read_corpus(content, load_site(content))
    assert time.process_time() - started < 2
    [error] = corpus.errors
    assert (error.line, error.field) == (4, "front matter")
    assert "anchors and aliases" in error.message


def test_a_single_alias_is_refused_too(content):
    (content / "articles" / "a.md").write_text(
        "---\ntitle: &t 防災\npublish_at: 2026-11-01 09:00\nsummary: *t\n---\n本文\n", encoding="utf-8"
    )
    [error] = read_corpus(content, load_site(content)).errors
    assert error.line == 2 and "aliases" in error.message


def test_aliases_in_site_yaml_are_refused(content):
    site = content / "site.yaml"
    site.write_text(site.read_text(encoding="utf-8") + "\nx: &x [1]\ny: *x\n", encoding="utf-8")
    with pytest.raises(ContentInvalid) as caught:
        load_site(content)
    assert "aliases" in caught.value.errors[0].message


def test_aliases_in_the_glossary_are_refused(content):
    from translations.glossary import load_glossary

    (content / "glossary.yaml").write_text("a: &x {en: A}\nb: *x\n", encoding="utf-8")
    _, errors = load_glossary(content, ["en"])
    assert errors and "aliases" in errors[0].message and errors[0].line == 1


def test_front_matter_size_is_capped(content):
    big = "---\ntitle: 防災\npublish_at: 2026-11-01 09:00\n" + "".join(f"k{i}: {'x' * 60}\n" for i in range(400))
    (content / "articles" / "big.md").write_text(big + "---\n本文\n", encoding="utf-8")
    [error] = read_corpus(content, load_site(content)).errors
    assert error.field == "front matter" and "larger than" in error.message


def test_article_file_size_is_capped(content):
    text = "---\ntitle: 防災\npublish_at: 2026-11-01 09:00\n---\n" + "本文。\n" * (MAX_ARTICLE_BYTES // 8)
    (content / "articles" / "huge.md").write_text(text, encoding="utf-8")
    [error] = read_corpus(content, load_site(content)).errors
    assert error.field == "file" and "larger than" in error.message
