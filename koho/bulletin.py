"""区報 issues: the articles printed in one issue of the ward's bulletin, as a unit of publishing.

Some deliveries belong to an issue rather than to one article: the info mail's issue digest
(and, with the translations issue, each issue's e-book). An issue appears on its date at the
site's ``issue_time``; it holds the ready articles of that issue that were published by then.
Its id (``issue-2026-11-01``) takes an article id's place in the ledger, so ``koho status``,
publish-due's bookkeeping and crash recovery work for issues exactly as for articles.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from koho.article import Article
from koho.i18n import SOURCE_LANGUAGE, long_date
from koho.site import Site

ISSUE_PREFIX = "issue-"


def issue_label(day: date) -> str:
    """The printed name of a 区報 issue: 区報 2026年12月1日号."""
    return f"区報 {long_date(day, SOURCE_LANGUAGE)}号"


@dataclass(frozen=True)
class BulletinIssue:
    """One issue: its date, when it appears, and the articles it carries (in reading order)."""

    day: date
    appears_at: datetime
    articles: tuple[Article, ...]

    @property
    def id(self) -> str:
        """The ledger id of the issue (never a valid article id: article ids have no date)."""
        return f"{ISSUE_PREFIX}{self.day.isoformat()}"

    @property
    def language(self) -> str:
        """The language of the issue's articles: a translated edition is an issue of translations.

        The id stays ``issue-YYYY-MM-DD`` in every language; ledger keys carry the language.
        """
        return self.articles[0].language if self.articles else "ja"

    @property
    def label(self) -> str:
        """区報 2026年11月1日号."""
        return issue_label(self.day)

    @property
    def revision(self) -> str:
        """Changes whenever an article joins, leaves or is edited: the issue must be planned again."""
        digest = hashlib.sha256()
        for article in sorted(self.articles, key=lambda a: a.id):
            digest.update(f"{article.id}\0{article.revision}\n".encode())
        return digest.hexdigest()[:12]

    @property
    def topics(self) -> list[str]:
        """Every topic of the issue's articles."""
        return sorted({t for a in self.articles for t in a.topics})

    def is_due(self, now: datetime) -> bool:
        """True once the issue has appeared."""
        return self.appears_at <= now


def appears_at(day: date, site: Site) -> datetime:
    """When the issue of ``day`` appears: its date at the site's issue time, in the site's zone."""
    return datetime.combine(day, site.issue_time, tzinfo=site.tz)


def in_digest(article: Article, site: Site) -> bool:
    """Whether the article reaches digest readers through its issue's digest.

    Urgent news never waits for a digest, news without an issue has no digest to wait for, and
    news published after its issue appeared would otherwise wait for a digest already sent.
    """
    return (
        not article.urgent and article.bulletin is not None and article.publish_at < appears_at(article.bulletin, site)
    )


def issues_of(
    articles: Iterable[Article], site: Site, now: datetime, of: Iterable[Article] | None = None
) -> list[BulletinIssue]:
    """The issues of ``articles`` that have appeared by ``now``, oldest first (with ``of``: only
    the issues those articles belong to).

    An issue holds its ready (not draft, not withdrawn) articles on the site before it appeared;
    those published later are news of their own (see ``in_digest``).
    """
    members: dict[date, list[Article]] = {}
    for article in articles:
        if article.bulletin is None:
            continue
        members.setdefault(article.bulletin, [])
        # A press release joins its issue only if its embargo ended before the issue appeared.
        if article.status == "ready" and article.on_site_at < appears_at(article.bulletin, site):
            members[article.bulletin].append(article)
    issues = []
    days = set(members) if of is None else {a.bulletin for a in of if a.bulletin is not None} & set(members)
    for day in sorted(days):
        issue = BulletinIssue(
            day, appears_at(day, site), tuple(sorted(members[day], key=lambda a: (a.publish_at, a.id)))
        )
        if issue.is_due(now) and issue.articles:
            issues.append(issue)
    return issues
