#!/usr/bin/env python
"""Benchmark: koho's full archive build and one incremental publish, against Pelican.

Run from the repository root::

    python bench/archive_build.py            # 5,000 articles (a few minutes)
    python bench/archive_build.py --n 200    # smoke run
    python bench/archive_build.py --skip-pelican

Steps (each in a fresh temporary workspace; nothing in the checkout is touched):

1. Generate N deterministic Japanese articles (koho front matter) over 2016-2026.
2. koho full build, timed: read + parse the corpus with an empty parse cache, open a fresh
   SQLite ledger, ``site_build`` + ``deliver`` for the archive and the feeds channel into a fresh
   ``file://`` folder (the whole public site, as ``koho build`` plus the feeds).
3. Seed the ledger (not timed) as if every article had been published one by one before, so
   that ``context_for`` treats them as live: ``site_build`` records its rows under the
   article id ``_site``, and ``Ledger.published_ids`` would otherwise return no article at all.
4. koho incremental publish of ONE new article, timed: warm-cache read, select, then for the
   archive and the feeds channel ``context_for`` + ``plan_and_record`` + ``deliver`` (what the
   ``publish-article`` flow does, without Prefect).
5. The same for a second new article through the real Prefect flow
   ``flows.publish.publish_article`` on an ephemeral server started before timing.
6. Pelican building the same articles in a subprocess (``pelican content -o out -s conf``).

Absolute seconds vary a lot between machines and runs; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import io
import os
import pstats
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # benchmark the checkout, not some other installed copy

JST = timezone(timedelta(hours=9))
SEED = 20261201
FIRST_DAY = date(2016, 1, 4)
LAST_DAY = date(2026, 11, 20)
#: Publish times of the two articles published incrementally (must be in the past when run).
NEW_AT = (datetime(2026, 11, 25, 9, 0, tzinfo=JST), datetime(2026, 11, 26, 9, 0, tzinfo=JST))
FULL_TARGET = 0.5       # koho full build <= 0.5 x Pelican
INCREMENTAL_TARGET = 3.0  # incremental publish <= 3 % of the full build

PREFECT_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "60",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the result lines."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size so far, in MB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(who).ru_maxrss / 1024


# --------------------------------------------------------------------------------------------
# Corpus generation
# --------------------------------------------------------------------------------------------

#: topic -> (slug stem, subject) pairs. Subjects read like the ward's real notices.
SUBJECTS = {
    "bousai": [
        ("sogo-bousai-kunren", "総合防災訓練"), ("hinan-kyoten-kunren", "避難拠点の開設訓練"),
        ("kagu-tentou-boushi", "家具転倒防止器具の取り付け費用助成"), ("kanshin-breaker", "感震ブレーカーの設置費用助成"),
        ("suigai-hazard-map", "水害ハザードマップの改訂"), ("katei-bichiku", "家庭での食料・飲料水の備蓄"),
        ("donou-haifu", "台風シーズン前の土のうの配布"), ("bousai-gakkou", "ねりま防災学校"),
        ("oame-hinan", "大雨のときの自主避難所"), ("taishin-shindan", "木造住宅の耐震診断助成"),
        ("bousai-kouza", "地域の防災講座"), ("bousai-musen", "防災行政無線の放送内容の確認方法"),
    ],
    "bouhan": [
        ("tokushu-sagi", "特殊詐欺（還付金詐欺）への注意"), ("jitensha-tonan", "自転車の盗難防止"),
        ("akisu-taisaku", "空き巣の被害防止"), ("bouhan-camera", "防犯カメラ設置の補助"),
        ("kodomo-mimamori", "子どもの見守り活動"), ("bouhan-patrol", "地域の防犯パトロール"),
        ("akuhou-shouhou", "悪質な訪問販売への注意"), ("netto-trouble", "インターネット通販のトラブル相談"),
    ],
    "kusei": [
        ("kusei-annai", "土・日・休日区政案内"), ("conbini-kofu", "証明書のコンビニ交付"),
        ("mynumber-kofu", "マイナンバーカードの休日交付"), ("kumin-iken", "区民意見反映制度（パブリックコメント）"),
        ("yosan-an", "予算案の概要"), ("kugikai-bocho", "区議会の傍聴"), ("senkyo-tohyo", "選挙の期日前投票"),
        ("juminzei-nofu", "住民税の納付"), ("gomi-shushu", "年末年始のごみ収集日程"),
        ("kumin-jimusho", "区民事務所の窓口案内"), ("tsuyaku-service", "窓口での通訳サービス"),
        ("kucho-taiwa", "区長と区民の対話集会"),
    ],
    "kenkou": [
        ("influenza-sesshu", "高齢者インフルエンザ予防接種"), ("tokutei-kenshin", "特定健診・長寿健診"),
        ("gan-kenshin", "がん検診"), ("shika-kenshin", "成人歯科健診"), ("netchusho-yobo", "熱中症の予防"),
        ("shokuchudoku", "食中毒の予防"), ("kenko-kouza", "健康づくり講座"), ("kinen-sodan", "禁煙相談"),
        ("kokoro-sodan", "こころの相談窓口"), ("kaigo-yobo", "介護予防教室"),
    ],
    "kosodate": [
        ("hoikuen-nyuen", "保育園の入園申し込み"), ("gakudo-club", "学童クラブの利用申請"),
        ("jidou-teate", "児童手当の現況届"), ("nyuyoji-kenshin", "乳幼児健康診査"),
        ("kosodate-hiroba", "子育てのひろば"), ("ichiji-azukari", "一時預かり保育"),
        ("shogakko-nyugaku", "区立小学校の入学案内"), ("sukusuku-app", "子育て応援アプリ"),
        ("ninshin-todoke", "妊娠届と母子健康手帳の交付"),
    ],
    "event": [
        ("daikon-hikkonuki", "練馬大根引っこ抜き競技大会"), ("kodomo-matsuri", "こどもまつり"),
        ("kuyakusho-concert", "区役所ロビーコンサート"), ("ongaku-sai", "練馬区民音楽祭"),
        ("hanabi-taikai", "花火大会"), ("ekiden", "区民駅伝大会"), ("shiki-no-michi", "四季の香ローズガーデン見学会"),
        ("bunka-center", "文化センターの催し"), ("toshokan-ohanashi", "図書館のおはなし会"),
        ("anime-festa", "アニメフェスタ"), ("noukou-taiken", "農業体験農園の収穫体験"),
    ],
}
TITLE_PATTERNS = [
    "{s}のお知らせ", "{s}を実施します", "{s}について", "{s}（{m}月）", "{s} 参加者を募集します",
    "{s}をご利用ください", "【{t}】{s}", "{s} 申し込みを受け付けます", "{s}のご案内（{era}）",
    "{s}を開催します 事前の申し込みが必要です",
]
PLACES = ["区役所本庁舎アトリウム", "練馬文化センター", "石神井公園", "光が丘区民センター", "大泉学園ゆめりあ",
          "区立練馬総合運動場", "区役所本庁舎19階会議室", "関区民センター", "平和台図書館", "各区民事務所"]
DEPARTMENTS = ["危機管理室 区民防災課", "区民生活事業本部 地域振興課", "区長室 広聴広報課", "健康部 保健予防課",
               "こども家庭部 保育課", "区民部 戸籍住民課", "環境部 清掃リサイクル課", "地域文化部 文化・生涯学習課",
               "都市整備部 建築審査課", "教育委員会事務局 学務課"]
OPENERS = [
    "区では、{s}を行っています。",
    "{s}について、今年度の内容をお知らせします。",
    "毎年多くの方にご参加いただいている{s}を、今年も実施します。",
    "区民の皆さんの安全・安心な暮らしのため、{s}を進めています。",
    "{s}の受け付けを開始しました。対象の方は期限までに手続きをしてください。",
]
FILLERS = [
    "詳しい内容は、区ホームページまたは区報でお知らせします。",
    "申し込み多数の場合は抽選となります。結果は全員に通知します。",
    "会場には駐車場がありませんので、公共交通機関をご利用ください。",
    "当日の天候などにより、内容を変更する場合があります。",
    "手続きは電子申請でもできます。スマートフォンからも申し込めます。",
    "ご不明な点は、下記の問合せ先までお気軽にお問い合わせください。",
    "昨年度は延べ1,200人を超える方にご利用いただきました。",
    "外国語での案内が必要な方は、事前にご相談ください。",
    "車いすでご来場の方は、事前にお知らせいただくと会場でご案内します。",
    "区内在住・在勤・在学の方であれば、どなたでもご参加いただけます。",
]
CAUTIONS = ["費用は無料です。", "定員を超えた場合は抽選です。", "保護者の同伴が必要です。",
            "筆記用具をお持ちください。", "動きやすい服装でお越しください。", "手話通訳があります。",
            "申し込みは1人1回までです。", "記入漏れがあると受け付けできません。"]
WEEKDAYS = "月火水木金土日"


def era(day: date) -> str:
    """Japanese era year as PR staff write it (令和元年 began on 1 May 2019)."""
    if day >= date(2019, 5, 1):
        n = day.year - 2018
        return "令和元年" if n == 1 else f"令和{n}年"
    return f"平成{day.year - 1988}年"


def jday(day: date) -> str:
    """``12月1日（火）``."""
    return f"{day.month}月{day.day}日（{WEEKDAYS[day.weekday()]}）"


def next_issue(day: date) -> date:
    """The first 区報 issue (1st, 11th, 21st) after ``day``."""
    for d in (1, 11, 21):
        if d > day.day:
            return day.replace(day=d)
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


@dataclass
class Spec:
    """One generated article: what both koho and Pelican files are written from."""

    id: str
    title: str
    publish_at: datetime
    summary: str
    topics: list[str]
    bulletin: date | None
    priority: str
    status: str
    body: str
    image: bool = False


def _body(rng: random.Random, subject: str, when: date, target: int) -> str:
    event_day = when + timedelta(days=rng.randint(10, 40))
    place = rng.choice(PLACES)
    blocks = [rng.choice(OPENERS).format(s=subject) + rng.choice(FILLERS) + rng.choice(FILLERS)]
    sections = [
        "## 日時・場所\n\n"
        f"- **日時**　{jday(event_day)}午前10時〜正午\n- **場所**　{place}\n- **対象**　区内在住・在勤・在学の方\n"
        f"- **定員**　{rng.choice([20, 30, 50, 100, 200])}名（先着順）",
        "## 申し込み方法\n\n"
        f"{jday(event_day - timedelta(days=7))}までに、電話または電子申請で申し込んでください。"
        "電子申請は[区ホームページ](https://www.city.nerima.tokyo.jp/)から行えます。" + rng.choice(FILLERS),
        "## ご注意ください\n\n" + "\n".join(f"- {c}" for c in rng.sample(CAUTIONS, 3)),
        f"## {era(when)}度の実績\n\n{subject}には、{rng.randint(2, 40) * 10}人の方が参加しました。"
        + rng.choice(FILLERS) + rng.choice(FILLERS),
        "## よくある質問\n\n**Q.** 当日参加はできますか。\n\n**A.** 定員に余裕がある場合は当日も受け付けます。"
        + rng.choice(FILLERS),
    ]
    if rng.random() < 0.35:
        rows = "\n".join(f"| {jday(event_day + timedelta(days=7 * i))} | {rng.choice(PLACES)} | {rng.choice([20, 30, 40])}名 |"
                         for i in range(rng.randint(3, 5)))
        sections.insert(1, f"## 日程\n\n| 日程 | 会場 | 定員 |\n| --- | --- | --- |\n{rows}")
    closing = f"**問合せ**　{rng.choice(DEPARTMENTS)}　電話 03-3993-1111（代表）"
    for section in sections:
        if len("\n\n".join(blocks)) + len(closing) >= target:
            break
        blocks.append(section)
    while len("\n\n".join(blocks)) + len(closing) < target:
        blocks.append("".join(rng.sample(FILLERS, 3)))
    return "\n\n".join(blocks + [closing]) + "\n"


def generate(n: int, seed: int = SEED) -> list[Spec]:
    """``n`` deterministic articles spread evenly (with jitter) over FIRST_DAY..LAST_DAY."""
    rng = random.Random(seed)
    topic_keys = list(SUBJECTS)
    span = (LAST_DAY - FIRST_DAY).days
    days = sorted(FIRST_DAY + timedelta(days=rng.randint(0, span)) for _ in range(n))
    used: dict[str, int] = {}
    specs = []
    for day in days:
        topic = rng.choice(topic_keys)
        stem, subject = rng.choice(SUBJECTS[topic])
        topics = [topic] + ([rng.choice([t for t in topic_keys if t != topic])] if rng.random() < 0.25 else [])
        base = f"{stem}-{day.year}"
        used[base] = used.get(base, 0) + 1
        article_id = base if used[base] == 1 else f"{base}-{used[base]}"
        title = rng.choice(TITLE_PATTERNS).format(s=subject, m=day.month, t=SUBJECT_LABEL[topic], era=era(day))
        at = datetime(day.year, day.month, day.day, *rng.choice([(9, 0), (9, 0), (9, 0), (8, 30), (10, 0), (14, 0)]),
                      tzinfo=JST)
        summary = (f"{subject}について、{jday(day + timedelta(days=rng.randint(7, 30)))}から受け付けます。"
                   + rng.choice(FILLERS) + rng.choice(FILLERS))[:190]
        specs.append(Spec(
            id=article_id, title=title, publish_at=at, summary=summary, topics=topics,
            bulletin=next_issue(day) if rng.random() < 0.75 else None,
            priority="urgent" if rng.random() < 0.02 else "normal",
            status="draft" if rng.random() < 0.01 else "ready",
            body=_body(rng, subject, day, rng.randint(600, 1200)),
            image=topic == "bousai" and rng.random() < 0.05,
        ))
    return specs


SUBJECT_LABEL = {"bousai": "防災", "bouhan": "防犯", "kusei": "区政", "kenkou": "健康", "kosodate": "子育て",
                 "event": "イベント"}


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def koho_markdown(spec: Spec) -> str:
    """The article in koho's front-matter schema (koho.article.FrontMatter)."""
    lines = ["---", f"title: {_q(spec.title)}", f"publish_at: {spec.publish_at.isoformat()}",
             f"summary: {_q(spec.summary)}", f"topics: [{', '.join(spec.topics)}]"]
    if spec.bulletin:
        lines.append(f"bulletin: {spec.bulletin.isoformat()}")
    lines += [f"priority: {spec.priority}", f"status: {spec.status}"]
    if spec.image:
        lines += ["images:", "  - src: media/sogo-bousai-kunren-2026-map.png",
                  "    alt: 訓練会場の案内図。公園の中に会場と受付があり、駅から会場までの道順を点線で示しています。"]
    lines.append("---")
    return "\n".join(lines) + "\n\n" + spec.body


def write_koho_content(specs: list[Spec], content: Path) -> None:
    """A content folder: site.yaml and media copied from the checkout, articles by year."""
    content.mkdir(parents=True)
    shutil.copy(REPO / "content" / "site.yaml", content / "site.yaml")
    shutil.copytree(REPO / "content" / "media", content / "media")
    for spec in specs:
        write_article(spec, content)


def write_article(spec: Spec, content: Path) -> Path:
    """Write one article under content/articles/<year>/<id>.md."""
    path = content / "articles" / str(spec.publish_at.year) / f"{spec.id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(koho_markdown(spec), encoding="utf-8")
    return path


def new_spec(index: int) -> Spec:
    """The article published incrementally (one per index, on a new 区報 issue)."""
    rng = random.Random(SEED + 1000 + index)
    at = NEW_AT[index]
    subject = "年末年始の区役所窓口と施設の開設状況"
    return Spec(
        id=f"nenmatsu-nenshi-madoguchi-{index + 1}", title=f"{subject}（{index + 1}）", publish_at=at,
        summary="12月29日（火）から1月3日（日）まで、区役所の窓口は休止します。戸籍の届出は夜間窓口で受け付けます。",
        topics=["kusei", "bousai"], bulletin=date(2026, 12, 1), priority="normal", status="ready",
        body=_body(rng, subject, at.date(), 900))


# --------------------------------------------------------------------------------------------
# koho steps
# --------------------------------------------------------------------------------------------

@dataclass
class Workspace:
    """Paths of one benchmark run; also exported as KOHO_* for the Prefect flow."""

    root: Path

    @property
    def content(self) -> Path:
        return self.root / "content"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def public(self) -> Path:
        return self.root / "public"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{(self.state / 'koho.db').as_posix()}"

    @property
    def archive_url(self) -> str:
        return self.public.resolve().as_uri()

    def settings(self):
        from koho.settings import Settings

        return Settings(content_dir=self.content, state_dir=self.state, database_url=self.db_url,
                        archive_url=self.archive_url, channels="archive,feeds")

    def export(self) -> None:
        os.environ.update({"KOHO_CONTENT_DIR": str(self.content), "KOHO_STATE_DIR": str(self.state),
                           "KOHO_DATABASE_URL": self.db_url, "KOHO_ARCHIVE_URL": self.archive_url,
                           "KOHO_CHANNELS": "archive,feeds"})
        os.environ.pop("KOHO_FEEDS_URL", None)


class Timer:
    """Named laps inside one timed region."""

    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.laps: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps.append((name, now - self.last))
        self.last = now

    @property
    def total(self) -> float:
        return self.last - self.start

    def breakdown(self) -> str:
        return ", ".join(f"{name} {secs:.2f} s" for name, secs in self.laps)


def _sent(receipts) -> int:
    from koho.delivery import State

    return sum(1 for r in receipts if r.state == State.SENT and not r.retry)


def koho_full_build(ws: Workspace, now: datetime) -> dict:
    """Timed: cold-cache read, fresh ledger, site_build + deliver for archive then feeds."""
    from channels import registry
    from koho.ledger import Ledger
    from koho.pipeline import deliver, site_build
    from koho.reader import read_corpus
    from koho.site import load_site

    settings = ws.settings()
    cache = settings.state_dir / "cache"
    assert not cache.exists() or not any(cache.iterdir()), "the full build must start with an empty cache"
    timer = Timer()
    site = load_site(settings.content_dir)
    corpus = read_corpus(settings.content_dir, site, cache)
    if corpus.errors:
        raise SystemExit("generated content has errors:\n" + "\n".join(map(str, corpus.errors[:20])))
    timer.lap("read+parse")
    ledger = Ledger(settings.db_url())
    timer.lap("ledger open")
    result = {"articles": len(corpus.articles), "written": {}, "planned": {}}
    for channel in registry.build(settings, ["archive", "feeds"]):
        planned, recorded, _outcome = site_build(channel, corpus, ledger, now)
        timer.lap(f"{channel.name} plan+record")
        receipts = deliver(channel, ledger, planned)
        timer.lap(f"{channel.name} deliver")
        result["written"][channel.name] = _sent(receipts)
        result["planned"][channel.name] = len(planned)
        channel.close()
    ledger.close()
    timer.lap("close")
    result["timer"] = timer
    result["corpus"] = corpus
    return result


def seed_history(ws: Workspace, corpus, now: datetime) -> int:
    """Not timed: ledger rows as if each article had been published one by one in the past.

    ``Ledger.published_ids`` (used by ``context_for`` to decide which articles listing pages may
    show) only counts rows whose article id is the article's; a full build's rows are all under
    ``_site``. Without this, the incremental publish would render the home, topic and year pages
    with only the new article on them. Targets mirror what per-article publishing plans.
    """
    from sqlalchemy import insert, update

    from channels.archive.pages import SiteIndex
    from channels.feeds import FORMATS, feed_path
    from koho.delivery import Delivery, State
    from koho.ledger import Ledger
    from koho.ledger_schema import deliveries, revisions

    live = {a.id: a for a in corpus.articles.values() if a.is_due(now)}
    index = SiteIndex(corpus.site, live, {})
    planned = []
    for article in index.articles:
        for target in index.pages_showing(article):
            planned.append(Delivery("archive", target, article.id, article.revision, article.language, b""))
        for scope in (None, *article.topics):
            for fmt in FORMATS:
                planned.append(Delivery("feeds", feed_path(scope, fmt), article.id, article.revision,
                                        article.language, b""))
    ledger = Ledger(ws.db_url)
    try:
        ledger.record(planned, run_id="bench-seed")
        with ledger.engine.begin() as conn:
            conn.execute(update(deliveries).where(deliveries.c.run_id == "bench-seed")
                         .values(state=State.SENT.value, attempts=1, sent_at=now, provider_ref="bench-seed"))
            conn.execute(insert(revisions), [dict(article_id=a.id, revision=a.revision,
                                                  first_seen_at=a.publish_at.astimezone(timezone.utc))
                                             for a in live.values()])
    finally:
        ledger.close()
    return len(planned)


def koho_incremental(ws: Workspace, path: Path, now: datetime) -> dict:
    """Timed: what the publish-article flow does for one new file, minus Prefect."""
    from channels import registry
    from koho.ledger import Ledger
    from koho.pipeline import context_for, deliver, hold_reason, plan_and_record
    from koho.reader import read_corpus
    from koho.site import load_site

    settings = ws.settings()
    timer = Timer()
    site = load_site(settings.content_dir)
    corpus = read_corpus(settings.content_dir, site, settings.state_dir / "cache")
    if corpus.errors:
        raise SystemExit("content errors:\n" + "\n".join(map(str, corpus.errors[:20])))
    timer.lap("read (warm cache)")
    chosen = corpus.select([path], settings.content_dir)
    assert len(chosen) == 1, chosen
    timer.lap("select")
    ledger = Ledger(settings.db_url())
    timer.lap("ledger open")
    written: dict[str, int] = {}
    planned_n: dict[str, int] = {}
    for article in chosen:
        assert hold_reason(article, now) is None
        for channel in registry.build(settings):
            ctx = context_for(channel, article, corpus, ledger, now)
            timer.lap(f"{channel.name} context")
            planned, _recorded = plan_and_record(channel, article, ctx, ledger)
            timer.lap(f"{channel.name} plan+record")
            receipts = deliver(channel, ledger, planned)
            timer.lap(f"{channel.name} deliver")
            written[channel.name] = _sent(receipts)
            planned_n[channel.name] = len(planned)
            channel.close()
    ledger.close()
    timer.lap("close")
    return {"timer": timer, "written": written, "planned": planned_n, "article": chosen[0], "corpus": corpus}


def check_incremental_pages(ws: Workspace, result: dict, site) -> list[str]:
    """Sanity checks (not timed): the new article is listed and old ones did not disappear."""
    article = result["article"]
    home = (ws.public / "index.html").read_text(encoding="utf-8")
    home_items = home.split('<ul class="articles">', 1)[1].split("</ul>", 1)[0].count("<li")
    year = (ws.public / str(article.publish_at.year) / "index.html").read_text(encoding="utf-8")
    year_items = year.split('<ul class="articles">', 1)[1].split("</ul>", 1)[0].count("<li")
    expected_year = sum(1 for a in result["corpus"].articles.values()
                        if a.status == "ready" and a.publish_at.year == article.publish_at.year)
    ok_home = article.title in home and home_items == site.latest_count
    ok_year = year_items == expected_year
    return [f"check: home page lists {home_items} articles (latest_count {site.latest_count}) incl. the new one: "
            f"{'ok' if ok_home else 'FAILED'}",
            f"check: {article.publish_at.year} page lists {year_items} of {expected_year} live articles: "
            f"{'ok' if ok_year else 'FAILED'}"]


# --------------------------------------------------------------------------------------------
# Prefect
# --------------------------------------------------------------------------------------------

def prefect_incremental(ws: Workspace, path: Path) -> dict:
    """Timed once: flows.publish.publish_article on an ephemeral server started beforehand."""
    from prefect import flow, task
    from prefect.settings import temporary_settings

    import prefect.settings as prefect_settings
    from flows.publish import publish_article
    from koho.delivery import State

    updates = {}
    heartbeat = getattr(prefect_settings, "PREFECT_FLOWS_HEARTBEAT_FREQUENCY", None)
    if heartbeat is not None:
        updates[heartbeat] = None  # no heartbeat thread to join at the end of every flow run

    @task
    def _noop(x: int) -> int:
        return x + 1

    @flow(name="bench-warmup")
    def _warmup() -> int:
        return _noop(1)

    ws.export()
    with temporary_settings(updates=updates):
        started = time.perf_counter()
        _warmup()
        warmup = time.perf_counter() - started
        started = time.perf_counter()
        outcomes = publish_article(paths=[str(path)])
        elapsed = time.perf_counter() - started
    written = {}
    planned = {}
    for outcome in outcomes:
        written[outcome.channel] = written.get(outcome.channel, 0) + outcome.count(State.SENT)
        planned[outcome.channel] = planned.get(outcome.channel, 0) + outcome.planned
    return {"seconds": elapsed, "warmup": warmup, "written": written, "planned": planned,
            "heartbeat_disabled": heartbeat is not None}


# --------------------------------------------------------------------------------------------
# Pelican
# --------------------------------------------------------------------------------------------

PELICAN_CONF = '''\
# Minimal, comparable Pelican settings written by bench/archive_build.py.
AUTHOR = ""
SITENAME = "ねりま区報 アーカイブ"
SITEURL = ""
PATH = "content"
TIMEZONE = "Asia/Tokyo"
DEFAULT_LANG = "ja"
RELATIVE_URLS = True
THEME = "notmyidea"  # the default theme
# Pretty article URLs like koho's (one folder per article).
ARTICLE_URL = "articles/{slug}/"
ARTICLE_SAVE_AS = "articles/{slug}/index.html"
# Caching off: every run is a cold full build, like koho's.
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
# Feeds comparable to koho's: site-wide and per category (topic), Atom and RSS, newest 30.
FEED_MAX_ITEMS = 30
FEED_ALL_ATOM = "feeds/atom.xml"
FEED_ALL_RSS = "feeds/rss.xml"
CATEGORY_FEED_ATOM = "feeds/topics/{slug}/atom.xml"
CATEGORY_FEED_RSS = "feeds/topics/{slug}/rss.xml"
TRANSLATION_FEED_ATOM = None
TRANSLATION_FEED_RSS = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
TAG_FEED_ATOM = None
TAG_FEED_RSS = None
'''


#: Runs ``pelican`` like its console script, then reports the peak RSS of the Pelican process
#: itself. VmHWM, not getrusage: after fork/exec, ru_maxrss (self and children) still carries the
#: high-water mark of the (large) benchmark process the child was forked from.
PELICAN_WRAPPER = """\
import atexit, sys
def _hwm():
    try:
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith('VmHWM:'):
                    sys.stderr.write('BENCH_VMHWM_KB=' + line.split()[1] + '\\n')
    except OSError:
        pass
atexit.register(_hwm)
sys.argv = ['pelican'] + sys.argv[1:]
from pelican import main
main()
"""


def pelican_markdown(spec: Spec) -> str:
    """The same article in Pelican's Markdown metadata format."""
    labels = [SUBJECT_LABEL[t] for t in spec.topics]
    meta = [f"Title: {spec.title}", f"Date: {spec.publish_at.isoformat()}", f"Category: {labels[0]}",
            f"Tags: {', '.join(labels)}", f"Summary: {spec.summary}", f"Slug: {spec.id}"]
    if spec.status == "draft":
        meta.append("Status: draft")
    return "\n".join(meta) + "\n\n" + spec.body


def pelican_build(specs: list[Spec], root: Path) -> dict:
    """Write Pelican's content (not timed), then time one ``pelican`` run in a subprocess."""
    site = root / "pelican"
    articles = site / "content"
    articles.mkdir(parents=True)
    for spec in specs:
        folder = articles / str(spec.publish_at.year)
        folder.mkdir(exist_ok=True)
        (folder / f"{spec.id}.md").write_text(pelican_markdown(spec), encoding="utf-8")
    (site / "pelicanconf.py").write_text(PELICAN_CONF, encoding="utf-8")
    env = dict(os.environ, COLUMNS="400", TERM="dumb", NO_COLOR="1")
    command = [sys.executable, "-c", PELICAN_WRAPPER, "content", "-o", "out", "-s", "pelicanconf.py"]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=site, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"pelican failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    output = " ".join((proc.stdout + proc.stderr).split())
    match = re.search(r"Done: Processed (\d+) articles?.*? in ([\d.]+) seconds", output)
    files = sum(1 for p in (site / "out").rglob("*") if p.is_file())
    hwm = re.search(r"BENCH_VMHWM_KB=(\d+)", proc.stderr)
    return {"wall": wall, "internal": float(match.group(2)) if match else None,
            "articles": int(match.group(1)) if match else None, "files": files,
            "rss": int(hwm.group(1)) / 1024 if hwm else None}


def pelican_available() -> bool:
    try:
        import markdown  # noqa: F401
        import pelican  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def _tree_state() -> str:
    """Commit and uncommitted koho files, so figures can be matched to the code they measured."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    changed = [line[3:] for line in dirty if line.strip()]
    return f"{head or 'unknown'}" + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


def _profiled(enabled: bool, label: str, out_dir: Path | None, func, *args):
    """Run ``func`` under cProfile when asked; print the top functions to stderr."""
    if not enabled:
        return func(*args)
    profiler = cProfile.Profile()
    result = profiler.runcall(func, *args)
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    print(f"\n===== profile: {label} =====\n{stream.getvalue()}", file=sys.stderr)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(out_dir / f"{label}.prof")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="number of articles (default 5000)")
    parser.add_argument("--skip-pelican", action="store_true", help="do not run the Pelican baseline")
    parser.add_argument("--skip-prefect", action="store_true", help="do not time the Prefect flow")
    parser.add_argument("--profile", action="store_true",
                        help="run the koho steps under cProfile (times are then inflated) and print hotspots")
    parser.add_argument("--profile-dir", type=Path, help="also write .prof files here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace and print its path")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="koho-bench-"))
    if not args.keep:
        # atexit, not finally: Prefect's ephemeral server (home inside ``root``) stops in its own
        # atexit hook, registered later and so run earlier than this one.
        atexit.register(shutil.rmtree, root, True)
    prefect_home = root / "prefect-home"
    prefect_home.mkdir()
    # Before anything imports Prefect: offline, quiet, in a private home.
    os.environ.update(PREFECT_ENV)
    os.environ["PREFECT_HOME"] = str(prefect_home)
    os.environ.pop("PREFECT_API_URL", None)  # always the ephemeral server, never a configured one
    ws = Workspace(root)
    lines: list[str] = []
    details: list[str] = []
    try:
        started = time.perf_counter()
        import channels.registry  # noqa: F401  (imports are not part of any timed step)
        import koho.ledger  # noqa: F401
        import koho.pipeline  # noqa: F401
        import koho.reader  # noqa: F401
        from channels.archive.pages import environment
        environment()
        details.append(f"koho import time (excluded from every figure): {time.perf_counter() - started:.2f} s")
        details.append(f"koho tree: {_tree_state()}")

        log(f"generating {args.n} articles in {root}")
        specs = generate(args.n)
        write_koho_content(specs, ws.content)
        now = datetime.now(timezone.utc)
        if now < NEW_AT[-1]:
            raise SystemExit(f"the clock says {now:%Y-%m-%d}; the benchmark's articles are dated up to {NEW_AT[-1]:%Y-%m-%d}")

        log("koho full build (cold cache, fresh ledger, fresh output folder)")
        full = _profiled(args.profile, "koho-full-build", args.profile_dir, koho_full_build, ws, now)
        full_s = full["timer"].total
        rss_full = peak_rss_mb()
        full_files = sum(full["written"].values())
        on_disk = sum(1 for p in ws.public.rglob("*") if p.is_file())

        log("seeding per-article ledger rows (not timed)")
        seeded = seed_history(ws, full["corpus"], now)

        log("koho incremental publish (warm cache, archive + feeds, no Prefect)")
        path1 = write_article(new_spec(0), ws.content)
        inc = _profiled(args.profile, "koho-incremental", args.profile_dir, koho_incremental, ws, path1, now)
        inc_s = inc["timer"].total
        details += check_incremental_pages(ws, inc, full["corpus"].site)
        rss_inc = peak_rss_mb()

        prefect = None
        if not args.skip_prefect:
            log("koho incremental publish via the Prefect flow (ephemeral server started first)")
            path2 = write_article(new_spec(1), ws.content)
            prefect = prefect_incremental(ws, path2)

        pelican = None
        if not args.skip_pelican:
            if not pelican_available():
                log("pelican is not installed: pip install pelican markdown  (the 'bench' extra)")
                return 2
            log(f"pelican full build of {args.n} articles (subprocess)")
            pelican = pelican_build(specs, root)

        n = args.n
        lines.append(f"koho full build ({n} articles): {full_s:.2f} s")
        if pelican:
            pel_s = pelican["internal"] or pelican["wall"]
            lines.append(f"pelican full build ({n} articles): {pel_s:.2f} s")
        else:
            pel_s = None
            lines.append(f"pelican full build ({n} articles): skipped")
        lines.append(f"koho incremental publish (1 article, archive+feeds, no Prefect): {inc_s:.3f} s")
        if prefect:
            lines.append(f"koho incremental publish via Prefect flow: {prefect['seconds']:.2f} s")
        else:
            lines.append("koho incremental publish via Prefect flow: skipped")
        if pel_s:
            ratio = full_s / pel_s
            verdict = "ok" if ratio <= FULL_TARGET else "MISSED"
            lines.append(f"ratio full build koho/pelican: {ratio:.2f} (target <= {FULL_TARGET}) {verdict}")
        else:
            lines.append(f"ratio full build koho/pelican: n/a (target <= {FULL_TARGET})")
        pct = 100 * inc_s / full_s
        verdict = "ok" if pct <= INCREMENTAL_TARGET else "MISSED"
        lines.append(f"ratio incremental/full: {pct:.1f}% (target <= {INCREMENTAL_TARGET:g}%) {verdict}")
        if prefect:
            lines.append(f"ratio incremental via Prefect/full: {100 * prefect['seconds'] / full_s:.1f}% (informational)")
        lines.append(f"files written: koho full build {full_files} ({on_disk} on disk), "
                     f"pelican full build {pelican['files'] if pelican else 'n/a'}, "
                     f"koho incremental {sum(inc['written'].values())} of {sum(inc['planned'].values())} planned, "
                     f"Prefect flow {sum(prefect['written'].values()) if prefect else 'n/a'} of "
                     f"{sum(prefect['planned'].values()) if prefect else 'n/a'} planned")
        pelican_rss = f"{pelican['rss']:.0f} MB" if pelican and pelican["rss"] else "n/a"
        lines.append(f"peak RSS: koho process {peak_rss_mb():.0f} MB (after full build {rss_full:.0f} MB, "
                     f"after incremental {rss_inc:.0f} MB), pelican subprocess {pelican_rss}")

        details.append(f"koho full build breakdown: {full['timer'].breakdown()}")
        details.append("koho full build files: " + ", ".join(
            f"{name} {full['written'][name]} written of {full['planned'][name]} planned" for name in full["written"]))
        details.append(f"ledger seeded (not timed) with {seeded} per-article 'sent' rows for {full['articles']} "
                       "articles: site_build records its rows under the id '_site', so context_for "
                       "(Ledger.published_ids) would otherwise list only the new article on every page")
        details.append(f"koho incremental breakdown: {inc['timer'].breakdown()}")
        details.append("koho incremental files: " + ", ".join(
            f"{name} {inc['written'][name]} written of {inc['planned'][name]} planned" for name in inc["written"]))
        if prefect:
            details.append(f"Prefect warm-up flow (ephemeral server start, excluded): {prefect['warmup']:.2f} s; "
                           f"heartbeat disabled: {prefect['heartbeat_disabled']}")
        if pelican:
            details.append(f"pelican: {pelican['articles']} articles, self-reported {pelican['internal']} s, "
                           f"subprocess wall {pelican['wall']:.2f} s (incl. interpreter start and imports)")
        if args.profile:
            details.append("NOTE: --profile was on; koho figures include cProfile overhead")
    finally:
        if args.keep:
            log(f"workspace kept: {root}")
    print("\n".join(lines))
    print("\n".join("  " + d for d in details))
    return 0


if __name__ == "__main__":
    sys.exit(main())
