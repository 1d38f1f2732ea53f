"""Deterministic synthetic Japanese articles for benchmarks (koho front matter).

The same seed gives the same bytes on every run and machine, so figures from different runs
measure the code, not the corpus. Titles, bodies and departments read like the ward's notices.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JST = timezone(timedelta(hours=9))
SEED = 20261201
FIRST_DAY = date(2016, 1, 4)
LAST_DAY = date(2026, 11, 20)
#: Publish times of the articles added incrementally (must be in the past when run).
NEW_AT = (
    datetime(2026, 11, 25, 9, 0, tzinfo=JST),
    datetime(2026, 11, 26, 9, 0, tzinfo=JST),
    datetime(2026, 11, 27, 9, 0, tzinfo=JST),  # the fresh-process publish
)


#: topic -> (slug stem, subject) pairs. Subjects read like the ward's real notices.
SUBJECTS = {
    "bousai": [
        ("sogo-bousai-kunren", "総合防災訓練"),
        ("hinan-kyoten-kunren", "避難拠点の開設訓練"),
        ("kagu-tentou-boushi", "家具転倒防止器具の取り付け費用助成"),
        ("kanshin-breaker", "感震ブレーカーの設置費用助成"),
        ("suigai-hazard-map", "水害ハザードマップの改訂"),
        ("katei-bichiku", "家庭での食料・飲料水の備蓄"),
        ("donou-haifu", "台風シーズン前の土のうの配布"),
        ("bousai-gakkou", "ねりま防災学校"),
        ("oame-hinan", "大雨のときの自主避難所"),
        ("taishin-shindan", "木造住宅の耐震診断助成"),
        ("bousai-kouza", "地域の防災講座"),
        ("bousai-musen", "防災行政無線の放送内容の確認方法"),
    ],
    "bouhan": [
        ("tokushu-sagi", "特殊詐欺（還付金詐欺）への注意"),
        ("jitensha-tonan", "自転車の盗難防止"),
        ("akisu-taisaku", "空き巣の被害防止"),
        ("bouhan-camera", "防犯カメラ設置の補助"),
        ("kodomo-mimamori", "子どもの見守り活動"),
        ("bouhan-patrol", "地域の防犯パトロール"),
        ("akuhou-shouhou", "悪質な訪問販売への注意"),
        ("netto-trouble", "インターネット通販のトラブル相談"),
    ],
    "kusei": [
        ("kusei-annai", "土・日・休日区政案内"),
        ("conbini-kofu", "証明書のコンビニ交付"),
        ("mynumber-kofu", "マイナンバーカードの休日交付"),
        ("kumin-iken", "区民意見反映制度（パブリックコメント）"),
        ("yosan-an", "予算案の概要"),
        ("kugikai-bocho", "区議会の傍聴"),
        ("senkyo-tohyo", "選挙の期日前投票"),
        ("juminzei-nofu", "住民税の納付"),
        ("gomi-shushu", "年末年始のごみ収集日程"),
        ("kumin-jimusho", "区民事務所の窓口案内"),
        ("tsuyaku-service", "窓口での通訳サービス"),
        ("kucho-taiwa", "区長と区民の対話集会"),
    ],
    "kenkou": [
        ("influenza-sesshu", "高齢者インフルエンザ予防接種"),
        ("tokutei-kenshin", "特定健診・長寿健診"),
        ("gan-kenshin", "がん検診"),
        ("shika-kenshin", "成人歯科健診"),
        ("netchusho-yobo", "熱中症の予防"),
        ("shokuchudoku", "食中毒の予防"),
        ("kenko-kouza", "健康づくり講座"),
        ("kinen-sodan", "禁煙相談"),
        ("kokoro-sodan", "こころの相談窓口"),
        ("kaigo-yobo", "介護予防教室"),
    ],
    "kosodate": [
        ("hoikuen-nyuen", "保育園の入園申し込み"),
        ("gakudo-club", "学童クラブの利用申請"),
        ("jidou-teate", "児童手当の現況届"),
        ("nyuyoji-kenshin", "乳幼児健康診査"),
        ("kosodate-hiroba", "子育てのひろば"),
        ("ichiji-azukari", "一時預かり保育"),
        ("shogakko-nyugaku", "区立小学校の入学案内"),
        ("sukusuku-app", "子育て応援アプリ"),
        ("ninshin-todoke", "妊娠届と母子健康手帳の交付"),
    ],
    "event": [
        ("daikon-hikkonuki", "練馬大根引っこ抜き競技大会"),
        ("kodomo-matsuri", "こどもまつり"),
        ("kuyakusho-concert", "区役所ロビーコンサート"),
        ("ongaku-sai", "練馬区民音楽祭"),
        ("hanabi-taikai", "花火大会"),
        ("ekiden", "区民駅伝大会"),
        ("shiki-no-michi", "四季の香ローズガーデン見学会"),
        ("bunka-center", "文化センターの催し"),
        ("toshokan-ohanashi", "図書館のおはなし会"),
        ("anime-festa", "アニメフェスタ"),
        ("noukou-taiken", "農業体験農園の収穫体験"),
    ],
}
#: topic -> the label PR staff put in titles (and Pelican's category and tags).
SUBJECT_LABEL = {
    "bousai": "防災",
    "bouhan": "防犯",
    "kusei": "区政",
    "kenkou": "健康",
    "kosodate": "子育て",
    "event": "イベント",
}
TITLE_PATTERNS = [
    "{s}のお知らせ",
    "{s}を実施します",
    "{s}について",
    "{s}（{m}月）",
    "{s} 参加者を募集します",
    "{s}をご利用ください",
    "【{t}】{s}",
    "{s} 申し込みを受け付けます",
    "{s}のご案内（{era}）",
    "{s}を開催します 事前の申し込みが必要です",
]
PLACES = [
    "区役所本庁舎アトリウム",
    "練馬文化センター",
    "石神井公園",
    "光が丘区民センター",
    "大泉学園ゆめりあ",
    "区立練馬総合運動場",
    "区役所本庁舎19階会議室",
    "関区民センター",
    "平和台図書館",
    "各区民事務所",
]
DEPARTMENTS = [
    "危機管理室 区民防災課",
    "区民生活事業本部 地域振興課",
    "区長室 広聴広報課",
    "健康部 保健予防課",
    "こども家庭部 保育課",
    "区民部 戸籍住民課",
    "環境部 清掃リサイクル課",
    "地域文化部 文化・生涯学習課",
    "都市整備部 建築審査課",
    "教育委員会事務局 学務課",
]
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
CAUTIONS = [
    "費用は無料です。",
    "定員を超えた場合は抽選です。",
    "保護者の同伴が必要です。",
    "筆記用具をお持ちください。",
    "動きやすい服装でお越しください。",
    "手話通訳があります。",
    "申し込みは1人1回までです。",
    "記入漏れがあると受け付けできません。",
]
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
    """About ``target`` characters of Markdown: the sections a notice has, then fillers.

    Headings, lists, bold, a link and (for about a third) a table, so the Markdown work per
    article is like the real archive's, not just paragraphs.
    """
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
        + rng.choice(FILLERS)
        + rng.choice(FILLERS),
        "## よくある質問\n\n**Q.** 当日参加はできますか。\n\n**A.** 定員に余裕がある場合は当日も受け付けます。"
        + rng.choice(FILLERS),
    ]
    if rng.random() < 0.35:
        rows = "\n".join(
            f"| {jday(event_day + timedelta(days=7 * i))} | {rng.choice(PLACES)} | {rng.choice([20, 30, 40])}名 |"
            for i in range(rng.randint(3, 5))
        )
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
        at = datetime(
            day.year, day.month, day.day, *rng.choice([(9, 0), (9, 0), (9, 0), (8, 30), (10, 0), (14, 0)]), tzinfo=JST
        )
        summary = (
            f"{subject}について、{jday(day + timedelta(days=rng.randint(7, 30)))}から受け付けます。"
            + rng.choice(FILLERS)
            + rng.choice(FILLERS)
        )[:190]
        specs.append(
            Spec(
                id=article_id,
                title=title,
                publish_at=at,
                summary=summary,
                topics=topics,
                bulletin=next_issue(day) if rng.random() < 0.75 else None,
                priority="urgent" if rng.random() < 0.02 else "normal",
                status="draft" if rng.random() < 0.01 else "ready",
                body=_body(rng, subject, day, rng.randint(600, 1200)),
                image=topic == "bousai" and rng.random() < 0.05,
            )
        )
    return specs


def _q(text: str) -> str:
    # A YAML double-quoted scalar: titles may hold ": " or start with 【, which plain YAML misreads.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def koho_markdown(spec: Spec) -> str:
    """The article in koho's front-matter schema (koho.article.FrontMatter)."""
    lines = [
        "---",
        f"title: {_q(spec.title)}",
        f"publish_at: {spec.publish_at.isoformat()}",
        f"summary: {_q(spec.summary)}",
        f"topics: [{', '.join(spec.topics)}]",
    ]
    if spec.bulletin:
        lines.append(f"bulletin: {spec.bulletin.isoformat()}")
    lines += [f"priority: {spec.priority}", f"status: {spec.status}"]
    if spec.image:
        lines += [
            "images:",
            "  - src: media/sogo-bousai-kunren-2026-map.png",
            "    alt: 訓練会場の案内図。公園の中に会場と受付があり、駅から会場までの道順を点線で示しています。",
        ]
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
        id=f"nenmatsu-nenshi-madoguchi-{index + 1}",
        title=f"{subject}（{index + 1}）",
        publish_at=at,
        summary="12月29日（火）から1月3日（日）まで、区役所の窓口は休止します。戸籍の届出は夜間窓口で受け付けます。",
        topics=["kusei", "bousai"],
        bulletin=date(2026, 12, 1),
        priority="normal",
        status="ready",
        body=_body(rng, subject, at.date(), 900),
    )
