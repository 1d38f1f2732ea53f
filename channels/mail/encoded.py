"""Header values as RFC 2047 allows them: every line holding an encoded-word at most 76 characters.

The email package's folder keeps a header line within its policy's ``max_line_length`` but lets
an encoded-word on a continuation line reach 76 characters where RFC 2047 (section 2) allows 75
(``=?utf-8?b?…?=`` after the folding space makes 77 on a 78-column line). Folding with a policy of
76 columns is RFC 2047's own rule ("each line of a header field that contains one or more
encoded-words is limited to 76 characters"), and the email package then writes every
encoded-word within 75: the encoding stays the library's, only the line length is chosen here.
"""

from __future__ import annotations

from email.policy import SMTP

#: RFC 2047's line limit for header lines with encoded-words (CRLF line ends, as mailed).
_RFC2047 = SMTP.clone(max_line_length=76)


def folded(name: str, value: str) -> str:
    """``value`` folded and encoded for header ``name``, ready for ``EmailMessage.set_raw``:
    ASCII words stay readable, the rest become encoded-words of at most 75 characters."""
    # header_store_parse is what ``message[name] = value`` runs: it refuses CR and LF, so a title
    # can never inject a header here either; the header object folds and encodes itself.
    _name, header = _RFC2047.header_store_parse(name, value)
    lines = header.fold(policy=_RFC2047).split(":", 1)[1].lstrip(" ").removesuffix("\r\n")
    # The folder sometimes ends a line with the space it folds at and then starts the next line
    # with another: unfolded, "everyone 総合" would read "everyone  総合". The fold is the space.
    return str(lines.replace(" \r\n ", "\r\n "))
