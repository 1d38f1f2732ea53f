"""Split a Markdown file into YAML front matter and body, keeping the line of every key.

PyYAML's composer gives each node a start mark; we walk the node tree ourselves so that an error
about ``images[1].alt`` can point at the line where ``alt`` is written. Libraries such as
python-frontmatter return plain dicts and lose those positions, so this part is hand-written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from koho.cli_words import N_
from koho.errors import ContentError
from koho.phrase import Phrase, phrase

DELIMITER = "---"
#: Front matter is a few dozen short lines; anything near this size is a mistake or an attack.
MAX_FRONT_MATTER_BYTES = 16 * 1024


if TYPE_CHECKING:
    _Base = yaml.SafeLoader  # the interface both share: what this module calls
else:
    _Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~8x faster, same nodes and marks

#: Where a value sits in the front matter: its keys and list positions (pydantic's ``loc``).
KeyPath = tuple[str | int, ...]


class _Loader(_Base):
    """SafeLoader without the implicit timestamp type.

    Dates stay strings so that koho, not PyYAML, decides what a time without an offset means
    (Asia/Tokyo, where PyYAML would silently read it as UTC).
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Parsed:
    """Front matter data, the line of each key path, and the Markdown body with its first line."""

    data: dict[str, Any]
    lines: dict[KeyPath, int]
    body: str
    body_line: int
    errors: list[ContentError] = field(default_factory=list)

    def line_of(self, loc: KeyPath) -> int:
        """Line of the deepest known key on ``loc`` (falls back to the opening delimiter)."""
        for end in range(len(loc), 0, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return 1


def decode(raw: bytes, path: str) -> tuple[str | None, list[ContentError]]:
    """Decode UTF-8 source, accepting a BOM and CRLF line ends; name the line of a bad byte."""
    if raw.startswith(b"\xef\xbb\xbf"):
        # Windows editors add a BOM; accepting it is kinder than refusing, and the
        # normalised text (and so the revision) is the same as without it.
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [
            ContentError(path, line, "file", f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8")
        ]
    return text.replace("\r\n", "\n").replace("\r", "\n"), []


def split(text: str, path: str) -> Parsed:
    """Parse ``---``-delimited YAML front matter; all problems are returned, never raised."""
    lines = text.split("\n")
    if not text.strip():
        return _failed(path, 1, "file", "the file is empty; an article starts with '---' front matter")
    if lines[0].rstrip() != DELIMITER:
        return _failed(path, 1, "front matter", "the file must start with a '---' line opening the front matter")
    try:
        close = next(i for i in range(1, len(lines)) if lines[i].rstrip() == DELIMITER)
    except StopIteration:
        return _failed(path, 1, "front matter", "the front matter is not closed by a '---' line")
    body_lines = lines[close + 1 :]
    body_start = close + 2
    first_text = next((i for i, ln in enumerate(body_lines) if ln.strip()), None)
    if first_text is not None and body_lines[first_text].rstrip() == DELIMITER:
        return _failed(
            path,
            body_start + first_text,
            "front matter",
            "a second '---' block follows the front matter; merge it into the first one",
        )
    yaml_text = "\n".join(lines[1:close])
    if not yaml_text.strip():
        return _failed(path, 2, "front matter", "the front matter is empty")
    if len(yaml_text.encode("utf-8")) > MAX_FRONT_MATTER_BYTES:
        return _failed(
            path, 2, "front matter", phrase("the front matter is larger than {n} KiB", n=MAX_FRONT_MATTER_BYTES // 1024)
        )
    refused = no_aliases(yaml_text)
    if refused is not None:
        return _failed(path, refused + 1, "front matter", ALIAS_MESSAGE)
    loader = _Loader(yaml_text)
    try:
        node = loader.get_single_node()
        if not isinstance(node, yaml.MappingNode):
            return _failed(path, 2, "front matter", "the front matter must be a mapping of 'key: value' lines")
        key_lines: dict[KeyPath, int] = {}
        errors: list[ContentError] = []
        _walk(node, (), key_lines, errors, path)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        line, said = yaml_problem(exc)
        return _failed(path, line, "front matter", said)
    except yaml.YAMLError as exc:
        return _failed(path, 2, "front matter", phrase("this is not valid YAML ({detail})", detail=str(exc)))
    finally:
        loader.dispose()
    return Parsed(data, key_lines, "\n".join(body_lines), body_start, errors)


ALIAS_MESSAGE = N_(
    "YAML anchors and aliases (&name, *name) are not allowed; write each value out "
    "(an alias can make a short file expand to gigabytes)"
)


def no_aliases(yaml_text: str) -> int | None:
    """The 1-based line of the first YAML anchor or alias in ``yaml_text``, or None.

    Checked on the token stream, before anything is composed: building nodes from a "billion
    laughs" document is what costs the time and memory. Scanning is linear in the text.
    Malformed YAML is left to the parser proper, which names the line of the problem.
    """
    loader = _Loader(yaml_text)
    try:
        while True:
            token = loader.get_token()  # type: ignore[no-untyped-call]  # unannotated in types-PyYAML
            if token is None or isinstance(token, yaml.StreamEndToken):
                return None
            if isinstance(token, (yaml.AnchorToken, yaml.AliasToken)):
                return int(token.start_mark.line) + 1
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()


def _walk(node: yaml.Node, loc: KeyPath, out: dict[KeyPath, int], errors: list[ContentError], path: str) -> None:
    # +2: the YAML text starts on the line after the opening '---' (line 1).
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 2
            name = ".".join(map(str, loc + (key,)))
            if key in seen:
                errors.append(ContentError(path, line, name, "this key is given twice; keep one"))
            seen.add(key)
            out[loc + (key,)] = line
            _walk(value_node, loc + (key,), out, errors, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            out[loc + (index,)] = item.start_mark.line + 2
            _walk(item, loc + (index,), out, errors, path)


def _failed(path: str, line: int, fieldname: str, message: str | Phrase) -> Parsed:
    return Parsed({}, {}, "", 1, [said(path, line, fieldname, message)])


def said(path: str, line: int, fieldname: str, message: str | Phrase) -> ContentError:
    """A ContentError whose message is a Phrase (English text, translatable where printed)."""
    if isinstance(message, str):
        message = Phrase(message)
    return ContentError(path, line, fieldname, str(message), message)


#: The parser's words for a YAML mistake (libyaml's and PyYAML's), in plain words for PR staff,
#: and whether the mistake is where the parser *started* the construct (an unclosed quote or
#: bracket is noticed lines later, at the end; the person must look where it was opened).
_YAML_PROBLEMS = (
    (
        "mapping values are not allowed",
        N_(
            "a second ':' on this line: put the value in quotes (title: \"a: b\"), or check that this line is "
            "indented like the keys above it"
        ),
        False,
    ),
    (
        "could not find expected ':'",
        N_("a line without 'key: value' (a ':' and a space after the key are missing, or a quote is not closed)"),
        True,
    ),
    (
        "while scanning a quoted scalar",
        N_("a quote opened here is never closed: end the value with the same quote mark"),
        True,
    ),
    (
        "while parsing a flow sequence",
        N_("a '[' opened here is never closed: end the list with ']' on the same line"),
        True,
    ),
    ("while parsing a flow mapping", N_("a '{' opened here is never closed: end it with '}' on the same line"), True),
    (
        "found character that cannot start any token",
        N_("a character YAML does not allow here (a tab? indent with spaces; '@' or '`' must be in quotes)"),
        False,
    ),
    ("found a tab character", N_("a tab character: indent with spaces"), False),
    (
        "did not find expected key",
        N_(
            "this line is indented differently from the keys above it (indent with spaces, the same amount "
            "for keys at the same level)"
        ),
        False,
    ),
    (
        "did not find expected '-' indicator",
        N_("this line is indented differently from the list items above it"),
        False,
    ),
    ("expected <block end>", N_("this line is indented differently from the keys above it"), False),
)


def yaml_problem(exc: yaml.MarkedYAMLError) -> tuple[int, Phrase]:
    """The line of a YAML mistake (the line of the front matter's file) and what it is in words."""
    words = f"{exc.context or ''} {exc.problem or ''}"
    for needle, message, at_start in _YAML_PROBLEMS:
        if needle in words:
            mark = (exc.context_mark if at_start else exc.problem_mark) or exc.problem_mark or exc.context_mark
            line = mark.line + 2 if mark else 2
            return line, phrase("this is not valid YAML: {problem}", problem=Phrase(message))
    mark = exc.problem_mark or exc.context_mark
    return (
        (mark.line + 2) if mark else 2,
        phrase("this is not valid YAML ({detail})", detail=exc.problem or "invalid YAML"),
    )
