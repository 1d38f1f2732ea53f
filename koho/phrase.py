"""A message kept as its English template and its values, so it can be said in another language
where it is shown (the CLI's catalog, ``koho/cli_words.py``) while ``str()`` stays English.

Content errors are made deep in the reader (and cached with parsed articles); the language of the
person reading them is known only when they are printed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Phrase:
    """``template`` (an English msgid with ``{name}`` fields) and its values; a value may itself be
    a Phrase (said in the same language) or plain text from the content (never translated)."""

    template: str
    params: tuple[tuple[str, object], ...] = ()

    def say(self, gettext: Callable[[str], str] = str) -> str:
        """The message in the language ``gettext`` translates into (English by default)."""
        if not self.params:  # a plain message: braces in it are text, not fields
            return gettext(self.template)
        values = {k: (v.say(gettext) if isinstance(v, Phrase) else v) for k, v in self.params}
        return gettext(self.template).format(**values)

    def __str__(self) -> str:
        return self.say()


def phrase(template: str, **params: object) -> Phrase:
    """A Phrase of ``template`` with ``params``."""
    return Phrase(template, tuple(params.items()))


class PhraseError(ValueError):
    """A ValueError carrying its Phrase: pydantic validators raise it, and the error mapping
    hands the phrase on to the ContentError (``ctx['error']``)."""

    def __init__(self, said: Phrase):
        super().__init__(str(said))
        self.phrase = said
