"""Real validators over one lifecycle build (``lifecycle.py``): first publish, a correction,
a withdrawal and an issue's digest, in Japanese, English and Korean.

Each test prints its figures (what it checked and what it found) so the counts per validator
can be quoted from the output; each asserts that the validator found nothing.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.argos_home import argos_home  # noqa: F401  (the session fixture, by name)
from tests.validators import tools
from tests.validators.lifecycle import CORRECTED, LANGUAGES, WITHDRAWN, Lifecycle, build

pytestmark = pytest.mark.usefixtures("prefect_harness", "argos_home")

#: Desktop and mobile.
VIEWPORTS = ((1280, 900), (375, 812))


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory, prefect_harness, argos_home) -> Lifecycle:  # noqa: F811
    with pytest.MonkeyPatch.context() as mp:
        yield build(tmp_path_factory.mktemp("lifecycle"), mp)


def report(capsys, line: str) -> None:
    """Print a figure past pytest's capture, so the run's output carries it."""
    with capsys.disabled():
        print(f"\n[validators] {line}")


def test_the_build_went_through_the_lifecycle(lifecycle):
    public = lifecycle.public
    for prefix in ("", *(f"{lang}/" for lang in LANGUAGES)):
        page = (public / f"{prefix}articles/{CORRECTED}/index.html").read_text(encoding="utf-8")
        assert 'class="change-note"' in page, prefix
        withdrawn = (public / f"{prefix}articles/{WITHDRAWN}/index.html").read_text(encoding="utf-8")
        assert "noindex" in withdrawn, prefix
        # The search page is among the pages validated, and the run indexed its edition.
        assert (public / f"{prefix}search/index.html").is_file(), prefix
        assert list((public / f"{prefix}pagefind").glob("*/pagefind.js")), prefix
    assert {p.name for p in (public / "ebooks" / "2026-12-01").glob("*.epub")} == {
        f"kuho-2026-12-01-{lang}.epub" for lang in ("ja", *LANGUAGES)
    }
    digests = [m for m in lifecycle.mails() if m.parent.name.startswith("issue-")]
    assert len(digests) == 3, [str(m) for m in lifecycle.mails()]  # one per digest reader


def test_nu_html_checker(lifecycle, capsys):
    pages = lifecycle.pages()
    errors = tools.nu_html_checker(pages)
    report(capsys, f"Nu Html Checker: {len(pages)} pages, {len(errors)} errors")
    assert [(m.get("url", "").rsplit("/public/", 1)[-1], m.get("message")) for m in errors] == []


def test_axe_core_in_headless_chromium(lifecycle, capsys):
    urls = [p.as_uri() for p in lifecycle.pages()]
    found = tools.axe(urls, VIEWPORTS)
    violations = [(where.rsplit("/public/", 1)[-1], v["id"], v["impact"]) for where, vs in found.items() for v in vs]
    report(
        capsys,
        f"axe-core: {len(found)} runs ({len(urls)} pages x {len(VIEWPORTS)} viewports), {len(violations)} violations",
    )
    assert violations == []


def test_daisy_ace(lifecycle, capsys):
    books = lifecycle.ebooks()
    found = tools.ace(books)
    impacts = Counter(a.get("earl:impact") for items in found.values() for a in items)
    report(
        capsys,
        f"DAISY Ace: {len(books)} EPUBs, {impacts.get('critical', 0)} critical, "
        f"{impacts.get('serious', 0)} serious, {impacts.get('moderate', 0)} moderate, {impacts.get('minor', 0)} minor",
    )
    serious = [
        (b.name, a["doc"], a.get("dct:title"))
        for b, items in found.items()
        for a in items
        if a.get("earl:impact") in ("critical", "serious")
    ]
    assert serious == []


def test_epubcheck(lifecycle, capsys):
    from tests import epubcheck

    books = lifecycle.ebooks()
    found = epubcheck.check(books)
    messages = {path.name: m for path, m in found.items() if m}
    report(capsys, f"EPUBCheck: {len(books)} EPUBs, {sum(map(len, messages.values()))} messages (errors and warnings)")
    assert messages == {}


def test_feeds(lifecycle, capsys):
    feeds = lifecycle.feeds()
    problems = {f.relative_to(lifecycle.public).as_posix(): tools.feed_problems(f) for f in feeds}
    problems = {k: v for k, v in problems.items() if v}
    report(capsys, f"RSS/Atom conformance: {len(feeds)} feeds, {sum(map(len, problems.values()))} problems")
    assert problems == {}


def test_every_mail_passes_the_strict_parser(lifecycle, capsys):
    mails = lifecycle.mails()
    problems = {}
    for path in mails:
        try:
            message, found = tools.strict_mail(path)
            found += [] if message["Content-Language"] else ["no Content-Language"]
        except Exception as exc:  # the strict policy raises on the first defect
            found = [f"{type(exc).__name__}: {exc}"]
        if found:
            problems[path.relative_to(lifecycle.outbox).as_posix()] = found
    report(capsys, f"email.policy.strict: {len(mails)} mails, {sum(map(len, problems.values()))} problems")
    assert mails and problems == {}
