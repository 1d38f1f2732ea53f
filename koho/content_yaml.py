"""A YAML file under content/ read as a node tree (lines kept for errors), for the files that
several packages read: ``glossary.yaml`` holds the translations' renderings and the readings of
ward terms (``koho.reading_dictionary``), and neither package may import the other.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from koho.content_files import ContentFileError, MissingContentFile, read_inside
from koho.errors import ContentError
from koho.frontmatter import ALIAS_MESSAGE, no_aliases


def compose_content_yaml(
    content_dir: Path, relpath: str, limit: int, rule: str
) -> tuple[yaml.Node | None, list[ContentError]]:
    """The composed YAML of ``content_dir/relpath`` (None when missing, empty or unreadable) and
    the errors that stopped it, each naming the file and line. Never raises for bad content."""
    label = (content_dir / relpath).as_posix()
    try:  # through content's boundary: never a link to a file outside content/
        text = read_inside(content_dir, relpath, limit, rule).decode("utf-8")
        alias = no_aliases(text)  # a "billion laughs" file would stall every run
        if alias is not None:
            return None, [ContentError(label, alias, "yaml", ALIAS_MESSAGE)]
        return yaml.compose(text, Loader=yaml.SafeLoader), []
    except MissingContentFile:
        return None, []
    except ContentFileError as exc:
        return None, [ContentError(label, 1, "file", str(exc))]
    except UnicodeDecodeError:
        return None, [ContentError(label, 1, "file", "not valid UTF-8; save the file as UTF-8")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        return None, [ContentError(label, line, "yaml", str(getattr(exc, "problem", exc)))]
