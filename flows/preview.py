"""What each channel would send for one article, for ``koho preview`` (ADR 0031).

The run driver plans the article as ``koho publish --dry-run`` does (``flows/driver.py``,
``dry_run=True``): the same choices, contexts and the channels' own ``plan``, translations
included, with nothing recorded, written or sent. ``PreviewSteps`` only keeps what was planned,
and gives a channel that sends to people one sample reader (the real audience may be empty on
a PR officer's machine, and its addresses are not for a preview). What the panels show is taken
from the deliveries themselves: the archive's page bytes, the mail's message as the transport
would get it, the API request bodies, the e-book's bytes.
"""

from __future__ import annotations

import dataclasses
import io
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.driver import Work, run
from flows.steps import Steps
from koho import clock
from koho.article import Article
from koho.channel import AudienceContext, HasAudience, HasIssueAudience, Limits
from koho.cli_words import N_
from koho.delivery import Delivery
from koho.errors import ContentError, ContentInvalid
from koho.ledger import Recorded
from koho.payloads import ApiRequest, MailRequest
from koho.pipeline import context_for, issue_context, plan_and_record
from koho.reader import Corpus, load
from koho.settings import Settings
from koho.subscribers import Subscriber

if TYPE_CHECKING:
    from flows.driver import Run

#: The channels a preview shows, in the page's order (feeds and braille are files of the same
#: text; leaving them out keeps an answer under a second).
CHANNELS = ("archive", "mail", "x", "facebook", "line", "youtube", "ebook")

#: Which channel a ``koho check`` problem affects, by the front matter key it names (its first
#: part); a problem with any other key affects every channel.
FIELD_CHANNELS = {
    "x": ("x",),
    "mentions": ("x", "facebook", "line"),
    "youtube": ("youtube",),
    "topics": ("mail", "archive", "x"),
    "bulletin": ("ebook", "mail", "line"),
    "images": ("archive", "mail", "ebook"),
}

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
#: The sample reader's address: ``.invalid`` is reserved (RFC 2606), so it can never be a mailbox.
SAMPLE_ADDRESS = "preview@example.invalid"


@dataclass(frozen=True)
class Meter:
    """A text's length in its channel's unit against the channel's limit."""

    used: int
    limit: int
    unit: str
    #: The channel cut the text to fit (it ends where the limit is reached).
    cut: bool = False

    @property
    def over(self) -> bool:
        """Past the limit: the provider would refuse it."""
        return self.used > self.limit


@dataclass
class Shown:
    """One thing a channel would send: a page or book file (``path`` in ``Preview.files``), a
    mail (subject, text and HTML parts) or a post's text with its meter."""

    kind: str  # "page", "mail", "text", "book"
    language: str
    label: str
    path: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""
    meter: Meter | None = None


@dataclass
class Panel:
    """One channel: what it would send, what the run said, the check problems that affect it."""

    channel: str
    shown: list[Shown] = field(default_factory=list)
    #: The run's own notes (a missing translation model), printed as the CLI prints them.
    notes: list[str] = field(default_factory=list)
    #: The preview's words (msgids marked with ``N_``) with their values.
    said: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    problems: list[ContentError] = field(default_factory=list)

    @property
    def limit_reached(self) -> bool:
        """Some text of this channel is past, or was cut at, the channel's limit."""
        return any(s.meter is not None and (s.meter.over or s.meter.cut) for s in self.shown)


@dataclass
class Preview:
    """A preview of one article: a panel per enabled channel, the files its pages need."""

    path: str
    article: Article | None
    panels: list[Panel]
    #: Problems of the article that affect every channel.
    problems: list[ContentError]
    files: dict[str, bytes]
    seconds: float
    #: The article is a draft: shown as if ready, and the page says so.
    draft: bool = False
    #: The moment the article was planned as of (its publication, or now if later), as shown.
    when: str = ""


@dataclass(frozen=True)
class Planned:
    """One plan the run made: its deliveries, the channel's limits, an issue's article order,
    and each mail delivery's message (rendered while the channel was open)."""

    channel: str
    deliveries: list[Delivery]
    limits: Limits
    order: tuple[str, ...] = ()
    messages: dict[str, bytes] = field(default_factory=dict)


class PreviewSteps(Steps):
    """The driver's plain steps, keeping each plan; a channel with an audience plans for one
    sample reader. Nothing is recorded (the run is dry) and nothing is delivered."""

    def __init__(self, corpus: Corpus):
        super().__init__(corpus)
        self.planned: list[Planned] = []

    def _keep(self, run: Run, channel: str, planned: list[Delivery], order: tuple[str, ...] = ()) -> None:
        chan = run.channel(channel)
        from channels.mail.channel import MailChannel

        messages = {}
        if isinstance(chan, MailChannel):  # rendered while the run's channels are open
            messages = {d.key: chan.message(d.payload, run.now) for d in planned if isinstance(d.payload, MailRequest)}
        self.planned.append(Planned(channel, planned, chan.limits, order, messages))

    def plan(self, run: Run, channel: str, article_id: str, language: str) -> tuple[list[Delivery], Recorded]:
        """The channel's own plan with the run's read-only context (and the sample reader)."""
        chan, article = run.channel(channel), run.article(article_id, language)
        ctx = context_for(chan, article, run.corpus, run.ledger, run.now, run.state)
        if isinstance(chan, HasAudience) and isinstance(ctx, AudienceContext):
            reader = _reader(article.language, article.topics, "immediate")
            ctx = dataclasses.replace(ctx, audience=(reader,), sent_elsewhere=frozenset())
        planned, recorded = plan_and_record(chan, article, ctx, run.ledger, run.owner, dry_run=True)
        self._keep(run, channel, planned)
        return planned, recorded

    def plan_issue(self, run: Run, channel: str, issue_id: str, language: str) -> tuple[list[Delivery], Recorded]:
        """The issue's plan as of the day it appears (its e-book, its broadcast, its digest)."""
        chan, issue = run.channel(channel), run.issues[(issue_id, language)]
        ctx = issue_context(chan, issue, run.corpus, max(run.now, issue.appears_at), run.state)
        if isinstance(chan, HasIssueAudience) and isinstance(ctx, AudienceContext):
            topics = tuple(sorted({t for a in issue.articles for t in a.topics}))
            ctx = dataclasses.replace(ctx, audience=(_reader(issue.language, topics, "digest"),))
        planned, recorded = plan_and_record(chan, issue, ctx, run.ledger, run.owner, dry_run=True)
        self._keep(run, channel, planned, tuple(a.id for a in issue.articles))
        return planned, recorded

    def alert(self, run: Run, scheduled: bool) -> list[Any]:
        """A preview tells the operators nothing."""
        return []


def _reader(language: str, topics: tuple[str, ...], delivery: str) -> Subscriber:
    """One confirmed reader of ``topics`` in ``language``, long subscribed."""
    return Subscriber(
        id=0,
        address=SAMPLE_ADDRESS,
        language=language,
        state="confirmed",
        topics=topics,
        source="preview",
        created_at=_EPOCH,
        confirmed_at=_EPOCH,
        delivery=delivery,
        link_nonce="preview",
    )


def latest_article(content_dir: Path) -> Path | None:
    """The article file saved last (``koho preview`` without a PATH: the one being edited)."""
    files = list((content_dir / "articles").rglob("*.md"))
    return max(files, key=lambda p: p.stat().st_mtime_ns) if files else None


def gather(settings: Settings, path: Path, now: datetime | None = None) -> Preview:
    """Plan the article at ``path`` on every enabled channel the preview shows, through the
    run driver in a dry run, as of its publication (a press release's embargo end; or ``now``,
    if later)."""
    started = time.perf_counter()
    enabled = [c for c in CHANNELS if c in settings.enabled_channels()]
    panels = {name: Panel(name) for name in enabled}
    try:
        corpus = load(settings)
    except ContentInvalid as exc:  # site.yaml: nothing can be planned
        return Preview(str(path), None, list(panels.values()), list(exc.errors), {}, time.perf_counter() - started)
    article = _article_at(corpus, path, settings.content_dir)
    general = _place(_problems_of(corpus.errors, path), panels) + _shared_problems(settings, corpus, article)
    if article is None:
        _nothing_planned(panels)
        return Preview(str(path), None, list(panels.values()), general, {}, time.perf_counter() - started)
    draft = article.status == "draft"
    shown = dataclasses.replace(article, status="ready") if draft else article
    # Only this article's own errors matter here: another article's must not hide this preview.
    corpus = Corpus(corpus.site, {**corpus.articles, article.id: shown}, [])
    steps = PreviewSteps(corpus)
    # A press release as residents will see it, after its embargo (the media's mail is not a panel).
    when = max(now or clock.now(), article.on_site_at)
    try:
        outcomes = run(settings, Work(paths=(str(path),)), enabled, when, dry_run=True, steps=steps)
    except ContentInvalid as exc:  # the glossary: no translation can be made, so no run starts
        general += [e for e in exc.errors if e not in general]
        _nothing_planned(panels)
        return Preview(str(path), shown, list(panels.values()), general, {}, time.perf_counter() - started, draft)
    files: dict[str, bytes] = {}
    for planned in steps.planned:
        _show(panels[planned.channel], planned, shown, files, corpus)
    for outcome in outcomes:
        if outcome.channel in panels and outcome.note.startswith("would skip"):
            panels[outcome.channel].notes.append(f"{outcome.language}: {outcome.note}")
    _explain_empty(panels, shown)
    moment = when.astimezone(corpus.site.tz).strftime("%Y-%m-%d %H:%M %Z")
    seconds = time.perf_counter() - started
    return Preview(str(path), shown, list(panels.values()), general, files, seconds, draft, moment)


def _nothing_planned(panels: dict[str, Panel]) -> None:
    for panel in panels.values():
        panel.said.append((N_("Nothing can be planned until the errors above are fixed."), {}))


def _problems_of(errors: list[ContentError], path: Path) -> list[ContentError]:
    wanted = path.resolve()
    return [e for e in errors if Path(e.path).resolve() == wanted]


def _shared_problems(settings: Settings, corpus: Corpus, article: Article | None) -> list[ContentError]:
    """``koho check``'s problems of the files every article is read with: the glossary (its
    readings too) and this article's translation review files."""
    from koho.reading_dictionary import load_reading_dictionary

    problems = list(load_reading_dictionary(settings.content_dir)[1])
    if settings.target_languages():
        from translations.checks import check
        from translations.review import REVIEW_DIR

        review_dir = settings.content_dir / REVIEW_DIR
        for error in check(settings.content_dir, settings.target_languages(), corpus.articles)[0]:
            review = Path(error.path).resolve().is_relative_to(review_dir.resolve())
            if error not in problems and (not review or (article is not None and Path(error.path).stem == article.id)):
                problems.append(error)
    return problems


def _place(problems: list[ContentError], panels: dict[str, Panel]) -> list[ContentError]:
    """Put each problem beside the channels its key affects; return those that affect all."""
    general = []
    for problem in problems:
        key = problem.field.split(".")[0].split("[")[0]
        affected = [panels[c] for c in FIELD_CHANNELS.get(key, ()) if c in panels]
        for panel in affected:
            panel.problems.append(problem)
        if not affected:
            general.append(problem)
    return general


def _article_at(corpus: Corpus, path: Path, content_dir: Path) -> Article | None:
    """The article read from ``path``, also one held back for an error (still previewed)."""
    chosen = corpus.select([path], content_dir)
    if chosen:
        return chosen[0]
    held = Corpus(corpus.site, dict(corpus.held_back)).select([path], content_dir)
    return held[0] if held else None


def _show(panel: Panel, planned: Planned, article: Article, files: dict[str, bytes], corpus: Corpus) -> None:
    """Turn one plan's deliveries into what the panel shows."""
    for delivery in planned.deliveries:
        payload = delivery.payload
        if panel.channel == "archive":
            _keep_file(files, f"site/{delivery.target}", payload)
            if delivery.target == corpus.site.article_path(article.id, delivery.language) + "index.html":
                panel.shown.append(
                    Shown("page", delivery.language or "", delivery.target, path=f"site/{delivery.target}")
                )
        elif panel.channel == "ebook" and isinstance(payload, bytes):
            panel.shown.append(_chapter(payload, delivery, article, files, planned.order))
        elif delivery.key in planned.messages:
            panel.shown.append(_mail(planned.messages[delivery.key], delivery))
        elif isinstance(payload, ApiRequest):
            panel.shown.append(_post(planned.limits, payload, delivery, article))


def _keep_file(files: dict[str, bytes], name: str, payload: object) -> None:
    if isinstance(payload, bytes):
        files[name] = payload
    elif isinstance(payload, Path) and payload.is_file():  # a media file the archive copies
        files[name] = payload.read_bytes()


def _chapter(
    book: bytes, delivery: Delivery, article: Article, files: dict[str, bytes], order: tuple[str, ...]
) -> Shown:
    """The article's chapter of the issue's EPUB (``aNN.xhtml``, NN its place in the issue),
    unpacked beside the book's style and images."""
    base = f"epub/{delivery.language}/"
    number = order.index(article.id) + 1 if article.id in order else 1
    with zipfile.ZipFile(io.BytesIO(book)) as epub:
        for name in epub.namelist():
            files[base + name] = epub.read(name)
        chapter = next((n for n in epub.namelist() if n.endswith(f"a{number:02d}.xhtml")), "")
    files[base + "book.epub"] = book
    return Shown("book", delivery.language or "", delivery.target, path=base + chapter)


def _mail(raw: bytes, delivery: Delivery) -> Shown:
    """The message as the mail transport would receive it, read back as a mail client would."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    return Shown(
        "mail",
        delivery.language or "",
        delivery.article_id,
        subject=str(message["Subject"]),
        text=_content(text_part),
        html=_content(html_part),
    )


def _content(part: Any) -> str:
    return str(part.get_content()) if part is not None else ""


def _post(limits: Limits, request: ApiRequest, delivery: Delivery, article: Article) -> Shown:
    """A post's text as the API request carries it, measured as its channel measures it."""
    from channels.common.textfit import ELLIPSIS, measure_of

    text = _posted_text(request)
    if text is None:
        return Shown("text", delivery.language or "", delivery.target, text=f"{request.method} {request.url}")
    meter = None
    if limits.body_max is not None:
        # fit() marks a cut with an ellipsis; one the article's own text has is not a cut.
        written = f"{article.title}{article.summary}{article.body}{article.x_text or ''}"
        cut = ELLIPSIS in text and ELLIPSIS not in written
        meter = Meter(measure_of(limits)(text), limits.body_max, limits.length_unit, cut)
    return Shown("text", delivery.language or "", delivery.target, text=text, meter=meter)


def _posted_text(request: ApiRequest) -> str | None:
    """The text of a post: X's ``text``, Facebook's ``message``, LINE's messages, YouTube's
    description (None: a request without text, such as a deletion)."""
    if request.form is not None and "message" in request.form:
        return request.form["message"]
    body = request.json or {}
    if "text" in body:
        return str(body["text"])
    if "messages" in body:
        return "\n\n".join(str(m.get("text", "")) for m in body["messages"])
    if "snippet" in body:
        return str(body["snippet"].get("description", ""))
    return None


def _explain_empty(panels: dict[str, Panel], article: Article) -> None:
    """Say why a channel plans nothing for this article (its rule, not a fault)."""
    reasons = {
        "line": N_("LINE broadcasts urgent articles only, and each 区報 issue when it appears."),
        "youtube": N_("No related video: add 'youtube: video_id:' to update a video's description."),
        "ebook": N_("The article is in no 区報 issue ('bulletin:'), so no e-book carries it."),
        "mail": N_("No reader's topics match: the article has no 'topics:'."),
        "x": N_("Nothing to post."),
        "facebook": N_("Nothing to post."),
        "archive": N_("No page."),
    }
    for name, panel in panels.items():
        if not panel.shown and not panel.notes:
            panel.said.append((reasons[name], {}))
