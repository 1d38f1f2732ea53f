"""The Channel protocol every channel module implements, and the context planning receives."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal, Protocol, runtime_checkable

from koho.article import Article
from koho.bulletin import BulletinIssue
from koho.delivery import Delivery, Receipt
from koho.site import Site
from koho.subscribers import Subscriber


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
    """Everything planning may look at besides the article: no I/O happens while planning.

    ``live`` holds the articles already on this channel plus the one being planned, so listing
    pages never link to something not yet published. ``updated`` is when each article's current
    revision was first recorded (feeds' <updated>). ``previous_targets`` are the targets this
    channel wrote for earlier revisions of the article (so a page it left is refreshed too).
    """

    site: Site
    now: datetime
    live: Mapping[str, Article]
    updated: Mapping[str, datetime] = field(default_factory=dict)
    previous_targets: frozenset[str] = frozenset()
    published: frozenset[str] = frozenset()
    #: Confirmed subscribers of the topics a channel asked for (``audience_for``); empty otherwise.
    audience: Sequence[Subscriber] = ()
    #: Target -> provider id of this article's sent deliveries on this channel, for channels that
    #: follow up on what they sent (``follows_up``): the post a reply answers or a withdrawal deletes.
    provider_refs: Mapping[str, str] = field(default_factory=dict)
    #: Targets that already received this article (or issue) on this channel in another language,
    #: for channels sending once per target across languages (``once_across_languages``): a
    #: subscriber who switched language is not sent the same news again.
    sent_elsewhere: frozenset[str] = frozenset()


class DeliveryError(Exception):
    """A whole batch could not be delivered (bad configuration, unreachable endpoint)."""


@runtime_checkable
class Channel(Protocol):
    """A place koho publishes to: pure planning, I/O only in ``deliver``.

    Four methods in the spirit of listmonk's messenger: ``name`` and ``limits`` describe the
    channel, ``plan`` turns an article into deliveries, ``deliver`` pushes a batch and returns one
    receipt per delivery, ``close`` releases connections.
    """

    name: ClassVar[str]
    limits: ClassVar[Limits]

    def plan(self, article: Article, ctx: PlanContext) -> list[Delivery]:
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


@runtime_checkable
class IssueChannel(Channel, Protocol):
    """A channel that also delivers per bulletin issue (the mail digest, e-book editions).

    ``plan_issue`` is pure like ``plan``; its deliveries are recorded under the issue's id
    (``issue-2026-11-01``) and the issue's revision, which changes when its articles do.
    """

    def plan_issue(self, issue: BulletinIssue, ctx: PlanContext) -> list[Delivery]:
        """Deliveries for the whole issue (pure: no I/O)."""
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
class StoresFiles(Protocol):
    """A channel whose deliveries are files in a store (archive, feeds, e-books): it can say
    which of its targets the store no longer holds, so a rebuild writes them again instead of
    trusting the ledger's "sent"."""

    def missing(self, targets: Sequence[str]) -> list[str]:
        """The targets the store does not hold."""
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
