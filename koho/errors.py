"""Errors that PR staff see: every one names the file, the line and the field."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any


@dataclass(frozen=True, order=True)
class ContentError:
    """One problem in one content file, printed as ``path:line: field: message``.

    ``phrase`` (a ``koho.phrase.Phrase``, when set) is the same message as a template and its
    values, so the CLI can say it in the reader's language; ``message`` stays English."""

    path: str
    line: int
    field: str
    message: str
    phrase: Any = _field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


class ContentInvalid(Exception):
    """Raised when content has errors; carries all of them so a run can report every one."""

    def __init__(self, errors: list[ContentError]):
        self.errors = sorted(errors)
        super().__init__(f"{len(self.errors)} content error(s):\n" + "\n".join(map(str, self.errors)))


class ConfigError(Exception):
    """A setting (environment variable or site.yaml) that koho cannot work with."""


class DeliveryFailure(Exception):
    """A transport could not deliver. ``transient`` says whether trying again may help
    (5xx, throttling, network) or not (bad address, refused, misconfigured)."""

    def __init__(self, message: str, transient: bool):
        super().__init__(message)
        self.transient = transient
