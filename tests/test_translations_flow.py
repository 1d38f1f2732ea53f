"""The publish flows with translations: one Prefect task per article and language, translated
articles and issues planned on every channel that takes their language, skipped rows that name
the package to install. A probe channel (taking every language) shows what channels receive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pytest

from channels import registry
from koho.channel import Limits
from koho.delivery import Delivery, Receipt
from koho.ledger import Ledger
from koho.settings import Settings
from translations.translator import LANGUAGES

pytestmark = pytest.mark.usefixtures("prefect_harness", "argos_home")

FIRST = "articles/2026/sogo-bousai-kunren-2026.md"
SECOND = "articles/2026/tokushu-sagi-chuui.md"


class Probe:
    """Writes what it is given, per language: title, machine flag, the live ids it saw."""

    name: ClassVar[str] = "probe"
    limits: ClassVar[Limits] = Limits(languages=("ja", *LANGUAGES, "fr"))

    def __init__(self, base: Path):
        self.out = base / "probe"

    def plan(self, article, ctx):
        note = article.translation
        body = {
            "title": article.title,
            "machine": note.machine if note else None,
            "live": sorted(ctx.live),
            "live_languages": sorted({a.language for a in ctx.live.values()}),
        }
        return [
            Delivery(
                self.name,
                f"{article.language}/{article.id}.json",
                article.id,
                article.revision,
                article.language,
                json.dumps(body, ensure_ascii=False).encode(),
            )
        ]

    def plan_issue(self, issue, ctx):
        language = issue.articles[0].language
        body = {"titles": [a.title for a in issue.articles]}
        return [
            Delivery(
                self.name,
                f"{language}/{issue.id}.json",
                issue.id,
                issue.revision,
                language,
                json.dumps(body, ensure_ascii=False).encode(),
            )
        ]

    def deliver(self, batch):
        for delivery in batch:
            path = self.out / delivery.target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(delivery.body())
        return [Receipt.sent(d.key, "probe") for d in batch]

    def describe(self):
        return "probe"

    def close(self):
        pass


@pytest.fixture
def probe(workspace, monkeypatch):
    monkeypatch.setitem(registry.REGISTRY, "probe", lambda settings, base: Probe(workspace))
    monkeypatch.setenv("KOHO_CHANNELS", "probe")
    return workspace / "probe"


def versions(article_id: str) -> list[str]:
    """The keys of an article's nine versions in ``ctx.live``."""
    return sorted([article_id, *(f"{article_id}@{lang}" for lang in LANGUAGES)])


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_an_article_and_its_issue_in_all_nine_languages(probe, workspace):
    from flows.publish import publish_article

    content = workspace / "content"
    outcomes = publish_article([str(content / FIRST)])
    for language in LANGUAGES:
        got = read(probe / language / "sogo-bousai-kunren-2026.json")
        assert got["title"].startswith(f"⟨{language}⟩") and got["machine"] is True
        # Every plan sees every language's versions (originals by id, translations by id@lang).
        assert got["live"] == versions("sogo-bousai-kunren-2026")
        assert got["live_languages"] == sorted(["ja", *LANGUAGES])
        issue = read(probe / language / "issue-2026-11-01.json")
        assert issue["titles"] and all(t.startswith(f"⟨{language}⟩") for t in issue["titles"])
    assert read(probe / "ja" / "sogo-bousai-kunren-2026.json")["machine"] is None  # the original, unlabelled
    assert {(o.item_id, o.language) for o in outcomes} >= {("sogo-bousai-kunren-2026", lang) for lang in LANGUAGES}

    ledger = Ledger(Settings().db_url())
    rows = ledger.rows(article_id="sogo-bousai-kunren-2026", channel="probe")
    assert sorted(r["language"] for r in rows) == sorted(["ja", *LANGUAGES])
    assert {r["state"] for r in rows} == {"sent"}
    # Ledger keys carry the language; each translation has its own revision.
    assert len({r["revision"] for r in rows}) == 9

    # The second article's listing in each language holds the first one's translation too.
    publish_article([str(content / SECOND)])
    assert read(probe / "th" / "tokushu-sagi-chuui.json")["live"] == sorted(
        versions("sogo-bousai-kunren-2026") + versions("tokushu-sagi-chuui")
    )
    assert read(probe / "ja" / "tokushu-sagi-chuui.json")["live_languages"] == sorted(["ja", *LANGUAGES])

    # Publishing again changes nothing.
    before = len(ledger.rows(channel="probe"))
    publish_article([str(content / FIRST)])
    assert len(ledger.rows(channel="probe")) == before
    ledger.close()


def test_a_missing_model_is_a_skipped_row_naming_the_package(probe, workspace, monkeypatch):
    from flows.publish import publish_article

    monkeypatch.setenv("KOHO_LANGUAGES", "en,fr")
    (workspace / "content" / "glossary.yaml").unlink()  # the sample has no French renderings
    publish_article([str(workspace / "content" / FIRST)])
    ledger = Ledger(Settings().db_url())
    rows = {r["language"]: r for r in ledger.rows(article_id="sogo-bousai-kunren-2026", channel="probe")}
    ledger.close()
    assert rows["en"]["state"] == "sent"
    assert rows["fr"]["state"] == "skipped" and rows["fr"]["target"] == "translation/fr"
    assert "install translate-en_fr (koho translations install FILE.argosmodel)" in rows["fr"]["detail"]
    assert not (probe / "fr").exists()  # nothing Japanese is ever labelled French


def test_a_reviewed_po_change_republishes_only_that_language(probe, workspace):
    from babel.messages.pofile import read_po, write_po
    from typer.testing import CliRunner

    from flows.publish import publish_article
    from koho.cli import app

    content = workspace / "content"
    publish_article([str(content / FIRST)])
    assert CliRunner().invoke(app, ["translations", "export", "sogo-bousai-kunren-2026", "--lang", "ko"]).exit_code == 0
    po = content / "translations" / "ko" / "sogo-bousai-kunren-2026.po"
    with po.open("rb") as handle:
        catalog = read_po(handle)
    title = next(m for m in catalog if m.id and m.id.startswith("11月15日"))
    title.string, title.flags = "종합 방재 훈련", set()
    with po.open("wb") as handle:
        write_po(handle, catalog, width=0)
    ledger = Ledger(Settings().db_url())
    before = {r["key"] for r in ledger.rows(channel="probe")}
    publish_article([str(content / FIRST)])
    new = [r for r in ledger.rows(channel="probe") if r["key"] not in before]
    ledger.close()
    assert {r["language"] for r in new} == {"ko"}  # the article and its issue, in Korean only
    assert read(probe / "ko" / "sogo-bousai-kunren-2026.json")["title"] == "종합 방재 훈련"


def test_publish_due_translates_nothing_when_every_translation_is_settled(probe, workspace, monkeypatch):
    """publish-due looks at every due article's translations on each run: settled ones come
    from the translation cache without a task, a language without a model costs no task either;
    an edited review is the only one translated."""
    from babel.messages.pofile import read_po, write_po
    from typer.testing import CliRunner

    from flows import publish
    from koho.cli import app

    monkeypatch.setenv("KOHO_LANGUAGES", "en,ko,fr")  # no model translates into French
    (workspace / "content" / "glossary.yaml").unlink()  # the sample has no French renderings
    asked: list[tuple[str, str]] = []
    task = publish.translate_task
    monkeypatch.setattr(
        publish,
        "translate_task",
        lambda run, article_id, language: asked.append((article_id, language)) or task(run, article_id, language),
    )
    publish.publish_due()
    assert asked and {lang for _, lang in asked} == {"en", "ko", "fr"}  # French: a skipped row each
    asked.clear()
    publish.publish_due()
    assert asked == []  # nothing changed, and still no French model: no task at all

    assert CliRunner().invoke(app, ["translations", "export", "tokushu-sagi-chuui", "--lang", "ko"]).exit_code == 0
    po = workspace / "content" / "translations" / "ko" / "tokushu-sagi-chuui.po"
    with po.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if message.id:
            message.string, message.flags = "검토한 번역", set()
            break
    with po.open("wb") as handle:
        write_po(handle, catalog, width=0)
    publish.publish_due()
    assert asked == [("tokushu-sagi-chuui", "ko")]
    assert read(probe / "ko" / "tokushu-sagi-chuui.json")["title"] == "검토한 번역"
