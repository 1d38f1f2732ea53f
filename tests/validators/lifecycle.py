"""The build the validators look at: the sample content taken through a whole lifecycle.

First publish (Japanese and two machine-translated editions, with the tiny argos models of
ADR 0006), a correction with a ``change_note``, a withdrawal, then the 区報 issue of 2026-12-01
appearing (its e-books and the info mail's digests). Subscribers in each language, some
immediate and some digest readers, so mails of every kind are in the outbox. Everything goes
through the real flows and the default transports (``file://`` archive, ``outbox://`` mail).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.clock import TestClock
from tests.conftest import CONTENT

#: Japanese plus two translated editions (one Latin script, one Hangul).
LANGUAGES = ("en", "ko")
JST = timezone(timedelta(hours=9))
#: The 区報 issue that appears during the lifecycle (07:00 JST on its date, site.yaml).
ISSUE_APPEARS = datetime(2026, 12, 1, 7, 5, tzinfo=JST)
CORRECTED = "kunren-hinan-map"
WITHDRAWN = "jitensha-tonan-boushi"
SUBSCRIBERS = """address,topics,language,delivery
ja-now@example.jp,bousai kusei,ja,immediate
en-now@example.jp,bousai kusei,en,immediate
ko-now@example.jp,bousai,ko,immediate
ja-digest@example.jp,bousai kusei kenkou,ja,digest
en-digest@example.jp,bousai kusei kenkou,en,digest
ko-digest@example.jp,bousai kusei,ko,digest
"""


@dataclass(frozen=True)
class Lifecycle:
    """Where the lifecycle build left its outputs."""

    root: Path
    public: Path
    outbox: Path

    def pages(self) -> list[Path]:
        """Every HTML page of the archive."""
        return sorted(self.public.rglob("*.html"))

    def feeds(self) -> list[Path]:
        """Every Atom and RSS file."""
        return sorted((self.public / "feeds").rglob("*.xml"))

    def ebooks(self) -> list[Path]:
        """Every EPUB."""
        return sorted((self.public / "ebooks").rglob("*.epub"))

    def mails(self) -> list[Path]:
        """Every mail the outbox holds (article mails and digests)."""
        return sorted(self.outbox.rglob("*.eml"))


def _article(now: datetime) -> str:
    """A new bousai article for the 2026-12-01 issue, published after the subscribers confirmed:
    headings, a list, a table, a link and an image with alt text, as PR staff write them."""
    return f"""---
title: 避難場所マップを改訂しました
publish_at: {now.isoformat()}
summary: 区内の避難場所と避難経路を示したマップを改訂しました。区のホームページと区民事務所で配布しています。
topics: [bousai]
bulletin: 2026-12-01
priority: normal
status: ready
images:
  - src: media/sogo-bousai-kunren-2026-map.png
    alt: 避難場所マップの一部。公園（緑）の中に避難場所（赤）、駅（青丸）からの道順を青い点線で示しています。
id: {CORRECTED}
---

地震や大雨に備えて、ご自宅から近い避難場所と経路を確認してください。

## 配布場所

- 区役所本庁舎 1階 区政資料室
- 各区民事務所（午前8時30分〜午後5時）

## 問い合わせ

| 内容 | 窓口 | 電話 |
| --- | --- | --- |
| マップ | 防災計画課 | 03-5984-1356 |

詳しくは[区のホームページ](https://www.city.nerima.tokyo.jp/)をご覧ください。
"""


def build(root: Path, mp: pytest.MonkeyPatch) -> Lifecycle:
    """Run the lifecycle in ``root`` (a fresh folder) with the environment set through ``mp``."""
    from typer.testing import CliRunner

    from flows.publish import publish_article, publish_due
    from koho import prefect_env
    from koho.cli import app

    content = root / "content"
    shutil.copytree(CONTENT, content)
    mp.chdir(root)
    for name, value in prefect_env.DEFAULTS.items():
        mp.setenv(name, value)
    mp.setenv("KOHO_CONTENT_DIR", str(content))
    mp.setenv("KOHO_STATE_DIR", str(root / ".koho"))
    mp.setenv("KOHO_ARCHIVE_URL", f"file://{root / 'public'}")
    mp.setenv("KOHO_LANGUAGES", ",".join(LANGUAGES))
    mp.setenv("KOHO_CHANNELS", "archive,feeds,ebook,mail")
    clock = TestClock(mp)

    (root / "subs.csv").write_text(SUBSCRIBERS, encoding="utf-8")
    result = CliRunner().invoke(app, ["subscribers", "import", "subs.csv", "--state", "confirmed"])
    assert result.exit_code == 0, result.output
    clock.advance(minutes=1)
    new = content / "articles" / "2026" / f"{CORRECTED}.md"
    new.write_text(_article(clock.now + timedelta(minutes=1)), encoding="utf-8")
    clock.advance(minutes=2)

    # 1. First publish: every due article, in three languages, mailed to immediate readers.
    publish_article(paths=[str(content / "articles")])
    # 2. A correction with a change note, some hours later (the "updated" time and lastmod move).
    clock.advance(hours=3, seconds=7)
    text = new.read_text(encoding="utf-8")
    text = text.replace("status: ready\n", "status: ready\nchange_note: 区民事務所での配布時間を訂正しました。\n")
    new.write_text(text.replace("午前8時30分", "午前9時"), encoding="utf-8")
    publish_article(paths=[str(new)])
    # 3. A withdrawal.
    old = next((content / "articles").rglob(f"{WITHDRAWN}.md"))
    old.write_text(old.read_text(encoding="utf-8").replace("status: ready", "status: withdrawn", 1), encoding="utf-8")
    clock.advance(minutes=10)
    publish_article(paths=[str(old)])
    # 4. The 2026-12-01 issue appears: publish-due makes its e-books and the digests.
    clock.set(ISSUE_APPEARS)
    publish_due()
    return Lifecycle(root, root / "public", root / "outbox")
