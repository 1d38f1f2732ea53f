"""The info mail reads well and is standards-exact (issue 17): the text/plain part is readable
plain text (no Markdown, links as numbered footnotes, images as their alt text, wrapped at phrase
or word boundaries), the HTML part shows the images with absolute URLs, and every Subject is
encoded in RFC 2047 encoded-words of at most 75 characters, for every sample article, the digest
and translated editions, under Python's strict e-mail parser."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import budoux
import pytest

from channels.mail.message import address, render, render_digest
from channels.mail.plaintext import PlainText
from channels.mail.words import mail_words
from channels.mail.wrap import WIDTH, width, wrap
from koho.bulletin import issues_of
from koho.reader import read_corpus
from koho.site import load_site
from tests.conftest import CONTENT
from tests.test_mail_message import IDENTITY, WHEN, WHO  # the same list, reader and time
from tests.translated import translate
from tests.validators.tools import markdown_left, strict_mail

DRILL = "sogo-bousai-kunren-2026"
MAP = "https://koho.example.city.lg.jp/media/sogo-bousai-kunren-2026-map.png"
ENCODED_WORD = re.compile(r"=\?[^?]+\?[bBqQ]\?[^?]*\?=")


@pytest.fixture(scope="module")
def corpus():
    return read_corpus(CONTENT, load_site(CONTENT))


def mailed(rendered, tmp_path: Path, name: str = "mail.eml"):
    """The mail as sent, parsed by the strict policy with the validators suite's own check."""
    path = tmp_path / name
    path.write_bytes(address(rendered, IDENTITY, WHO, WHEN))
    message, problems = strict_mail(path)
    assert problems == [], problems
    return message, path.read_bytes()


def parts(message) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    return text, message.get_body(("html",)).get_content()


def body_lines(text: str) -> list[str]:
    """The lines above the signature separator (the footer's links are addresses, not prose)."""
    return text.split("\n-- \n", 1)[0].split("\n")


def test_every_sample_article_is_plain_text_without_markdown(corpus, tmp_path):
    for article in corpus.articles.values():
        message, _raw = mailed(render(article, corpus.site, IDENTITY), tmp_path)
        text, _html = parts(message)
        assert markdown_left(text) == [], article.id
        for line in body_lines(text):
            # Nothing wider than the text's width but what cannot be broken: an address.
            assert width(line) <= WIDTH or "://" in line, (article.id, line)
        if "](" in article.body:  # a Markdown link in the source: a numbered footnote in the text
            assert re.search(r"\S \[1\]", text) and "\n[1] https://" in text, article.id


def test_the_drill_article_reads_well_in_both_parts(corpus, tmp_path):
    article = corpus.articles[DRILL]
    message, _raw = mailed(render(article, corpus.site, IDENTITY), tmp_path)
    text, html = parts(message)
    assert "【日時・会場】" in text and "## " not in text and "**" not in text
    assert "・日時　11月15日（日）午前9時〜正午" in text  # the bullet, the bold label as plain text
    # The link: its text and a number, the address listed after the article, before the site line.
    assert "練馬区の防災情報 [1]もご覧ください。" in text
    footnote = "\n[1] https://www.city.nerima.tokyo.jp/kurashi/bosai/index.html\n"
    assert footnote in text and text.index(footnote) < text.index("詳しくは区のホームページをご覧ください。")
    # The evacuation map: its alt text in the text part, the image with it in the HTML part.
    alt = article.images[0].alt
    assert "".join(f"［画像：{alt}］".split()) in "".join(text.split())
    assert f'<img src="{MAP}" alt="{alt}"' in html


def test_japanese_is_wrapped_at_phrase_boundaries(corpus, tmp_path):
    article = corpus.articles[DRILL]
    paragraph = article.body.strip().split("\n\n", 1)[0]
    message, _raw = mailed(render(article, corpus.site, IDENTITY), tmp_path)
    text, _html = parts(message)
    start = text.index(paragraph[:10])
    lines = text[start:].split("\n\n", 1)[0].split("\n")
    assert len(lines) > 1 and "".join(lines) == paragraph
    assert all(width(line) <= WIDTH for line in lines)
    # Every break falls between two of BudouX's phrases, never inside a word.
    boundaries, at = set(), 0
    for phrase in budoux.load_default_japanese_parser().parse(paragraph):
        at += len(phrase)
        boundaries.add(at)
    ends, at = [], 0
    for line in lines[:-1]:
        at += len(line)
        ends.append(at)
    assert set(ends) <= boundaries, ends


def test_other_languages_wrap_at_words_and_urls_are_never_broken():
    url = "https://www.city.nerima.tokyo.jp/kurashi/bosai/" + "a-very-long-path/" * 5 + "index.html"
    sentence = "The drill is held in Hikarigaoka Park and anyone may take part without applying. " * 3
    lines = wrap(f"{sentence}See {url} for details.", "en", "• ", "  ")
    assert lines[0].startswith("• ") and all(line.startswith("  ") for line in lines[1:])
    assert f"  {url}" in lines and all(width(line) <= WIDTH for line in lines if url not in line)
    assert " ".join(line.strip(" •") for line in lines).split() == f"{sentence}See {url} for details.".split()
    # Japanese left in a translation (a name, a title) breaks at its phrases, and no line starts
    # with a closing bracket or a full stop.
    mixed = "[Image: Notice: " + "総合防災訓練の会場案内図。公園（緑）の中に訓練会場（赤）があります。" * 3 + "]"
    lines = wrap(mixed, "en")
    assert len(lines) > 1 and "".join(lines) == mixed and all(width(line) <= WIDTH for line in lines)
    assert not any(line[0] in "]）。、" for line in lines[1:])
    # Thai has no spaces between words: BudouX's phrases; width counts no combining marks.
    thai = "การฝึกซ้อมป้องกันภัยพิบัติทั่วไปของเขตเนริมะจะจัดขึ้นที่สวนสาธารณะฮิการิงาโอกะ" * 3
    lines = wrap(thai, "th")
    assert len(lines) > 1 and "".join(lines) == thai and all(width(line) <= WIDTH for line in lines)


def test_a_table_a_list_and_links_without_markup():
    html = (
        "<h2>Fees</h2>\n<table><thead><tr><th>Certificate</th><th>Fee</th></tr></thead>"
        "<tbody><tr><td>Residence record</td><td>200 yen</td></tr></tbody></table>\n"
        '<ol start="3"><li>First <a href="https://example.jp/a">step</a></li><li>Then<ul><li>nested</li></ul></li></ol>\n'
        '<p>Mail <a href="mailto:bosai@example.jp">bosai@example.jp</a>, see <a href="https://example.jp/a">again</a>'
        '<sup id="fnref:1"><a href="#fn:1">1</a></sup>.<br>Next line <img src="https://x/m.png" alt="a map"></p>\n'
        '<div class="footnote"><hr><ol><li id="fn:1"><p>A note <a href="#fnref:1">↩</a></p></li></ol></div>'
    )
    out = PlainText("en", mail_words("en"))
    out.html(html)
    out.footnotes()
    assert out.text() == (
        "■ Fees\n"
        "\n"
        "• Certificate: Residence record\n"
        "  Fee: 200 yen\n"
        "\n"
        "3. First step [1]\n"
        "4. Then\n"
        "   • nested\n"
        "\n"
        "Mail bosai@example.jp, see again [1]*1.\n"
        "Next line [Image: a map]\n"
        "\n"
        "──────────────────────────────\n"
        "\n"
        "*1 A note\n"
        "\n"
        "[1] https://example.jp/a\n"
    )
    assert markdown_left(out.text()) == []


@pytest.mark.parametrize("length", [1, 20, 37, 38, 39, 45, 60, 75, 100, 120])
def test_long_japanese_subjects_are_encoded_words_of_at_most_75(corpus, tmp_path, length):
    title = ("11月15日（日）練馬区総合防災訓練を光が丘公園で実施します、ABC def " * 5)[:length]
    article = replace(corpus.articles[DRILL], title=title)
    message, raw = mailed(render(article, corpus.site, IDENTITY), tmp_path)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert message["Subject"] == title
    assert all(len(word) <= 75 for word in ENCODED_WORD.findall(head))
    # Every header line within RFC 5322's 78 but the one URI that cannot be folded.
    assert [line for line in head.split("\r\n") if len(line) > 78 and not line.startswith("List-Unsubscribe:")] == []


@pytest.mark.parametrize("language", ["en", "zh", "ko", "th", "pt", "es", "id", "vi"])
def test_translated_mails_are_exact_too(corpus, tmp_path, language):
    english = "General disaster prevention drill at Hikarigaoka Park on Sunday, November 15, open to everyone"
    article = translate(corpus.articles[DRILL], language)
    article = replace(article, title=f"{article.title} {english} 総合防災訓練を光が丘公園で実施")
    message, raw = mailed(render(article, corpus.site, IDENTITY), tmp_path)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert message["Subject"] == article.title
    assert all(len(word) <= 75 for word in ENCODED_WORD.findall(head))
    text, html = parts(message)
    assert markdown_left(text) == []
    # The image's word comes from the language's catalog, never the Japanese 画像.
    alt = article.images[0].alt
    assert "".join(mail_words(language).image.format(alt=alt).split()) in "".join(text.split())
    assert "画像" not in text and f'<img src="{MAP}" alt="{alt}"' in html
    assert mail_words(language).heading.format(heading=f"{translate_word(language)} 1") in text


def translate_word(language: str) -> str:
    from tests.translated import WORD

    return WORD[language]


def test_the_digest_is_plain_text_and_exact(corpus, tmp_path):
    now = datetime(2027, 1, 5, tzinfo=UTC)
    for issue in issues_of(corpus.articles.values(), corpus.site, now):
        message, raw = mailed(render_digest(issue, issue.articles, corpus.site, IDENTITY), tmp_path)
        text, _html = parts(message)
        assert markdown_left(text) == [] and "■ " in text
        assert all(width(line) <= WIDTH or "://" in line for line in body_lines(text))
        head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
        assert all(len(word) <= 75 for word in ENCODED_WORD.findall(head))


def test_markdown_left_finds_what_a_reader_would_see_as_syntax():
    source = "## Heading\n\nSome **bold** and a [link](https://x.jp).\n\n| a | b |\n\n![map](media/m.png)\n"
    kinds = {found.split(" in the text part")[0] for found in markdown_left(source)}
    assert kinds == {"Markdown heading", "Markdown emphasis", "Markdown link or image", "Markdown table row"}
    assert markdown_left("【見出し】\n・項目\n1. 手順\nリンク [1]\n\n[1] https://x.jp/\n") == []
