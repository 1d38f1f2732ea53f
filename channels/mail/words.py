"""What the info mail itself says, in each language a subscriber can choose.

The articles are translated by ``translations/``; the notice that a text was machine-translated
and the link to the Japanese original use ``koho.i18n``'s words, as the archive, the feeds and
the e-books do. This module holds only the mail's own furniture: the urgent marks, the lines
that point to the ward's site, the digest's subject and closing line, and the footer. The
Japanese words are exactly what the Japanese mail always said: its bytes must not change.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MailWords:
    """The mail's words in one language (``{issue}`` and ``{n}`` are filled in where named)."""

    urgent_subject: str  # put before an urgent article's title in the subject
    urgent_banner: str  # the red label above an urgent article
    read_on_site: str  # HTML link text to the article's page
    see_site: str  # plain-text line above the article's URL
    digest_subject: str  # "{issue}のお知らせ（{n}件）"
    digest_all: str  # HTML link text to the issue's page
    digest_all_text: str  # plain-text line above the issue page's URL
    preferences: str  # footer: change delivery settings
    unsubscribe: str  # footer: unsubscribe
    digest_subject_one: str = ""  # for one article, in languages that say it differently
    separator: str = " | "  # between the footer's two links

    def digest_title(self, issue: str, count: int) -> str:
        """The digest's subject for ``count`` articles of ``issue``."""
        form = self.digest_subject_one if count == 1 and self.digest_subject_one else self.digest_subject
        return form.format(issue=issue, n=count)


WORDS: dict[str, MailWords] = {
    "ja": MailWords(
        urgent_subject="【緊急】", urgent_banner="緊急のお知らせ", read_on_site="区のホームページで読む",
        see_site="詳しくは区のホームページをご覧ください。", digest_subject="{issue}のお知らせ（{n}件）",
        digest_all="{issue}の全記事を区のホームページで読む", digest_all_text="区報の全記事はこちら",
        preferences="配信設定の変更", unsubscribe="配信停止", separator=" ・ "),
    "en": MailWords(
        urgent_subject="[Urgent] ", urgent_banner="Urgent notice", read_on_site="Read it on the ward's website",
        see_site="For details, see the ward's website:", digest_subject="{issue}: {n} articles",
        digest_subject_one="{issue}: 1 article", digest_all="Read all articles of this issue on the ward's website",
        digest_all_text="All articles of this issue:", preferences="Change delivery settings",
        unsubscribe="Unsubscribe"),
    "zh": MailWords(
        urgent_subject="【紧急】", urgent_banner="紧急通知", read_on_site="在区政府网站上阅读",
        see_site="详情请访问区政府网站：", digest_subject="{issue}（共{n}篇）",
        digest_all="在区政府网站上阅读本期全部文章", digest_all_text="本期全部文章：",
        preferences="更改订阅设置", unsubscribe="退订"),
    "ko": MailWords(
        urgent_subject="[긴급] ", urgent_banner="긴급 알림", read_on_site="구청 홈페이지에서 읽기",
        see_site="자세한 내용은 구청 홈페이지를 확인해 주세요.", digest_subject="{issue} 소식 ({n}건)",
        digest_all="구청 홈페이지에서 이번 호의 모든 기사 읽기", digest_all_text="이번 호의 모든 기사:",
        preferences="수신 설정 변경", unsubscribe="수신 거부"),
    "th": MailWords(
        urgent_subject="[ด่วน] ", urgent_banner="ประกาศด่วน", read_on_site="อ่านบนเว็บไซต์ของเขต",
        see_site="ดูรายละเอียดได้ที่เว็บไซต์ของเขต:", digest_subject="{issue} ({n} เรื่อง)",
        digest_all="อ่านบทความทั้งหมดของฉบับนี้บนเว็บไซต์ของเขต", digest_all_text="บทความทั้งหมดของฉบับนี้:",
        preferences="เปลี่ยนการตั้งค่าการรับอีเมล", unsubscribe="ยกเลิกการรับอีเมล"),
    "pt": MailWords(
        urgent_subject="[Urgente] ", urgent_banner="Aviso urgente", read_on_site="Leia no site da prefeitura",
        see_site="Mais informações no site da prefeitura:", digest_subject="{issue} ({n} artigos)",
        digest_subject_one="{issue} (1 artigo)", digest_all="Leia todos os artigos desta edição no site da prefeitura",
        digest_all_text="Todos os artigos desta edição:", preferences="Alterar as configurações de envio",
        unsubscribe="Cancelar a inscrição"),
    "es": MailWords(
        urgent_subject="[Urgente] ", urgent_banner="Aviso urgente", read_on_site="Leer en el sitio web del municipio",
        see_site="Más información en el sitio web del municipio:", digest_subject="{issue} ({n} artículos)",
        digest_subject_one="{issue} (1 artículo)",
        digest_all="Leer todos los artículos de este número en el sitio web del municipio",
        digest_all_text="Todos los artículos de este número:", preferences="Cambiar la configuración de envío",
        unsubscribe="Cancelar la suscripción"),
    "id": MailWords(
        urgent_subject="[Darurat] ", urgent_banner="Pemberitahuan darurat",
        read_on_site="Baca di situs web kantor distrik", see_site="Selengkapnya di situs web kantor distrik:",
        digest_subject="{issue} ({n} artikel)", digest_all="Baca semua artikel edisi ini di situs web kantor distrik",
        digest_all_text="Semua artikel edisi ini:", preferences="Ubah pengaturan pengiriman",
        unsubscribe="Berhenti berlangganan"),
    "vi": MailWords(
        urgent_subject="[Khẩn cấp] ", urgent_banner="Thông báo khẩn cấp", read_on_site="Đọc trên trang web của quận",
        see_site="Xem chi tiết trên trang web của quận:", digest_subject="{issue} ({n} bài)",
        digest_all="Đọc tất cả bài viết của số này trên trang web của quận",
        digest_all_text="Tất cả bài viết của số này:", preferences="Thay đổi cài đặt nhận thư",
        unsubscribe="Hủy đăng ký"),
}


def mail_words(language: str) -> MailWords:
    """The mail's words in ``language`` (English for a language koho has no words for)."""
    return WORDS.get(language, WORDS["en"])
