"""What the info mail itself says, in each language a subscriber can choose.

The articles are translated by ``translations/``; the notice that a text was machine-translated
and the link to the Japanese original use ``koho.i18n``'s words, as the archive, the feeds and
the e-books do. This module holds only the mail's own furniture: the urgent marks, the lines
that point to the ward's site, the digest's subject and closing line, and the footer. The words
are in the catalogs of what residents read (``koho/locale/<lang>/LC_MESSAGES/messages.po``,
ADR 0016) with the Japanese as msgids: exactly what the Japanese mail always said.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from gettext import NullTranslations

from koho.i18n import catalog


@dataclass(frozen=True)
class MailWords:
    """The mail's words in one language (``{issue}`` is filled in where named). Built from the
    language's catalog by :func:`mail_words`."""

    urgent_subject: str  # put before an urgent article's title in the subject
    urgent_banner: str  # the red label above an urgent article
    read_on_site: str  # HTML link text to the article's page
    see_site: str  # plain-text line above the article's URL
    digest_all: str  # HTML link text to the issue's page: "{issue}の全記事を区のホームページで読む"
    digest_all_text: str  # plain-text line above the issue page's URL
    preferences: str  # footer: change delivery settings
    unsubscribe: str  # footer: unsubscribe
    separator: str  # between the footer's two links
    image: str  # an image in the plain-text part: "［画像：{alt}］"
    heading: str  # a heading in the plain-text part: "【{heading}】"
    label_value: str  # a table cell in the plain-text part, after its column's name: "{label}：{value}"
    catalog: NullTranslations = field(repr=False, compare=False)  # for the forms that depend on a number

    def digest_title(self, issue: str, count: int) -> str:
        """The digest's subject for ``count`` articles of ``issue``, in the language's plural form."""
        # TRANSLATORS: a digest's subject ({issue}: its name, {n}: articles).
        # Japanese has one form for every number; give each of yours.
        form = self.catalog.ngettext("{issue}のお知らせ（{n}件）", "{issue}のお知らせ（{n}件）", count)
        return form.format(issue=issue, n=count)


@cache
def mail_words(language: str) -> MailWords:
    """The mail's words in ``language`` (English for a language koho has no words for)."""
    t = catalog(language)
    # Each word is a gettext call with its Japanese text, so that `pybabel extract -F babel.cfg`
    # finds it here with the TRANSLATORS comment above it (as in koho.i18n._words).
    return MailWords(
        # TRANSLATORS: put before an urgent article's title in the mail's subject.
        urgent_subject=t.gettext("【緊急】"),
        # TRANSLATORS: the label above an urgent article in the mail (one notice).
        urgent_banner=t.pgettext("label", "緊急のお知らせ"),
        read_on_site=t.gettext("区のホームページで読む"),
        # TRANSLATORS: the plain-text mail's line above the article's address.
        see_site=t.gettext("詳しくは区のホームページをご覧ください。"),
        # TRANSLATORS: a digest's link to the issue's page ({issue}: its name).
        digest_all=t.gettext("{issue}の全記事を区のホームページで読む"),
        # TRANSLATORS: the plain-text digest's line above the issue's address.
        digest_all_text=t.gettext("区報の全記事はこちら"),
        preferences=t.gettext("配信設定の変更"),
        unsubscribe=t.gettext("配信停止"),
        # TRANSLATORS: between the two links of the footer, spaces included.
        separator=t.pgettext("between links", " ・ "),
        # TRANSLATORS: an image in the plain-text mail, where it cannot be shown ({alt}: what it
        # shows, from the article). Keep the brackets that set it off from the text around it.
        image=t.gettext("［画像：{alt}］"),
        # TRANSLATORS: a heading of the article in the plain-text mail, set off so that it reads
        # as one (Japanese mail puts it in 【】; use the mark your readers' mails use).
        heading=t.pgettext("plain-text mail", "【{heading}】"),
        # TRANSLATORS: a table cell in the plain-text mail after the name of its column.
        label_value=t.pgettext("plain-text mail", "{label}：{value}"),
        catalog=t,
    )
