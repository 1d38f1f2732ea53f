"""The Channel protocol every channel module implements, its capabilities, and the contexts
planning receives (ADR 0020)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Generic, Literal, Protocol, TypeVar, runtime_checkable

from koho.article import Article
from koho.bulletin import BulletinIssue
from koho.delivery import Delivery, Receipt
from koho.outlets import Outlet
from koho.site import Site
from koho.subscribers import Subscriber

if TYPE_CHECKING:  # not a name of this module: its protocols are the capabilities (the contract test)
    from koho.quota import QuotaBook


@dataclass(frozen=True)
class Limits:
    """What a channel accepts, declared once on the channel class (after Apprise's plugins).

    ``body_max`` is the provider's limit on the text a channel composes, counted in
    ``length_unit`` (code points, UTF-16 units as LINE counts, UTF-8 bytes as YouTube counts, X's
    weighted length); ``overflow`` says what happens past it: ``truncate`` cuts at a sentence or
    clause boundary, ``reject`` refuses. One function enforces it for every channel:
    ``channels.common.textfit.fit`` (ADR 0021). Titles are limited for every channel by the
    article model (``koho.article.TITLE_MAX``); rates are the providers' answers (429 with a
    reset time become transient receipts), never a fixed pace.
    """

    body_max: int | None = None
    length_unit: Literal["chars", "utf16", "bytes", "weighted"] = "chars"
    overflow: Literal["reject", "truncate"] = "reject"
    languages: tuple[str, ...] = ("ja",)
    batch_size: int = 200


@dataclass(frozen=True)
class PlanContext:
    """What planning may look at besides the article, for every channel: no I/O happens while
    planning. A channel that declares a capability gets that capability's context instead (a
    subclass with its fields, below); nothing else reaches it.

    ``live`` holds the articles already on this channel plus the one being planned, so listing
    pages never link to something not yet published. ``updated`` is when each article's current
    revision was first recorded (feeds' <updated>). ``previous_targets`` are the targets this
    channel wrote for earlier revisions of the article (so a page it left is refreshed too).
    ``published``: the ids of the articles on the channel (in the planned item's language).
    """

    site: Site
    now: datetime
    live: Mapping[str, Article]
    updated: Mapping[str, datetime] = field(default_factory=dict)
    previous_targets: frozenset[str] = frozenset()
    published: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AudienceContext(PlanContext):
    """The context of a channel that sends to people (``HasAudience``, ``HasIssueAudience``)."""

    #: Confirmed subscribers of the topics the channel asked for; empty when it asked for none.
    audience: Sequence[Subscriber] = ()
    #: Targets that already received this article (or issue) on this channel in another language,
    #: for channels that are ``OnceAcrossLanguages`` (empty for the others): a subscriber who
    #: switched language is not sent the same news again.
    sent_elsewhere: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FollowUpContext(PlanContext):
    """The context of a channel that answers or deletes what it sent (``FollowsUp``)."""

    #: Target -> provider id of this article's sent deliveries on this channel (the post a reply
    #: answers or a withdrawal deletes); filled when the channel's ``follows_up(article)`` says so.
    provider_refs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MediaContext(PlanContext):
    """The context of a channel that mails press releases to the media list (``MailsTheMedia``)."""

    #: Every outlet of the media list when ``wants_media_list(article)`` said so; empty otherwise.
    outlets: Sequence[Outlet] = ()


class DeliveryError(Exception):
    """A whole batch could not be delivered (bad configuration, unreachable endpoint)."""


#: The context a channel's ``plan`` takes: ``PlanContext``, or the capability context it declared.
Ctx = TypeVar("Ctx", bound=PlanContext, contravariant=True)
#: What a ``DeliversToUrl`` channel opens: a store, a mail transport.
Opened = TypeVar("Opened")


@runtime_checkable
class Channel(Protocol[Ctx]):
    """A place koho publishes to: pure planning, I/O only in ``deliver``.

    Four methods in the spirit of listmonk's messenger: ``name`` and ``limits`` describe the
    channel, ``plan`` turns an article into deliveries, ``deliver`` pushes a batch and returns one
    receipt per delivery, ``close`` releases connections. What a channel can do beyond that is a
    capability below, declared by subclassing its protocol and checked with ``isinstance``.
    """

    name: ClassVar[str]
    limits: ClassVar[Limits]

    def plan(self, article: Article, ctx: Ctx) -> list[Delivery]:
        """Deliveries for this article and revision (pure: no I/O)."""
        ...

    def deliver(self, batch: Sequence[Delivery]) -> list[Receipt]:
        """Send a batch; one receipt per delivery, in order."""
        ...

    def describe(self) -> str:
        """Where this channel delivers, with any secret masked (for logs and reports)."""
        ...

    def close(self) -> None:
        """Release connections; safe to call twice."""
        ...


class DeliversToUrl(Generic[Opened]):
    """Base of a channel whose transport is chosen by URL (a store for the archive, feeds and
    e-books; a relay for mail). The URL was checked when the channel was built, by the factory
    ``opener`` comes from, so a bad one fails before planning; the transport is opened on first
    use, so planning and dry runs never touch it."""

    def __init__(self, url: str, opener: Callable[[], Opened]):
        self.url = url
        self._open = opener
        self._opened: Opened | None = None

    def opened(self) -> Opened:
        """The transport, opened now if it was not yet."""
        if self._opened is None:
            self._opened = self._open()
        return self._opened

    def taken(self) -> Opened | None:
        """The transport if it was opened, forgotten here (to close it: a later use opens it again)."""
        transport, self._opened = self._opened, None
        return transport

    def describe(self) -> str:
        """The URL: it carries no secret (credentials come from the environment, never from it)."""
        return self.url


# Capabilities. Each is a protocol a channel declares by subclassing it (so a reader sees it on
# the class line, and tests/test_channel_contract.py holds what a channel has to what it
# declares); the pipeline and the driver check them with ``isinstance``, never ``getattr``.
# Each says what the pipeline gives a channel that has it.


@runtime_checkable
class PlansIssues(Protocol[Ctx]):
    """A channel that also delivers per bulletin issue (the mail digest, LINE's broadcast, the
    e-book editions).

    Given: ``plan_issue`` is called once per issue not yet settled on the channel, and once per
    issue edition in each language the channel takes (``flows/steps.py`` ``publish_issues``);
    it is pure like ``plan``, and its deliveries are recorded under the issue's id
    (``issue-2026-11-01``) and revision, which changes when its articles do.
    """

    def plan_issue(self, issue: BulletinIssue, ctx: Ctx) -> list[Delivery]:
        """Deliveries for the whole issue (pure: no I/O)."""
        ...


@runtime_checkable
class HasAudience(Protocol):
    """A channel that sends each article to people who asked for its topics (mail).

    Given: ``plan`` receives an ``AudienceContext`` whose ``audience`` holds the confirmed
    subscribers of the topics ``audience_for`` names (read once per topic set and run).
    """

    def audience_for(self, article: Article) -> list[str] | None:
        """Topics whose confirmed subscribers receive this article (None: nobody)."""
        ...


@runtime_checkable
class HasIssueAudience(PlansIssues[AudienceContext], Protocol):
    """An issue channel that sends each issue to people who asked for its topics (the digest).

    Given: ``plan_issue`` receives an ``AudienceContext`` whose ``audience`` holds the
    confirmed subscribers of the topics ``audience_for_issue`` names.
    """

    def audience_for_issue(self, issue: BulletinIssue) -> list[str] | None:
        """Topics whose confirmed subscribers receive this issue (None: nobody)."""
        ...


@runtime_checkable
class OnceAcrossLanguages(Protocol):
    """A channel with an audience (``HasAudience``, ``HasIssueAudience``) whose targets are the
    same people in every language (a subscriber), so one item reaches each target once in
    whichever language it went out first.

    Given: ``AudienceContext.sent_elsewhere``, the targets that received the item on the channel
    in another language (a subscriber who switched language is not sent the same news again).
    There is no method to call: membership is the declaration, and the marker below is what
    ``isinstance`` sees.
    """

    once_across_languages: ClassVar[Literal[True]] = True


@runtime_checkable
class FollowsUp(Protocol):
    """A channel that answers or deletes what it sent for an article (X's reply or deletion, the
    Facebook Page's comment or deletion).

    Given: ``plan`` receives a ``FollowUpContext``; when ``follows_up(article)`` is true its
    ``provider_refs`` hold the provider's ids of the article's sent deliveries (one ledger query,
    made only then).
    """

    def follows_up(self, article: Article) -> bool:
        """Whether planning this article answers or deletes something sent earlier."""
        ...


@runtime_checkable
class MailsTheMedia(Protocol):
    """A channel that sends press releases to the media list (the press mail, ADR 0035).

    Given: ``plan`` receives a ``MediaContext`` whose ``outlets`` hold the media list (one read
    per run) when ``wants_media_list(article)`` is true. The driver publishes a press release on
    such a channel at its publish time, while every other channel waits for the embargo
    (``Article.on_site_at``): the media get it before residents do.
    """

    def wants_media_list(self, article: Article) -> bool:
        """Whether planning this article needs the media list (a press release not withdrawn)."""
        ...


@runtime_checkable
class Reconciles(Protocol):
    """A channel that can ask its provider what became of a send whose answer never came
    (a timeout after the request went out, a run that died mid-send).

    Before an uncertain delivery is sent again, ``reconcile`` looks (X: the account's recent
    posts; Facebook: the Page's feed) and returns a receipt for each delivery it settled: found
    (``sent`` with the provider's id) or still unknowable (``uncertain``). A delivery it returns
    no receipt for was not made, and is sent. Channels without this capability resend uncertain
    deliveries as counted possible duplicates: their writes are idempotent (files, LINE's retry
    key, a video description) or, like mail, at-least-once by design.
    """

    def reconcile(self, batch: Sequence[Delivery]) -> list[Receipt]:
        """Receipts for the deliveries of ``batch`` the provider shows (or cannot tell about)."""
        ...


@runtime_checkable
class SpendsQuota(Protocol):
    """A channel whose deliveries spend a provider's quota (YouTube: Data API units a Pacific-time
    day; LINE: messages a month, one per friend a broadcast reaches).

    Given: before its deliveries are sent (``pipeline.deliver``), ``use_quota(book)`` with the
    run's ledger. The channel checks each delivery against what is booked for the period and
    refuses one the provider would refuse, with the numbers, and books what it spent, so
    operators see it; it opens no ledger of its own. Planning spends nothing.
    """

    def use_quota(self, book: QuotaBook) -> None:
        """The book this channel's deliveries check and spend against from now on."""
        ...


@runtime_checkable
class StoresFiles(Protocol):
    """A channel whose deliveries are files in a store (archive, feeds, e-books): it can say
    which of its targets the store no longer holds, so a rebuild writes them again instead of
    trusting the ledger's "sent"."""

    def missing(self, targets: Sequence[str]) -> list[str]:
        """The targets the store does not hold."""
        ...


@runtime_checkable
class Rebuildable(StoresFiles, Protocol):
    """A channel whose whole output can be planned at once (the archive's site, the feeds): a
    store of files, so a rebuild can also say which of them the store lost.

    Given: ``plan_all`` is called by build-archive (``flows/steps.py`` ``build_all``, through
    ``pipeline.site_build``) with every live article of the site, the translations publishing put
    there included; its deliveries are recorded under a build id hashed from everything planned.
    """

    def plan_all(self, ctx: PlanContext, build_id: str) -> list[Delivery]:
        """Every file of the channel's output for ``ctx.live`` (pure: no I/O)."""
        ...


@runtime_checkable
class FinishesRun(Protocol):
    """A channel with files made from everything a run left on it, too costly to make again in
    every plan (the archive's search index: Pagefind over an edition's pages, ADR 0026).

    Given: once per run, after its articles and issues (``flows/steps.py`` ``finish_runs``),
    ``plan_finish`` with the articles (originals and translations) the run planned on the
    channel and the live site of every edition the run has, as a build sees it. Its deliveries
    are files of the site (``SITE_ID``), recorded and delivered like a plan's.
    """

    def plan_finish(self, touched: Sequence[Article], ctx: PlanContext) -> list[Delivery]:
        """The run's closing files for what ``touched`` changed (pure: no I/O)."""
        ...


@runtime_checkable
class ChangesWithTime(Protocol):
    """A channel some of whose files change with time alone, nothing being published: the
    archive's home pages drop an urgent notice when its urgency ends, and its issue pages link
    their e-book once the issue has appeared. publish-due plans just those files again when such
    a moment has passed since they were last made current (``koho.refresh``, ADR 0014)."""

    def moments(self, articles: Iterable[Article], site: Site) -> Iterable[tuple[datetime, str]]:
        """(moment, page): from ``moment`` on, ``page`` (a path of the original edition) renders
        differently although ``articles`` (the live originals) are unchanged. Pure and cheap:
        publish-due asks it every run."""
        ...

    def plan_pages(self, pages: Sequence[str], ctx: PlanContext, revision: str) -> list[Delivery]:
        """``pages`` and their versions in every edition ``ctx.live`` holds, rendered as of
        ``ctx.now``, as deliveries of the site (``SITE_ID``) under ``revision``."""
        ...
