"""The Article: a frozen, validated news item, and the front-matter schema PR staff write."""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails

from koho.cli_words import N_
from koho.errors import ContentError
from koho.frontmatter import KeyPath, Parsed, said
from koho.phrase import Phrase, PhraseError, phrase
from koho.site import SLUG, Site
from koho.social_text import HANDLE

#: A date, or a date and time (``_iso``).
D = TypeVar("D", bound=date)

TITLE_MAX = 120
SUMMARY_MAX = 200
CHANGE_NOTE_MAX = 200
BULLETIN_DAYS = (1, 11, 21)
#: Articles in this folder (under content/) are press releases without saying ``kind: press``.
PRESS_FOLDER = "articles/press/"
#: Characters that end a line somewhere (CR, LF, VT, FF, NEL, U+2028, U+2029) or are invisible
#: controls. A one-line field becomes a mail Subject, a feed title, a post: a line break there
#: makes the mail fail after the site and X already published, so ``koho check`` refuses it.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(value: str, what: str) -> str:
    """``value`` if it has no line break or control character; ValueError naming ``what`` otherwise."""
    bad = _NOT_ONE_LINE.search(value)
    if bad:
        raise PhraseError(
            phrase(
                "the {what} must be one line without control characters (found {char} at character {at})",
                what=Phrase(what),
                char=f"U+{ord(bad.group()):04X}",
                at=bad.start() + 1,
            )
        )
    return value


def filled(value: str, empty: Phrase) -> str:
    """``value`` without the white space around it; the error ``empty`` when nothing is left."""
    value = value.strip()
    if not value:
        raise PhraseError(empty)
    return value


def _iso(value: Any, kind: type[D], expected: str, not_one: str) -> D:
    """``value`` as a ``kind`` (a date, or a date and time): YAML's own, or an ISO string;
    otherwise a PhraseError with the message ``expected`` or ``not_one`` (``{value}``)."""
    if isinstance(value, kind) and (kind is datetime or not isinstance(value, datetime)):
        return value
    if not isinstance(value, str):
        raise PhraseError(Phrase(expected))
    try:
        return kind.fromisoformat(value.strip())
    except ValueError:
        raise PhraseError(phrase(not_one, value=repr(value))) from None


def _iso_datetime(value: Any) -> datetime:
    return _iso(
        value,
        datetime,
        N_("expected a date and time such as 2026-12-01 09:00 or 2026-12-01T09:00:00+09:00"),
        N_("{value} is not a date and time such as 2026-12-01 09:00"),
    )


def _iso_date(value: Any) -> date:
    return _iso(value, date, N_("expected a date such as 2026-12-01"), N_("{value} is not a date such as 2026-12-01"))


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class ImageRef(BaseModel):
    """An image shown with the article; alt text is mandatory for screen-reader users."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    src: str
    alt: str
    caption: str = ""

    @field_validator("alt")
    @classmethod
    def _alt(cls, value: str) -> str:
        alt = filled(value, Phrase("alt text must describe the image (it is read aloud to blind residents)"))
        return one_line(alt, N_("alt text"))

    @field_validator("caption")
    @classmethod
    def _caption(cls, value: str) -> str:
        return one_line(value.strip(), N_("caption"))


class Contact(BaseModel):
    """Who answers the press about a release (担当): a person or section and a telephone number."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    name: str
    phone: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise PhraseError(Phrase("the contact's name is empty; write who answers the press (担当)"))
        return one_line(value.strip(), N_("contact name"))

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        value = one_line(value.strip(), N_("phone number"))
        if not PHONE.fullmatch(value):
            raise PhraseError(
                phrase("{value} is not a telephone number such as 03-3993-1111 (内線1234)", value=repr(value))
            )
        return value


#: A Japanese telephone number as the office writes it, with an optional extension note.
PHONE = re.compile(r"\+?[0-9０-９][0-9０-９\-‐－ ()（）]{5,20}(?:[ 　]*[（(][^）)]{1,20}[）)])?")


class AttachmentRef(BaseModel):
    """A PDF that goes with a press release (資料): mailed to the media and linked on the site."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    src: str
    title: str = ""

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return one_line(value.strip(), N_("attachment title"))


class YouTubeRef(BaseModel):
    """The ねりまほっとライン episode related to the article."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    video_id: str

    @field_validator("video_id")
    @classmethod
    def _vid(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-]{11}", value):
            raise PhraseError(Phrase("a YouTube video id is 11 characters of A-Z, a-z, 0-9, '_' or '-'"))
        return value


class XPost(BaseModel):
    """Hand-written text for the X post, used instead of the generated one.

    It is checked, never cut (``koho check`` reports one that does not fit with its URL); the
    article URL is always added on its own line.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    text: str

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return filled(value, Phrase("the X text is empty; remove 'x:' to use the generated text"))


#: The one-line texts YAML may fold: (the field as messages name it, its most characters, the
#: message when it has more).
_FOLDED = {
    "summary": (N_("summary"), SUMMARY_MAX, N_("the summary has {n} characters; at most {max}")),
    "change_note": (N_("change note"), CHANGE_NOTE_MAX, N_("the change note has {n} characters; at most {max}")),
}


class FrontMatter(BaseModel):
    """The keys an article may have. Unknown keys are errors so that a typo never drops a setting."""

    model_config = ConfigDict(extra="forbid", strict=True)

    title: str
    publish_at: IsoDateTime
    summary: str = ""
    topics: list[str] = []
    bulletin: IsoDate | None = None
    priority: Literal["normal", "urgent"] = "normal"
    #: Until when an urgent article is current news (the home page's urgent box); default: site.yaml.
    urgent_until: IsoDateTime | None = None
    status: Literal["draft", "ready", "withdrawn"] = "ready"
    images: list[ImageRef] = []
    youtube: YouTubeRef | None = None
    x: XPost | None = None
    #: X accounts the article means to address: their @mentions stay live in posts; every other
    #: @name, $TAG and URL in the posted text is made inert (``koho.social_text``, ADR 0013).
    mentions: list[str] = []
    change_note: str = ""
    id: str | None = None
    #: "press": a press release (報道発表), also implied by a file under content/articles/press/.
    kind: Literal["news", "press"] = "news"
    #: The department that issues it (press-release index by department).
    department: str = ""
    contact: Contact | None = None
    attachments: list[AttachmentRef] = []
    #: Until when the media must not report it; the site shows it only after this time too.
    embargo_until: IsoDateTime | None = None

    @field_validator("department")
    @classmethod
    def _department(cls, value: str) -> str:
        return one_line(value.strip(), N_("department"))

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        value = filled(value, Phrase("the title is empty"))
        one_line(value, N_("title"))
        if len(value) > TITLE_MAX:
            raise PhraseError(phrase("the title has {n} characters; at most {max}", n=len(value), max=TITLE_MAX))
        return value

    @field_validator("summary", "change_note")
    @classmethod
    def _folded(cls, value: str, info: ValidationInfo) -> str:
        # Folded YAML may wrap these texts over lines: ordinary breaks become spaces; the rare
        # separators (U+2028, NEL) and controls are refused like in the title.
        label, limit, too_long = _FOLDED[info.field_name or ""]
        value = one_line(value.replace("\n", " ").replace("\t", " "), label)
        value = " ".join(value.split())
        if len(value) > limit:
            raise PhraseError(phrase(too_long, n=len(value), max=limit))
        return value

    @field_validator("mentions")
    @classmethod
    def _mentions(cls, value: list[str]) -> list[str]:
        for name in value:
            if not HANDLE.fullmatch(name):
                raise PhraseError(
                    phrase(
                        "{name} is not an X account name (up to 15 letters, digits or '_', with or without @)",
                        name=repr(name),
                    )
                )
        return value

    @field_validator("bulletin")
    @classmethod
    def _bulletin(cls, value: date | None) -> date | None:
        if value is not None and value.day not in BULLETIN_DAYS:
            raise PhraseError(
                phrase(
                    "{date} is not a 区報 issue date; issues appear on the 1st, 11th and 21st", date=value.isoformat()
                )
            )
        return value

    @field_validator("urgent_until")
    @classmethod
    def _urgent_until(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None:
            return None
        if info.data.get("priority") != "urgent":
            raise PhraseError(
                Phrase("only an urgent article has an end of urgency; add 'priority: urgent' or remove this")
            )
        start = info.data.get("publish_at")
        # Offsets are added later (site time zone): compare as written when either has none.
        if start is not None and (value.tzinfo is None) == (start.tzinfo is None) and value <= start:
            raise PhraseError(
                phrase(
                    "{end} is not after publish_at ({start})",
                    end=value.isoformat(sep=" "),
                    start=start.isoformat(sep=" "),
                )
            )
        return value

    @field_validator("id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        if value is not None and not SLUG.fullmatch(value):
            raise PhraseError(
                phrase(
                    "{value} is not a lowercase slug (a-z, 0-9 and single '-'), so it "
                    "cannot be used safely as a folder name and URL",
                    value=repr(value),
                )
            )
        return value


@dataclass(frozen=True)
class Image:
    """An image file under content/ with its alt text."""

    src: str
    alt: str
    caption: str = ""


@dataclass(frozen=True)
class Attachment:
    """A PDF under content/media/ that goes with a press release, with its title."""

    src: str
    title: str = ""


@dataclass(frozen=True)
class PressRelease:
    """What makes an article a press release (報道発表): who answers the press, the PDFs, and
    the embargo (解禁) the media keep; the site waits for it too."""

    department: str
    contact_name: str
    contact_phone: str
    attachments: tuple[Attachment, ...]
    embargo_until: datetime | None = None


@dataclass(frozen=True)
class TranslationNote:
    """How a translated article was made (``translations/``): readers are told when a machine
    translated it, and every translation links to its original."""

    source_language: str
    source_revision: str
    #: False only when a person reviewed every segment (gettext PO files under content/translations/).
    machine: bool
    #: What translated it, e.g. "argostranslate 1.11 translate-ja_en 1.0".
    engine: str = ""


@dataclass(frozen=True)
class Article:
    """One validated news item. ``revision`` changes whenever its normalised source changes."""

    id: str
    path: str
    title: str
    publish_at: datetime
    summary: str
    topics: tuple[str, ...]
    bulletin: date | None
    priority: str
    status: str
    images: tuple[Image, ...]
    youtube_video_id: str | None
    body: str
    body_line: int
    html: str
    revision: str
    language: str = "ja"
    #: A correction or change notice shown to readers (archive, feeds) and posted as a reply.
    change_note: str = ""
    #: Hand-written X text (front matter ``x.text``), checked rather than cut.
    x_text: str | None = None
    #: X account names (without @) whose mentions stay live in posts (front matter ``mentions``).
    mentions: tuple[str, ...] = ()
    #: End of the article's urgency as written (``urgent_until``); None: the site's default.
    urgent_until: datetime | None = None
    #: Set on a translated copy (same id, another ``language``, its own revision); None on originals.
    translation: TranslationNote | None = None
    #: Set on a press release (``kind: press`` or a file under content/articles/press/).
    press: PressRelease | None = None
    #: "key.path=line" entries of the front matter, one per line of text, so later checks can
    #: point at a line. One string rather than nested tuples: thousands of cached articles are
    #: unpickled on every read, and object count is what that costs.
    key_lines: str = field(default="", compare=False, repr=False)

    def line_of(self, *loc: str | int) -> int:
        """Line of a front-matter key (or of its nearest parent); 1 if it was not written."""
        lines = dict(entry.rsplit("=", 1) for entry in self.key_lines.split("\n") if entry)
        for end in range(len(loc), 0, -1):
            name = ".".join(map(str, loc[:end]))
            if name in lines:
                return int(lines[name])
        return 1

    @property
    def urgent(self) -> bool:
        """Urgent articles go first on every channel."""
        return self.priority == "urgent"

    def urgent_at(self, now: datetime, site: Site) -> bool:
        """Whether this is current urgent news at ``now`` (the home page's urgent box): urgent,
        and ``now`` before its ``urgent_until`` (default: the site's ``urgent_days``)."""
        return self.urgent and now < site.urgent_end(self.publish_at, self.urgent_until)

    @property
    def withdrawn(self) -> bool:
        """A withdrawn article is taken down from every channel that can take things down."""
        return self.status == "withdrawn"

    def is_due(self, now: datetime) -> bool:
        """Ready and past its publish time."""
        return self.status == "ready" and self.publish_at <= now

    @property
    def on_site_at(self) -> datetime:
        """When residents may see it: its publish time, or a press release's embargo if later."""
        embargo = self.press.embargo_until if self.press else None
        return max(self.publish_at, embargo) if embargo else self.publish_at

    def embargoed_for_site(self, now: datetime) -> bool:
        """A press release already sent to the media whose embargo has not ended at ``now``."""
        return self.on_site_at > now

    def on_site(self, now: datetime) -> bool:
        """Due and past any press embargo: what the site, feeds and residents' channels show."""
        return self.is_due(now) and not self.embargoed_for_site(now)


def revision_of(normalised_source: str) -> str:
    """A short, stable hash of the normalised source (BOM and CRLF already removed)."""
    return hashlib.sha256(normalised_source.encode("utf-8")).hexdigest()[:16]


def validate_front_matter(parsed: Parsed, path: str) -> tuple[FrontMatter | None, list[ContentError]]:
    """Validate the front matter against the schema; map every pydantic error to its line."""
    try:
        return FrontMatter.model_validate(parsed.data), []
    except ValidationError as exc:
        return None, [_error(parsed, path, err) for err in exc.errors()]


def _error(parsed: Parsed, path: str, err: ErrorDetails) -> ContentError:
    # Discriminated/Annotated types add internal names such as 'function-before[...]' to loc.
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
    name = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in loc).replace(".[", "[") or "front matter"
    return said(path, parsed.line_of(loc), name, _message(err, loc))


#: What each front-matter field takes, in words (keys: the field's path without list indexes).
EXPECTED = {
    "title": N_("one line of text"),
    "publish_at": N_("a date and time such as 2026-12-01 09:00"),
    "urgent_until": N_("a date and time such as 2026-12-01 18:00"),
    "summary": N_("text"),
    "change_note": N_("text"),
    "topics": N_("a list of topic keys such as [bousai, kurashi]"),
    "topics[]": N_("a topic key of content/site.yaml, such as bousai"),
    "bulletin": N_("a 区報 issue date such as 2026-12-01"),
    "images": N_("a list of images, each a '- src:' line with an 'alt:' line under it"),
    "images[]": N_("an image: 'src:' and 'alt:' lines under the '-'"),
    "images[].src": N_("a file path under content/ such as media/map.png"),
    "images[].alt": N_("text that describes the image"),
    "images[].caption": N_("text"),
    "youtube": N_("a 'video_id:' line under it, such as youtube: {video_id: hL3xK9_pWz4}"),
    "youtube.video_id": N_("an 11-character YouTube video id such as hL3xK9_pWz4"),
    "x": N_("a 'text:' line under it, such as x: {text: …}"),
    "x.text": N_("text"),
    "mentions": N_("a list of X account names such as [nerima_koho]"),
    "mentions[]": N_("an X account name such as nerima_koho"),
    "id": N_("a lowercase slug such as sogo-bousai-kunren-2026"),
    "priority": N_("normal or urgent"),
    "kind": N_("news or press"),
    "department": N_("one line of text"),
    "contact": N_("'name:' and 'phone:' lines under it"),
    "contact.name": N_("the name of the person or section that answers the press"),
    "contact.phone": N_("a telephone number such as 03-3993-1111"),
    "attachments": N_("a list of PDF files, each a '- src:' line such as - src: media/press.pdf"),
    "attachments[]": N_("an attachment: a 'src:' line under the '-'"),
    "attachments[].src": N_("a PDF file under content/ such as media/press.pdf"),
    "attachments[].title": N_("text"),
    "embargo_until": N_("a date and time such as 2026-12-10 05:00"),
    "status": N_("draft, ready or withdrawn"),
}


def _got(value: Any) -> Phrase:
    """What was written instead, in words: PR staff think in text, numbers and lists, not types."""
    if value is None:
        return phrase("nothing (the value is empty)")
    if isinstance(value, bool):
        return phrase("a yes/no value ({value}); put it in quotes if it is text", value=str(value).lower())
    if isinstance(value, (int, float)):
        return phrase("the number {value}", value=value)
    if isinstance(value, str):
        return phrase("the text {value}", value=repr(value))
    if isinstance(value, list):
        return phrase("a list")
    if isinstance(value, dict):
        return phrase("'key: value' lines")
    return phrase("a value of another kind")


def _message(err: ErrorDetails, loc: KeyPath) -> Phrase:
    """A pydantic error in the words of the person who wrote the file: what the field takes and
    what it got, never pydantic's type names."""
    kind, value = err["type"], err.get("input")
    key = ".".join(str(p) if isinstance(p, str) else "[]" for p in loc).replace(".[]", "[]")
    if kind == "extra_forbidden":
        allowed = sorted(_allowed_keys(loc[:-1]))
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        if close:
            return phrase("unknown field; did you mean {name}?", name=repr(close[0]))
        return phrase("unknown field; allowed: {names}", names=", ".join(allowed))
    if kind == "missing":
        return phrase("this field is required")
    expected = EXPECTED.get(key)
    if value is None and expected:
        if loc[0] in FrontMatter.model_fields and FrontMatter.model_fields[loc[0]].is_required() and len(loc) == 1:
            return phrase("no value: write {expected} after the ':'", expected=Phrase(expected))
        return phrase("no value: write {expected} after the ':', or remove the line", expected=Phrase(expected))
    error = (err.get("ctx") or {}).get("error")
    if isinstance(error, PhraseError):
        return error.phrase
    if kind == "literal_error" and expected:
        hint = phrase(" (write it in lowercase)") if isinstance(value, str) and value.lower() in expected else ""
        return phrase("must be {expected}; got {got}{hint}", expected=Phrase(expected), got=_got(value), hint=hint)
    if kind == "value_error":
        return Phrase(err["msg"].removeprefix("Value error, "))
    if expected:
        return phrase("expected {expected}; got {got}", expected=Phrase(expected), got=_got(value))
    return Phrase(err["msg"])


def _allowed_keys(parent: KeyPath) -> set[str]:
    model: type[BaseModel] = FrontMatter
    if parent[:1] == ("images",):
        model = ImageRef
    elif parent[:1] == ("youtube",):
        model = YouTubeRef
    elif parent[:1] == ("x",):
        model = XPost
    elif parent[:1] == ("contact",):
        model = Contact
    elif parent[:1] == ("attachments",):
        model = AttachmentRef
    return set(model.model_fields)


def to_article(
    fm: FrontMatter, parsed: Parsed, *, stem: str, path: str, html: str, revision: str, tz: tzinfo
) -> Article:
    """Build the frozen Article; a publish time without an offset is in the site's time zone."""
    publish_at = fm.publish_at if fm.publish_at.tzinfo else fm.publish_at.replace(tzinfo=tz)
    until = fm.urgent_until
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=tz)
    press = None
    if fm.kind == "press" or path.startswith(PRESS_FOLDER):
        embargo = fm.embargo_until
        if embargo is not None and embargo.tzinfo is None:
            embargo = embargo.replace(tzinfo=tz)
        press = PressRelease(
            department=fm.department,
            contact_name=fm.contact.name if fm.contact else "",
            contact_phone=fm.contact.phone if fm.contact else "",
            attachments=tuple(Attachment(a.src, a.title) for a in fm.attachments),
            embargo_until=embargo.astimezone(tz) if embargo is not None else None,
        )
    return Article(
        id=fm.id or stem,
        path=path,
        title=fm.title,
        publish_at=publish_at.astimezone(tz),
        summary=fm.summary,
        topics=tuple(dict.fromkeys(fm.topics)),
        bulletin=fm.bulletin,
        priority=fm.priority,
        urgent_until=until.astimezone(tz) if until is not None else None,
        status=fm.status,
        images=tuple(Image(i.src, i.alt, i.caption) for i in fm.images),
        youtube_video_id=fm.youtube.video_id if fm.youtube else None,
        body=parsed.body,
        body_line=parsed.body_line,
        html=html,
        revision=revision,
        change_note=fm.change_note,
        x_text=fm.x.text if fm.x else None,
        mentions=tuple(dict.fromkeys(m.lstrip("@") for m in fm.mentions)),
        press=press,
        key_lines="\n".join(f"{'.'.join(map(str, k))}={v}" for k, v in parsed.lines.items()),
    )
