"""Site settings read from ``content/site.yaml``: name, base URL, time zone and the topic list."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from koho.content_files import ContentFileError, MissingContentFile, read_inside
from koho.errors import ContentError, ContentInvalid
from koho.frontmatter import ALIAS_MESSAGE, _Loader, no_aliases

SITE_FILE = "site.yaml"
#: site.yaml is a page of settings (names in nine languages included); far more is a mistake.
MAX_SITE_BYTES = 256 * 1024
#: Lowercase ASCII slug: safe as a folder name on every platform and in every URL.
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class _Names(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str
    bulletin: str
    #: Topic key -> its name in this language, for the subscription pages (optional per topic).
    topics: dict[str, str] = {}


class _SiteModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    name_en: str = ""
    description: str = ""
    publisher: str = ""
    base_url: str
    language: str = "ja"
    timezone: str = "Asia/Tokyo"
    latest_count: int = Field(20, ge=1, le=200)
    feed_entries: int = Field(30, ge=1, le=500)
    #: When a 区報 issue appears on its date (local time): the mail digest of the issue goes then.
    issue_time: time = time(7, 0)
    #: How long an urgent article stays in the home page's 緊急のお知らせ box without ``urgent_until``.
    urgent_days: float = Field(3, gt=0, le=365)
    topics: dict[str, str]
    #: The archive's and the bulletin's names in each translated edition (pages, feeds, e-books).
    names: dict[str, _Names] = {}

    @field_validator("base_url")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an absolute http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("issue_time", mode="before")
    @classmethod
    def _clock_time(cls, value: object) -> str:
        # YAML 1.1 reads an unquoted 7:00 as the number 420 (base 60): never guess what was meant.
        if not isinstance(value, str):
            raise ValueError('write the time of day in quotes, e.g. "07:00"')
        return value

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("list at least one topic")
        for key in value:
            if not SLUG.fullmatch(key):
                raise ValueError(f"topic key {key!r} must be a lowercase slug (a-z, 0-9, '-')")
        return value

    @field_validator("names")
    @classmethod
    def _named_topics(cls, value: dict[str, _Names], info: ValidationInfo) -> dict[str, _Names]:
        topics = info.data.get("topics") or {}  # validated before names: declared first
        for language, names in value.items():
            unknown = sorted(set(names.topics) - set(topics))
            if unknown:
                raise ValueError(f"{language}.topics names {', '.join(unknown)}, which topics does not list")
        return value


@dataclass(frozen=True)
class Site:
    """The site as configured by the office; every channel reads it."""

    name: str
    base_url: str
    language: str
    tz: ZoneInfo
    topics: dict[str, str]
    latest_count: int = 20
    feed_entries: int = 30
    name_en: str = ""
    description: str = ""
    publisher: str = ""
    issue_time: time = time(7, 0)
    #: Default time an urgent article stays in the home page's urgent box (``urgent_until`` wins).
    urgent_for: timedelta = timedelta(days=3)
    #: Language -> (site name, bulletin name) for translated editions; see ``name_in``.
    names: tuple[tuple[str, str, str], ...] = ()
    #: Language -> topic key -> name, where ``names`` gives one; see ``topics_in``.
    topic_names: dict[str, dict[str, str]] = field(default_factory=dict)

    def name_in(self, language: str) -> str:
        """The archive's name in ``language`` (the Japanese name when none is configured)."""
        if language == self.language:
            return self.name
        named = {lang: site for lang, site, _ in self.names}
        return named.get(language) or self.name_en or self.name

    def bulletin_in(self, language: str) -> str:
        """The bulletin's name in ``language``: 区報, Nerima City News."""
        named = {lang: bulletin for lang, _, bulletin in self.names}
        return "区報" if language == self.language else named.get(language) or named.get("en") or "区報"

    def topics_in(self, language: str) -> dict[str, str]:
        """Topic key -> its name in ``language``, the Japanese name where none is configured (the
        subscription pages' choices; the archive's topic pages stay Japanese, ADR 0010)."""
        named = self.topic_names.get(language, {})
        return {key: named.get(key) or name for key, name in self.topics.items()}

    def urgent_end(self, publish_at: datetime, urgent_until: datetime | None) -> datetime:
        """When an urgent article stops being current news: its ``urgent_until``, else
        ``urgent_days`` after it was published."""
        return urgent_until if urgent_until is not None else publish_at + self.urgent_for

    def url(self, path: str) -> str:
        """Absolute URL of a site path such as ``articles/x/``."""
        return self.base_url + path.lstrip("/")

    # The site's addresses, owned here so that channels, which may not import each other, agree
    # on them: the archive writes these pages and files, everything else links to them.

    def edition(self, language: str | None = None) -> str:
        """Path prefix of a language's edition: "" for the original (or None), ``en/`` for English."""
        return "" if language is None or language == self.language else f"{language}/"

    def article_path(self, article_id: str, language: str | None = None) -> str:
        """``articles/<id>/`` (``en/articles/<id>/`` in the English edition): an article's page."""
        return f"{self.edition(language)}articles/{article_id}/"

    def article_url(self, article_id: str, language: str | None = None) -> str:
        """The absolute URL of an article's page (the original's unless ``language`` says)."""
        return self.url(self.article_path(article_id, language))

    def issue_path(self, day: date, language: str | None = None) -> str:
        """``bulletin/<date>/``: the page of the 区報 issue of ``day`` in an edition."""
        return f"{self.edition(language)}bulletin/{day.isoformat()}/"

    def issue_url(self, day: date, language: str | None = None) -> str:
        """The absolute URL of an issue's page."""
        return self.url(self.issue_path(day, language))

    @staticmethod
    def ebook_path(day: date, language: str) -> str:
        """``ebooks/2026-11-01/kuho-2026-11-01-en.epub``: the e-book edition of an issue, written
        by the ``ebook`` channel to the archive's store and linked from the issue's page."""
        return f"ebooks/{day.isoformat()}/kuho-{day.isoformat()}-{language}.epub"

    def ebook_url(self, day: date, language: str) -> str:
        """The absolute URL of an issue's e-book edition."""
        return self.url(self.ebook_path(day, language))

    @staticmethod
    def media_path(src: str) -> str:
        """``media/map.png``: where an image of ``content/media/`` is published (one copy for every
        edition), written by the archive and shown by pages, mails and feeds."""
        return "media/" + src.removeprefix("media/")

    def media_url(self, src: str) -> str:
        """The absolute URL of a published image (mail clients load nothing relative)."""
        return self.url(self.media_path(src))

    @property
    def host(self) -> str:
        """Host name of the base URL (used in stable feed ids)."""
        return self.base_url.split("://", 1)[1].split("/", 1)[0]


def load_site(content_dir: Path) -> Site:
    """Read and validate site.yaml; raise ContentInvalid naming its line and field."""
    path = content_dir / SITE_FILE
    label = str(path)
    try:  # through content's boundary: a site.yaml linked to /proc/self/environ is refused
        raw = read_inside(content_dir, SITE_FILE, MAX_SITE_BYTES, "site settings must be a real file inside content/")
    except MissingContentFile:
        raise ContentInvalid([ContentError(label, 1, "file", "site settings are missing")]) from None
    except ContentFileError as exc:
        raise ContentInvalid([ContentError(label, 1, "file", str(exc))]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ContentInvalid([ContentError(label, line, "file", "not valid UTF-8; save the file as UTF-8")]) from None
    alias = no_aliases(text)
    if alias is not None:
        raise ContentInvalid([ContentError(label, alias, "yaml", ALIAS_MESSAGE)])
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        key_lines: dict[tuple[int | str, ...], int] = {
            (k.value,): k.start_mark.line + 1
            for k, _ in getattr(node, "value", [])
            if isinstance(node, yaml.MappingNode)
        }
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise ContentInvalid([ContentError(label, (mark.line + 1) if mark else 1, "yaml", str(exc.problem))]) from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ContentInvalid([ContentError(label, 1, "file", "must be a mapping of settings")])
    try:
        model = _SiteModel.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = key_lines.get(loc[:1], 1)
            errors.append(ContentError(label, line, ".".join(map(str, loc)) or "site", err["msg"]))
        raise ContentInvalid(errors) from exc
    try:
        tz = ZoneInfo(model.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ContentInvalid(
            [ContentError(label, key_lines.get(("timezone",), 1), "timezone", f"unknown time zone {model.timezone!r}")]
        ) from None
    return Site(
        name=model.name,
        base_url=model.base_url,
        language=model.language,
        tz=tz,
        topics=dict(model.topics),
        latest_count=model.latest_count,
        feed_entries=model.feed_entries,
        name_en=model.name_en,
        description=model.description,
        publisher=model.publisher,
        issue_time=model.issue_time,
        urgent_for=timedelta(days=model.urgent_days),
        names=tuple((lang, n.site, n.bulletin) for lang, n in sorted(model.names.items())),
        topic_names={lang: dict(n.topics) for lang, n in model.names.items() if n.topics},
    )
