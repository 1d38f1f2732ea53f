"""The languages koho publishes in, and the few words its outputs print around the articles.

The articles themselves are translated by ``translations/``; this module holds only what the
archive, the feeds and the e-books write around them (navigation, dates, the notice that a text
was machine-translated), so that every output says the same thing in the same words. Japanese
strings are exactly what the Japanese archive always printed: its pages must not change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from babel.dates import format_date, format_datetime

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
    """What the outputs print around the articles in one language (``fmt`` fields take arguments)."""

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
    machine: str
    original: str
    ebook: str
    contents: str
    issue: str  # "{bulletin} {date}"
    signup: str = ""  # the archive's link to the info-mail sign-up page (see ``_SIGNUP``)


WORDS: dict[str, Words] = {
    "ja": Words("日本語", "本文へ移動", "サイト内", "ホーム", "区報（号別）", "分野別", "フィード", "サイトマップ",
                "新着記事", "最近の区報", "緊急のお知らせ", "緊急", "掲載中の記事はありません。", "掲載中の号はありません。",
                "ねりま区報は毎月1日・11日・21日に発行しています。", "（{n}件）", "{year}年の記事", "年別アーカイブ",
                "{year}年", "{date} 掲載", "{date} 更新", "訂正・変更", "関連動画：", "ねりまほっとライン（YouTube）",
                "この記事の掲載は終了しました。", "ページが見つかりません",
                "お探しのページは移動または削除された可能性があります。", "言語", "", "日本語の原文",
                "電子書籍版（EPUB）", "目次", "{bulletin} {date}号"),
    "en": Words("English", "Skip to main content", "Site", "Home", "Issues", "Topics", "Feed", "Sitemap",
                "Latest news", "Recent issues", "Urgent notices", "Urgent", "No articles yet.", "No issues yet.",
                "Nerima City News is published on the 1st, 11th and 21st of every month.", " ({n} articles)",
                "Articles of {year}", "Archive by year", "{year}", "Published {date}", "Updated {date}",
                "Correction", "Related video: ", "Nerima Hotline (YouTube)", "This article has been withdrawn.",
                "Page not found", "The page may have moved or been removed.", "Language",
                "Machine-translated from Japanese. The translation may contain errors; the Japanese original "
                "is authoritative.", "Read the Japanese original", "E-book edition (EPUB)", "Contents",
                "{bulletin}, {date}"),
    "zh": Words("中文（简体）", "跳到正文", "站内", "首页", "各期区报", "分类", "订阅", "网站地图",
                "最新消息", "最近各期", "紧急通知", "紧急", "暂无文章。", "暂无各期。",
                "练马区报每月1日、11日、21日发行。", "（{n}篇）", "{year}年的文章", "按年份", "{year}年",
                "{date} 发布", "{date} 更新", "更正", "相关视频：", "练马热线（YouTube）", "本文已撤下。",
                "找不到页面", "该页面可能已移动或删除。", "语言",
                "本页由日语机器翻译而成，可能存在错误，请以日语原文为准。", "查看日语原文",
                "电子书版（EPUB）", "目录", "{bulletin} {date}"),
    "ko": Words("한국어", "본문으로 이동", "사이트", "홈", "호별 소식지", "분야별", "피드", "사이트맵",
                "새 소식", "최근 호", "긴급 알림", "긴급", "게재된 기사가 없습니다.", "게재된 호가 없습니다.",
                "네리마구 소식지는 매월 1일, 11일, 21일에 발행됩니다.", " ({n}건)", "{year}년 기사", "연도별",
                "{year}년", "{date} 게재", "{date} 수정", "정정", "관련 동영상: ", "네리마 핫라인 (YouTube)",
                "이 기사는 게재가 종료되었습니다.", "페이지를 찾을 수 없습니다", "페이지가 이동되었거나 삭제되었을 수 있습니다.",
                "언어", "일본어를 기계 번역한 것입니다. 번역에 오류가 있을 수 있으며 일본어 원문이 우선합니다.",
                "일본어 원문 보기", "전자책판 (EPUB)", "목차", "{bulletin} {date}"),
    "th": Words("ไทย", "ข้ามไปยังเนื้อหา", "เว็บไซต์", "หน้าแรก", "ฉบับต่าง ๆ", "หมวดหมู่", "ฟีด", "แผนผังเว็บไซต์",
                "ข่าวล่าสุด", "ฉบับล่าสุด", "ประกาศด่วน", "ด่วน", "ยังไม่มีบทความ", "ยังไม่มีฉบับ",
                "จดหมายข่าวเขตเนริมะออกทุกวันที่ 1, 11 และ 21 ของเดือน", " ({n} บทความ)", "บทความปี {year}",
                "จัดเก็บตามปี", "{year}", "เผยแพร่ {date}", "ปรับปรุง {date}", "แก้ไข", "วิดีโอที่เกี่ยวข้อง: ",
                "เนริมะฮอตไลน์ (YouTube)", "บทความนี้ถูกถอนออกแล้ว", "ไม่พบหน้า", "หน้านี้อาจถูกย้ายหรือลบไปแล้ว",
                "ภาษา", "แปลจากภาษาญี่ปุ่นด้วยเครื่องแปลอัตโนมัติ คำแปลอาจมีข้อผิดพลาด โปรดยึดต้นฉบับภาษาญี่ปุ่นเป็นหลัก",
                "อ่านต้นฉบับภาษาญี่ปุ่น", "ฉบับอีบุ๊ก (EPUB)", "สารบัญ", "{bulletin} {date}"),
    "pt": Words("Português", "Ir para o conteúdo", "Site", "Início", "Edições", "Temas", "Feed", "Mapa do site",
                "Últimas notícias", "Edições recentes", "Avisos urgentes", "Urgente", "Nenhum artigo ainda.",
                "Nenhuma edição ainda.", "O boletim de Nerima é publicado nos dias 1, 11 e 21 de cada mês.",
                " ({n} artigos)", "Artigos de {year}", "Arquivo por ano", "{year}", "Publicado em {date}",
                "Atualizado em {date}", "Correção", "Vídeo relacionado: ", "Nerima Hotline (YouTube)",
                "Este artigo foi retirado.", "Página não encontrada", "A página pode ter sido movida ou removida.",
                "Idioma", "Tradução automática do japonês. A tradução pode conter erros; prevalece o original "
                "em japonês.", "Ler o original em japonês", "Edição em e-book (EPUB)", "Sumário",
                "{bulletin}, {date}"),
    "es": Words("Español", "Ir al contenido", "Sitio", "Inicio", "Números", "Temas", "Feed", "Mapa del sitio",
                "Últimas noticias", "Números recientes", "Avisos urgentes", "Urgente", "Aún no hay artículos.",
                "Aún no hay números.", "El boletín de Nerima se publica los días 1, 11 y 21 de cada mes.",
                " ({n} artículos)", "Artículos de {year}", "Archivo por año", "{year}", "Publicado el {date}",
                "Actualizado el {date}", "Corrección", "Vídeo relacionado: ", "Nerima Hotline (YouTube)",
                "Este artículo ha sido retirado.", "Página no encontrada", "Es posible que la página se haya movido "
                "o eliminado.", "Idioma", "Traducción automática del japonés. La traducción puede contener errores; "
                "prevalece el original en japonés.", "Leer el original en japonés", "Edición en libro electrónico "
                "(EPUB)", "Índice", "{bulletin}, {date}"),
    "id": Words("Bahasa Indonesia", "Langsung ke konten", "Situs", "Beranda", "Edisi", "Topik", "Feed", "Peta situs",
                "Berita terbaru", "Edisi terbaru", "Pemberitahuan darurat", "Darurat", "Belum ada artikel.",
                "Belum ada edisi.", "Buletin Nerima terbit setiap tanggal 1, 11, dan 21.", " ({n} artikel)",
                "Artikel tahun {year}", "Arsip per tahun", "{year}", "Terbit {date}", "Diperbarui {date}",
                "Koreksi", "Video terkait: ", "Nerima Hotline (YouTube)", "Artikel ini telah ditarik.",
                "Halaman tidak ditemukan", "Halaman mungkin telah dipindahkan atau dihapus.", "Bahasa",
                "Diterjemahkan dengan mesin dari bahasa Jepang. Terjemahan mungkin mengandung kesalahan; naskah "
                "asli bahasa Jepang yang berlaku.", "Baca naskah asli bahasa Jepang", "Edisi e-book (EPUB)",
                "Daftar isi", "{bulletin}, {date}"),
    "vi": Words("Tiếng Việt", "Chuyển đến nội dung", "Trang", "Trang chủ", "Các số báo", "Chủ đề", "Nguồn tin",
                "Sơ đồ trang", "Tin mới", "Số gần đây", "Thông báo khẩn", "Khẩn", "Chưa có bài viết.",
                "Chưa có số báo.", "Bản tin Nerima phát hành vào ngày 1, 11 và 21 hằng tháng.", " ({n} bài)",
                "Bài viết năm {year}", "Lưu trữ theo năm", "{year}", "Đăng ngày {date}", "Cập nhật {date}",
                "Đính chính", "Video liên quan: ", "Nerima Hotline (YouTube)", "Bài viết này đã bị gỡ.",
                "Không tìm thấy trang", "Trang có thể đã được chuyển hoặc xóa.", "Ngôn ngữ",
                "Bản dịch máy từ tiếng Nhật. Bản dịch có thể có sai sót; bản gốc tiếng Nhật là bản chính thức.",
                "Đọc bản gốc tiếng Nhật", "Bản sách điện tử (EPUB)", "Mục lục", "{bulletin}, {date}"),
}

#: The archive's link to the info-mail sign-up page (``koho serve``), per language.
_SIGNUP = {"ja": "ねりま情報メールの登録", "en": "Subscribe to Nerima info mail", "zh": "订阅练马信息邮件",
           "ko": "네리마 정보 메일 구독", "th": "สมัครรับอีเมลข่าวสารเนริมะ", "pt": "Assine o e-mail informativo de Nerima",
           "es": "Suscríbase al correo informativo de Nerima", "id": "Berlangganan surel info Nerima",
           "vi": "Đăng ký thư thông tin Nerima"}
WORDS = {lang: replace(w, signup=_SIGNUP[lang]) for lang, w in WORDS.items()}


def words(language: str) -> Words:
    """The words of ``language`` (English for a language koho has no words for)."""
    return WORDS.get(language, WORDS["en"])


def long_date(day: date, language: str) -> str:
    """``2026年11月1日`` / ``1 November 2026``."""
    return format_date(day, format="long", locale=locale(language))


def date_time(moment: datetime, language: str) -> str:
    """A publication time as the archive prints it (the Japanese form is the archive's own)."""
    if language == SOURCE_LANGUAGE:
        return format_datetime(moment, "y年M月d日 H:mm", tzinfo=moment.tzinfo, locale="ja")
    # Dates in the reader's words, the clock in 24 hours as in Japan (the times are Japanese times).
    return f"{long_date(moment.date(), language)} {moment:%H:%M}"


def issue_title(day: date, language: str, bulletin: str) -> str:
    """The printed name of an issue: ``区報 2026年11月1日号``, ``Nerima City News, 1 November 2026``."""
    return words(language).issue.format(bulletin=bulletin, date=long_date(day, language))
