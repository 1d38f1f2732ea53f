"""A message body in base64, with the part every recipient shares encoded once.

A fan-out's bodies differ only in the footer (each recipient's own links), near the end. Base64
encodes 57 bytes into each 76-character line, line by line, so the lines of the body's first
``57 x k`` bytes are the same for every recipient: ``Template`` encodes them once per rendered
message, and per recipient only the rest (the last partial line of the shared part, the footer,
what follows it) is encoded. The result is byte for byte what ``encode`` makes of the whole body,
which is what the email package writes for ``cte="base64"`` under the SMTP policy
(``tests/test_mail_message.py`` compares ``address`` with ``compose``). Encoding each whole body
was a third of koho's CPU per message.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

#: Bytes that base64 writes on one 76-character line.
_LINE = 57


def encode(text: str) -> bytes:
    """``text`` as the email package's base64 body: CRLF line ends and a final one, UTF-8,
    76-character lines ending in CRLF."""
    text = text.replace("\r\n", "\n")
    if not text.endswith("\n"):
        text += "\n"
    return _lines(text.replace("\n", "\r\n").encode("utf-8"))


def _lines(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


@dataclass(frozen=True)
class Template:
    """A body ``head + <per-recipient part>``, with the whole lines of ``head`` encoded once."""

    lines: bytes  # the encoded whole lines of the head
    rest: str  # the head's text after them, encoded with each recipient's part

    @classmethod
    def of(cls, head: str) -> Template:
        """The template of bodies that start with ``head`` and go on after it."""
        # Where the head can be cut: after a character (never a CR, whose LF may follow) at which
        # the normalised bytes so far fill whole lines. CRLF normalisation is per character there.
        size, cut, after_cr = 0, 0, False
        for i, char in enumerate(head):
            size += 2 if char == "\n" and not after_cr else len(char.encode("utf-8"))
            after_cr = char == "\r"
            if size % _LINE == 0 and not after_cr:
                cut = i + 1
        shared = head[:cut]
        return cls(
            _lines(shared.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")) if cut else b"", head[cut:]
        )

    def encode(self, tail: str) -> bytes:
        """The body ``head + tail`` in base64, exactly as ``encode`` would write it (``tail``
        not empty: the final line end of an empty one would depend on the head)."""
        if not (self.rest or tail):
            raise ValueError("a template's body needs a part after its shared lines")
        return self.lines + encode(self.rest + tail)
