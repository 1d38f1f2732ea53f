"""Runtime settings from the environment (``KOHO_*``); secrets never live in files or logs."""

from __future__ import annotations

import math
import os
import re
import secrets
import zlib
from collections import Counter
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where content comes from, where the ledger lives and where each channel delivers.

    Every channel transport is chosen by URL (``file://public``, ``s3://bucket/prefix``), so one
    environment variable switches a channel from the local default to a real service.
    """

    model_config = SettingsConfigDict(env_prefix="KOHO_", extra="ignore")

    content_dir: Path = Path("content")
    state_dir: Path = Path(".koho")
    database_url: str = ""
    archive_url: str = "file://public"
    feeds_url: str = ""
    channels: str = Field(
        "archive,feeds,ebook,braille,audio,mail,press_mail,x,facebook,line,youtube",
        description="comma-separated channels to publish to",
    )
    languages: str = Field(
        "en,zh,ko,th,pt,es,id,vi",
        description="comma-separated languages articles are "
        "machine-translated into (argos codes; zh is Simplified Chinese); empty: none",
    )
    mail_url: str = "outbox://outbox"
    mail_from_name: str = "ねりま情報メール"
    mail_from_address: str = ""  # default: info-mail@<site host>
    mail_web_url: str = ""  # default: <site base URL>mail/
    mail_retention_days: int = Field(30, ge=0, description="days an unsubscribed address is kept, then erased")
    mail_sns_topic_arns: str = Field(
        "",
        description="comma-separated SNS topics whose SES bounces and complaints "
        "POST /sns accepts; none: every message is refused",
    )
    mail_trusted_proxy_header: str = Field(
        "",
        description="request header the reverse proxy sets to the client's "
        "address (e.g. X-Forwarded-For); empty: the socket peer counts",
    )
    secret_key: SecretStr | None = None
    ops_mail: str = Field(
        "",
        description="comma-separated operator addresses told once of failed deliveries, deliveries "
        "pending too long and scheduled runs that did not happen; empty: the run's log and Prefect event only",
    )
    ops_language: Literal["ja", "en"] = Field("ja", description="language of the operators' alert mail")
    ops_pending_minutes: float = Field(
        60.0, gt=0, description="minutes a delivery may stay pending before the operators are told"
    )
    ops_missed_minutes: float = Field(
        30.0,
        gt=0,
        description="minutes between two publish-due runs after which the gap is reported as missed runs "
        "(prefect.yaml schedules one every 10 minutes)",
    )
    audience_page: int = Field(
        5000,
        ge=1,
        description="subscribers a fan-out plans, records and sends at a time (a keyset page "
        "read from the database): its memory follows this, not the list's size",
    )
    lease_seconds: float = Field(
        900.0,
        gt=0,
        description="how long a run holds the deliveries of a batch it is "
        "sending; a crashed run's rows are taken over (as uncertain) after it",
    )
    prefect_server_timeout: float = Field(
        60.0,
        gt=0,
        description="seconds a command waits for koho's local Prefect server to answer (only without PREFECT_API_URL)",
    )

    def secret(self) -> str:
        """The signing secret: KOHO_SECRET_KEY, else one generated once for this state folder.

        The generated file keeps the embedded defaults working on a fresh machine; production
        sets KOHO_SECRET_KEY (from a secret store) so every worker signs the same links.
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.state_dir / "secret_key"
        if not path.is_file():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Two commands starting at once on a fresh folder: the key appears whole or not at
            # all (written aside, then linked into place), and the one that comes second uses
            # the first one's key instead of reading a half-written file or failing.
            aside = path.with_name(f".secret_key.{os.getpid()}")
            fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            try:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
                os.link(aside, path)
            except FileExistsError:
                pass
            finally:
                aside.unlink(missing_ok=True)
        return path.read_text().strip()

    def db_url(self) -> str:
        """The ledger's SQLAlchemy URL; a SQLite file under the state folder by default."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.state_dir / 'koho.db').as_posix()}"

    def feeds_target(self) -> str:
        """Feeds go next to the archive unless told otherwise (they are part of the site)."""
        return self.feeds_url or self.archive_url

    def target_languages(self) -> list[str]:
        """Languages every article is translated into, in order (never the site's own)."""
        return list(dict.fromkeys(code.strip() for code in self.languages.split(",") if code.strip()))

    def enabled_channels(self) -> list[str]:
        """Channel names switched on, in order."""
        return _comma_list(self.channels)

    def sns_topic_arns(self) -> list[str]:
        """The SNS topic ARNs the bounce endpoint trusts (empty: it trusts none)."""
        return _comma_list(self.mail_sns_topic_arns)


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


#: Query parameters of a database URL that carry a secret (libpq and drivers accept these).
_SECRET_PARAMS = re.compile(r"pass|pwd|secret|token|key", re.I)
MASK = "***"


def mask_url(url: str) -> str:
    """``url`` with its password masked wherever it is written: after ``user:`` (up to the *last*
    ``@``, so a password with an unescaped ``@`` is masked whole) and in query parameters such
    as ``?password=``. Safe for logs, errors and CLI output."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    # The user info ends at the last "@" before the query: a password may hold "@" or "/".
    at = rest.partition("?")[0].rfind("@")
    if at >= 0:
        user, colon, _password = rest[:at].partition(":")
        rest = f"{user}{':' + MASK if colon else ''}{rest[at:]}"
    base, qmark, query = rest.partition("?")
    if qmark:
        pairs = [(k, MASK if _SECRET_PARAMS.search(k) else v) for k, v in parse_qsl(query, keep_blank_values=True)]
        rest = f"{base}?{urlencode(pairs, safe='*/:')}"
    return f"{scheme}://{rest}"


#: A signing key must be hard to guess: this many bits by a simple character-frequency estimate.
MIN_SECRET_BITS = 100


def secret_problem(secret: str) -> str | None:
    """Why ``secret`` is too weak to sign subscription links, or None.

    Length alone let 32 x 'a' through. The estimate (length x Shannon entropy of the character
    frequencies, and how well it compresses) is crude but catches repeated, patterned and
    dictionary-like keys; a key from ``secrets.token_urlsafe(48)`` scores about 350 bits,
    ``token_hex(16)`` about 115.
    """
    if len(secret) < 32:
        return f"KOHO_SECRET_KEY must be at least 32 characters (it has {len(secret)})"
    counts = Counter(secret)
    per_char = -sum(c / len(secret) * math.log2(c / len(secret)) for c in counts.values())
    # A repeated pattern ("0123456789" x 4) has varied characters but compresses to little.
    patterned = len(zlib.compress(secret.encode("utf-8"), 9)) < 0.7 * len(secret.encode("utf-8"))
    if per_char * len(secret) < MIN_SECRET_BITS or len(counts) < 10 or patterned:
        return (
            "KOHO_SECRET_KEY is too predictable (too few distinct characters); generate one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    return None
