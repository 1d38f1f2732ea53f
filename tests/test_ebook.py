"""E-book editions: one EPUB 3 per 区報 issue and language, valid by EPUBCheck, stable bytes."""

from __future__ import annotations

import dataclasses
import io
import os
import zipfile
from pathlib import Path

import pytest
from lxml import etree, html

from channels.ebook import EbookChannel, identifier
from koho.bulletin import BulletinIssue, issues_of
from koho.channel import PlanContext, PlansIssues
from koho.clock import now as koho_now
from koho.delivery import State
from koho.i18n import words
from tests import epubcheck
from tests.conftest import CONTENT
from tests.translated import NOW, corpus, translate

ALL = ("en", "zh", "ko", "th", "pt", "es", "id", "vi")
DAY = "2026-11-01"  # the issue with an image (sogo-bousai-kunren-2026)
NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "x": "http://www.w3.org/1999/xhtml",
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
}


def issues() -> dict[str, BulletinIssue]:
    return {i.day.isoformat(): i for i in issues_of(corpus().articles.values(), corpus().site, NOW)}


def edition(issue: BulletinIssue, lang: str, machine: bool = True) -> BulletinIssue:
    """The issue in ``lang``, as the translation step hands it over."""
    if lang == "ja":
        return issue
    return BulletinIssue(issue.day, issue.appears_at, tuple(translate(a, lang, machine) for a in issue.articles))


def context(issue: BulletinIssue) -> PlanContext:
    return PlanContext(site=corpus().site, now=NOW, live={a.id: a for a in issue.articles})


def channel(folder: Path) -> EbookChannel:
    return EbookChannel(f"file://{folder}", CONTENT)


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[tuple[str, str], Path]:
    """Nine editions of the image issue and the Japanese edition of every other issue, written."""
    folder = tmp_path_factory.mktemp("ebooks")
    out = {}
    ebooks = channel(folder)
    for day, issue in issues().items():
        for lang in ("ja", *ALL) if day == DAY else ("ja",):
            one = edition(issue, lang)
            (delivery,) = ebooks.plan_issue(one, context(one))
            assert ebooks.deliver([delivery])[0].state == State.SENT
            out[(day, lang)] = folder / delivery.target
    return out


def unpack(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as book:
        return {name: book.read(name) for name in book.namelist()}


def package(files: dict[str, bytes]) -> etree._Element:
    container = etree.fromstring(files["META-INF/container.xml"])
    return etree.fromstring(files[container.find(".//c:rootfile", NS).get("full-path")])


def test_every_edition_passes_epubcheck_without_errors_or_warnings(books):
    assert len(books) == 12
    found = epubcheck.check(list(books.values()))
    assert {path.name: messages for path, messages in found.items() if messages} == {}


def test_one_book_per_issue_and_language_where_the_issue_page_links(books):
    assert (
        books[(DAY, "en")].relative_to(books[(DAY, "en")].parents[2]).as_posix() == f"ebooks/{DAY}/kuho-{DAY}-en.epub"
    )
    issue = issues()[DAY]
    (delivery,) = channel(Path("unused")).plan_issue(edition(issue, "th"), context(edition(issue, "th")))
    assert delivery.key == f"ebook:ebooks/{DAY}/kuho-{DAY}-th.epub:issue-{DAY}:{edition(issue, 'th').revision}:th"
    assert delivery.content_type == "application/epub+zip"
    assert isinstance(channel(Path("unused")), PlansIssues)
    assert channel(Path("unused")).plan(issue.articles[0], context(issue)) == []


@pytest.mark.parametrize(
    "lang,title",
    [
        ("ja", "区報 2026年11月1日号"),
        ("en", "Nerima City News, 1 November 2026"),
        ("zh", "练马区报 2026年11月1日"),
        ("th", "จดหมายข่าวเขตเนริมะ 1 พฤศจิกายน ค.ศ. 2026"),
    ],
)
def test_metadata(books, lang, title):
    opf = package(unpack(books[(DAY, lang)]))
    meta = opf.find("opf:metadata", NS)
    assert meta.findtext("dc:title", namespaces=NS) == title
    assert meta.findtext("dc:language", namespaces=NS) == {"zh": "zh-Hans"}.get(lang, lang)
    assert meta.findtext("dc:date", namespaces=NS) == DAY
    assert meta.findtext("dc:publisher", namespaces=NS) == corpus().site.publisher
    uid = meta.findtext("dc:identifier", namespaces=NS)
    assert uid == identifier(corpus().site, issues()[DAY].day, lang) and uid.startswith("urn:uuid:")
    modified = meta.find("opf:meta[@property='dcterms:modified']", NS).text
    assert modified == "2026-10-31T22:00:00Z"  # the issue appeared at 07:00 JST; nothing was revised later
    source = meta.findtext("dc:source", namespaces=NS)
    assert source == (None if lang == "ja" else identifier(corpus().site, issues()[DAY].day, "ja"))


def test_identifiers_differ_per_language_and_issue(books):
    uids = {package(unpack(path)).findtext(".//dc:identifier", namespaces=NS) for path in books.values()}
    assert len(uids) == len(books)


@pytest.mark.parametrize("lang", ["ja", "th"])
def test_articles_in_issue_order_with_images_alt_text_and_notice(books, lang):
    files = unpack(books[(DAY, lang)])
    opf = package(files)
    manifest = {item.get("id"): item.get("href") for item in opf.find("opf:manifest", NS)}
    spine = [manifest[ref.get("idref")] for ref in opf.find("opf:spine", NS)]
    issue = edition(issues()[DAY], lang)
    chapters = [html.fromstring(files[f"EPUB/{name}"]) for name in spine[2:]]
    assert spine[:2] == ["title.xhtml", "nav.xhtml"] and len(chapters) == len(issue.articles)
    assert [c.findtext(".//h1") for c in chapters] == [a.title for a in issue.articles]
    nav = html.fromstring(files["EPUB/nav.xhtml"])
    assert [a.text for a in nav.findall(".//nav//a")][1:] == [a.title for a in issue.articles]
    assert nav.findtext(".//h2") == words(lang).contents
    image = next(c for c, a in zip(chapters, issue.articles, strict=True) if a.images).find(".//img")
    assert image.get("alt") == next(a for a in issue.articles if a.images).images[0].alt
    assert files["EPUB/" + image.get("src")] == (CONTENT / "media" / "sogo-bousai-kunren-2026-map.png").read_bytes()
    notices = [c.find_class("note") for c in chapters]
    if lang == "ja":
        assert not any(notices)
    else:
        assert all(n and n[0].text.startswith(words(lang).machine) for n in notices)
        link = notices[0][0].find("a")
        assert link.get("href") == f"{corpus().site.base_url}articles/{issue.articles[0].id}/"
        assert chapters[0].get("lang") == "th"


def test_reviewed_edition_has_no_machine_notice(tmp_path):
    issue = edition(issues()[DAY], "en", machine=False)
    (delivery,) = channel(tmp_path).plan_issue(issue, context(issue))
    with zipfile.ZipFile(io.BytesIO(delivery.body())) as book:
        assert not any(b"Machine-translated" in book.read(n) for n in book.namelist())


def test_bytes_are_stable_so_an_unchanged_issue_writes_nothing(tmp_path, books):
    issue = edition(issues()[DAY], "zh")
    ebooks = channel(tmp_path)
    first = ebooks.plan_issue(issue, context(issue))
    assert ebooks.deliver(first)[0].state == State.SENT
    again = ebooks.plan_issue(issue, context(issue))
    assert again[0].body() == first[0].body() == books[(DAY, "zh")].read_bytes()
    assert ebooks.deliver(again)[0].state == State.SKIPPED
    with zipfile.ZipFile(io.BytesIO(first[0].body())) as book:
        infos = book.infolist()
        assert infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED
        assert {i.date_time for i in infos} == {(2026, 10, 31, 22, 0, 0)}
    # An edited article is a new revision of the issue and a new book.
    edited = BulletinIssue(
        issue.day,
        issue.appears_at,
        (dataclasses.replace(issue.articles[0], title="通知: 新", revision="edited"), *issue.articles[1:]),
    )
    changed = ebooks.plan_issue(edited, context(edited))
    assert changed[0].body() != first[0].body() and edited.revision != issue.revision
    assert ebooks.deliver(changed)[0].state == State.SENT


@pytest.mark.usefixtures("prefect_harness")
def test_publish_writes_the_japanese_editions_and_links_them(workspace, monkeypatch):
    monkeypatch.setenv("KOHO_CHANNELS", "archive,feeds,ebook")
    from flows.publish import publish_article

    appeared = [i.day.isoformat() for i in issues_of(corpus().articles.values(), corpus().site, koho_now())]
    outcomes = publish_article(paths=[os.environ["KOHO_CONTENT_DIR"] + "/articles"])
    public = workspace / "public"
    written = sorted(p.relative_to(public).as_posix() for p in (public / "ebooks").rglob("*.epub"))
    assert DAY in appeared and written == [f"ebooks/{day}/kuho-{day}-ja.epub" for day in appeared]
    page = (public / "bulletin" / DAY / "index.html").read_text(encoding="utf-8")
    assert f'href="../../ebooks/{DAY}/kuho-{DAY}-ja.epub"' in page
    japanese = {o.item_id for o in outcomes if o.channel == "ebook" and o.receipts and o.language is None}
    assert japanese == {f"issue-{d}" for d in appeared}
    # A second run writes nothing: the issues are settled and their bytes unchanged.
    again = publish_article(paths=[os.environ["KOHO_CONTENT_DIR"] + "/articles"])
    assert not [o for o in again if o.channel == "ebook" and o.receipts and o.language is None]


@pytest.mark.parametrize("lang", ["ja", "en", "th"])
def test_accessibility_metadata_in_the_editions_language(books, lang):
    """EPUB Accessibility 1.1: what DAISY Ace asks of every package, the summary in the book's
    language, and the Japanese publisher marked as Japanese in a translated book."""
    files = unpack(books[(DAY, lang)])
    opf = package(files)
    xml_lang = "{http://www.w3.org/XML/1998/namespace}lang"
    assert opf.get(xml_lang) == lang
    meta = opf.find("opf:metadata", NS)
    props: dict[str, list[str]] = {}
    for m in meta.findall("opf:meta[@property]", NS):
        props.setdefault(m.get("property"), []).append(m.text)
    assert props["schema:accessMode"] == ["textual", "visual"]  # the issue has the evacuation map
    assert props["schema:accessModeSufficient"] == ["textual", "textual,visual"]
    assert {"structuralNavigation", "tableOfContents", "alternativeText"} <= set(props["schema:accessibilityFeature"])
    assert props["schema:accessibilityHazard"] == ["none"]
    assert props["schema:accessibilitySummary"] == [words(lang).a11y_summary]
    assert props["dcterms:conformsTo"] == ["EPUB Accessibility 1.1 - WCAG 2.1 Level AA"]
    publisher = meta.find("dc:publisher", NS)
    title_page = html.fromstring(files["EPUB/title.xhtml"])
    shown = [p for p in title_page.iter("{*}p") if p.text == corpus().site.publisher][0]
    if lang == "ja":
        assert publisher.get(xml_lang) is None and shown.get("lang") is None
    else:
        assert publisher.get(xml_lang) == "ja" and shown.get("lang") == "ja"


def test_a_book_without_images_claims_text_only(books):
    other = next(day for day in issues() if day != DAY and not any(a.images for a in issues()[day].articles))
    meta = package(unpack(books[(other, "ja")])).find("opf:metadata", NS)
    modes = [m.text for m in meta.findall("opf:meta[@property='schema:accessMode']", NS)]
    assert modes == ["textual"]
