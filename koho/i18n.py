"""The languages koho publishes in, and the few words its outputs print around the articles.

The articles themselves are translated by ``translations/``; this module holds only what the
archive, the feeds and the e-books write around them (navigation, dates, the notice that a text
was machine-translated), so that every output says the same thing in the same words. The words
are in the catalogs of what residents read (``koho/locale/<lang>/LC_MESSAGES/messages.po``,
ADR 0016) with the Japanese as msgids: exactly what the Japanese archive always printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from gettext import NullTranslations

from babel.dates import format_date, format_datetime

from koho.catalogs import translations

#: The original language and the eight machine-translated ones, in the order a switcher lists them.
SOURCE_LANGUAGE = "ja"
LANGUAGES = ("ja", "en", "zh", "ko", "th", "pt", "es", "id", "vi")
TARGET_LANGUAGES = LANGUAGES[1:]

#: BCP 47 tags for ``lang``/``hreflang``/``dc:language``. Chinese is the Simplified script: a bare
#: ``zh`` lets a browser pick Traditional or even Japanese glyphs for the same characters.
_TAGS = {"zh": "zh-Hans"}
#: Babel locales for dates (British English writes "1 November 2026", as the brief's titles do).
_LOCALES = {"en": "en_GB", "zh": "zh_Hans"}


def tag(language: str) -> str:
    """The BCP 47 tag of a koho language code (``zh`` -> ``zh-Hans``)."""
    return _TAGS.get(language, language)


def locale(language: str) -> str:
    """The Babel locale that formats dates for ``language``."""
    return _LOCALES.get(language, language)


@dataclass(frozen=True)
class Words:
    """What the outputs print around the articles in one language (``{name}`` fields are filled in
    with ``str.format``). Built from the language's catalog by :func:`words`."""

    endonym: str
    skip: str
    nav: str
    home: str
    issues: str
    topics: str
    feed: str
    sitemap: str
    latest: str
    recent_issues: str
    urgent_heading: str
    urgent_badge: str
    no_articles: str
    no_issues: str
    issues_intro: str
    count: str  # "（{n}件）"
    year: str  # "{year}年の記事"
    years: str
    year_link: str  # "{year}年"
    published: str  # "{date} 掲載"
    updated: str
    change_note: str
    video: str
    video_link: str
    withdrawn: str
    not_found: str
    not_found_text: str
    languages: str
    machine: str  # in Japanese only the msgid of its translations: Japanese is never machine-translated
    original: str
    ebook: str
    contents: str
    issue: str  # "{bulletin} {date}号"
    signup: str  # the archive's link to the info-mail sign-up page (``koho serve``)
    a11y_summary: str  # an e-book's schema:accessibilitySummary
    search: str  # the search box's button
    search_label: str  # the search box's label and landmark
    search_heading: str  # the search page's heading
    search_results: str  # "「{query}」の検索結果：{n}件"
    search_none: str  # "「{query}」…見つかりませんでした"
    search_browse: str  # the heading of the lists the search page links instead
    search_script: str  # the search page without JavaScript
    search_file: str  # the search page opened from disk (file://): Pagefind cannot load there
    search_failed: str  # the index could not be loaded over the network
    press: str  # the badge and label of a press release (報道発表)
    press_index: str  # the press releases' index page, by year
    press_departments: str  # ... by department
    press_feed: str
    contact: str
    phone: str  # "電話：{phone}"
    attachments: str
    listen: str  # the heading of an article's or issue's audio player
    audio_mp3: str  # the formats of the accessible editions' downloads (koho.editions)
    audio_daisy: str
    audio_epub: str
    braille_brf: str
    braille_text: str
    accessible: str  # the heading of an issue page's audio and braille downloads
    file_size: str  # "（{size}）"
    file_length: str  # "（{size}、再生時間 {time}）"
    podcast: str  # the link to the audio edition's podcast feed
    no_player: str  # inside <audio>, for browsers that cannot play it


def catalog(language: str) -> NullTranslations:
    """The residents' catalog of ``language`` in ``koho/locale`` (Japanese: the msgids
    themselves), or English's for a language koho has no words for."""
    return translations(language if language in LANGUAGES else "en")


@cache
def words(language: str) -> Words:
    """The words of ``language`` (English for a language koho has no words for)."""
    return _words(catalog(language))


def _words(t: NullTranslations) -> Words:
    # Each word is a gettext call with its Japanese text, so that `pybabel extract -F babel.cfg`
    # finds it here with the TRANSLATORS comment above it (kept under 70 characters: Babel
    # wraps longer ones mid-sentence). The Japanese is what the archive always printed, so a
    # Japanese page is the same bytes as before the words moved into catalogs.
    return Words(
        # TRANSLATORS: this language's own name, as its readers write it
        # (not the word for Japanese): the language switcher lists it so.
        endonym=t.pgettext("language name", "日本語"),
        skip=t.gettext("本文へ移動"),
        # TRANSLATORS: the site navigation's label, read by screen readers.
        nav=t.gettext("サイト内"),
        home=t.gettext("ホーム"),
        # TRANSLATORS: the link to the list of the bulletin's issues.
        issues=t.gettext("区報（号別）"),
        topics=t.gettext("分野別"),
        feed=t.gettext("フィード"),
        sitemap=t.gettext("サイトマップ"),
        latest=t.gettext("新着記事"),
        recent_issues=t.gettext("最近の区報"),
        # TRANSLATORS: the heading of the home page's urgent notices.
        urgent_heading=t.pgettext("heading", "緊急のお知らせ"),
        # TRANSLATORS: the badge on an urgent article in lists.
        urgent_badge=t.gettext("緊急"),
        no_articles=t.gettext("掲載中の記事はありません。"),
        no_issues=t.gettext("掲載中の号はありません。"),
        issues_intro=t.gettext("ねりま区報は毎月1日・11日・21日に発行しています。"),
        # TRANSLATORS: after an issue's name in the list: its articles.
        count=t.gettext("（{n}件）"),
        year=t.gettext("{year}年の記事"),
        years=t.gettext("年別アーカイブ"),
        # TRANSLATORS: a link to the archive of one year.
        year_link=t.gettext("{year}年"),
        # TRANSLATORS: {date} is the date and time of publication.
        published=t.gettext("{date} 掲載"),
        # TRANSLATORS: {date} is the date and time of the latest change.
        updated=t.gettext("{date} 更新"),
        # TRANSLATORS: the label of a correction or change note on an article.
        change_note=t.gettext("訂正・変更"),
        # TRANSLATORS: before the link to an article's related video.
        video=t.gettext("関連動画："),
        video_link=t.gettext("ねりまほっとライン（YouTube）"),
        withdrawn=t.gettext("この記事の掲載は終了しました。"),
        not_found=t.gettext("ページが見つかりません"),
        not_found_text=t.gettext("お探しのページは移動または削除された可能性があります。"),
        # TRANSLATORS: the label of the language switcher.
        languages=t.gettext("言語"),
        # TRANSLATORS: on every machine-translated page, feed, e-book, mail.
        machine=t.gettext(
            "日本語から機械翻訳したものです。翻訳には誤りが含まれることがあり、日本語の原文が正となります。"
        ),
        # TRANSLATORS: the link to the original, after that notice.
        original=t.gettext("日本語の原文"),
        ebook=t.gettext("電子書籍版（EPUB）"),
        # TRANSLATORS: the heading of an e-book's table of contents.
        contents=t.gettext("目次"),
        # TRANSLATORS: an issue's name ({bulletin}: the bulletin's, {date}).
        issue=t.gettext("{bulletin} {date}号"),
        signup=t.gettext("ねりま情報メールの登録"),
        # TRANSLATORS: an e-book's accessibility summary, shown by reading
        # systems and stores before the book is opened.
        a11y_summary=t.gettext(
            "この電子書籍は見出しと目次から各記事へ移動でき、画像には代替テキストがあります。"
            "WCAG 2.1 レベル AA に適合するよう作成しています。"
        ),
        # TRANSLATORS: the search page opened as a file from disk, where
        # the browser does not let the search load its index.
        search_file=t.gettext(
            "ファイルとして開いたページでは検索できません（ウェブサーバーが配信するサイトで使えます）。"
            "下の一覧から探してください。"
        ),
        # TRANSLATORS: the button of the search box in every page's header.
        search=t.gettext("検索"),
        # TRANSLATORS: the label of the search box (read by screen readers).
        search_label=t.gettext("サイト内の記事を検索"),
        search_heading=t.pgettext("search page", "記事の検索"),
        # TRANSLATORS: {query}: the words searched for; {n}: articles found.
        search_results=t.gettext("「{query}」の検索結果：{n}件"),
        search_none=t.pgettext("search page", "「{query}」に一致する記事は見つかりませんでした。"),
        # TRANSLATORS: the heading of the year (and topic) lists on the
        # search page, for readers whose browser cannot search.
        search_browse=t.gettext("一覧から探す"),
        search_script=t.pgettext("search page", "検索にはJavaScriptが必要です。下の一覧から記事を探せます。"),
        search_failed=t.pgettext("search page", "検索の索引を読み込めませんでした。下の一覧から記事を探してください。"),
        # TRANSLATORS: a press release of the ward office (報道発表).
        press=t.gettext("報道発表"),
        # TRANSLATORS: the heading of the list of all press releases.
        press_index=t.gettext("報道発表一覧"),
        press_departments=t.gettext("部署別の報道発表"),
        press_feed=t.gettext("報道発表のフィード（Atom）"),
        # TRANSLATORS: who answers questions about a press release.
        contact=t.gettext("問い合わせ先"),
        # TRANSLATORS: {phone} is a telephone number.
        phone=t.gettext("電話：{phone}"),
        # TRANSLATORS: the PDF documents that go with a press release.
        attachments=t.gettext("資料（PDF）"),
        # TRANSLATORS: the heading of the player of an article or issue read
        # aloud by a synthetic voice (the audio edition, in Japanese).
        listen=t.gettext("音声で聞く"),
        audio_mp3=t.gettext("音声（MP3）"),
        # TRANSLATORS: DAISY is the talking-book format of Japanese libraries.
        audio_daisy=t.gettext("DAISY 録音図書（ZIP）"),
        audio_epub=t.gettext("音声付き電子書籍（EPUB 3）"),
        # TRANSLATORS: BRF is the file a braille embosser prints.
        braille_brf=t.gettext("点字データ（BRF、点字プリンター用）"),
        braille_text=t.gettext("点字データ（Unicode 点字のテキスト）"),
        # TRANSLATORS: the heading of an issue's audio and braille files.
        accessible=t.gettext("音声版・点字版"),
        # TRANSLATORS: after a download link: its size ({size}: 1.2 MB).
        file_size=t.gettext("（{size}）"),
        # TRANSLATORS: after an audio download link ({time}: 12:34).
        file_length=t.gettext("（{size}、再生時間 {time}）"),
        podcast=t.gettext("ポッドキャストで購読（RSS）"),
        # TRANSLATORS: shown by browsers that cannot play the audio.
        no_player=t.gettext("お使いのブラウザーでは再生できません。下のリンクからダウンロードしてください。"),
    )


# Cached: Babel resolves the locale and its patterns on every call, and a build formats the same
# few hundred dates thousands of times (issue 16 measured 10 % of a warm publish in format_date).
@lru_cache(maxsize=16384)
def long_date(day: date, language: str) -> str:
    """``2026年11月1日`` / ``1 November 2026``."""
    return format_date(day, format="long", locale=locale(language))


@lru_cache(maxsize=16384)
def date_time(moment: datetime, language: str) -> str:
    """A publication time as the archive prints it (the Japanese form is the archive's own)."""
    if language == SOURCE_LANGUAGE:
        return format_datetime(moment, "y年M月d日 H:mm", tzinfo=moment.tzinfo, locale="ja")
    # Dates in the reader's words, the clock in 24 hours as in Japan (the times are Japanese times).
    return f"{long_date(moment.date(), language)} {moment:%H:%M}"


def issue_title(day: date, language: str, bulletin: str) -> str:
    """The printed name of an issue: ``区報 2026年11月1日号``, ``Nerima City News, 1 November 2026``."""
    return words(language).issue.format(bulletin=bulletin, date=long_date(day, language))
