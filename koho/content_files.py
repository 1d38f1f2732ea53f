"""The one door through which koho reads a file under content/: images, site.yaml, glossary.yaml,
the review PO files under content/translations/.

content/ is written by people (through git) and read by a process that holds secrets (SMTP
password, AWS keys, the link-signing key). A file koho reads there must therefore be what it
looks like in the repository: every path component is opened relative to the one before with
``O_NOFOLLOW``, so a symbolic link anywhere on the way (``site.yaml`` -> ``/proc/self/environ``,
a linked ``translations/en`` folder) is refused instead of followed, and what is checked is what
is read. The file must be regular (a FIFO must not hang a scheduled run: ``O_NONBLOCK``),
singly linked (a hard link is a second name for a file elsewhere) and no larger than its cap.
``content_dir`` itself is the deployment's choice and may be reached through a link.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class ContentFileError(ValueError):
    """A file under content/ that koho must not read; the message says why, in plain words,
    and names the file as ``content/<path>``."""


class MissingContentFile(ContentFileError):
    """The file (or a folder on its way) does not exist."""


def read_inside(content_dir: Path, relpath: str, limit: int, rule: str, head: int | None = None) -> bytes:
    """The bytes of ``content_dir/relpath`` (``/``-separated, no ``..``), reached without following
    any link, from a regular and singly linked file of at most ``limit`` bytes.

    ``rule`` ends the messages about links ("images must be real files inside content/media/").
    With ``head``, only that many bytes are read (checks that look at a file's start).
    Raises ``MissingContentFile`` if it does not exist, ``ContentFileError`` otherwise.
    """
    parts = relpath.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ContentFileError(f"{relpath!r} must be a path inside content/")
    label = f"content/{relpath}"
    try:
        fd = os.open(content_dir, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:  # no content folder (a translator on its own, a fresh checkout): no file either
        raise MissingContentFile(f"no such file: {label}") from None
    try:
        for name in parts[:-1]:
            try:
                nxt = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                raise MissingContentFile(f"no such file: {label}") from None
            except OSError:  # ELOOP or ENOTDIR: a link, or a file where a folder should be
                raise ContentFileError(f"{label}: {name!r} on the way is a link or not a folder; {rule}") from None
            os.close(fd)
            fd = nxt
        try:
            file_fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
        except FileNotFoundError:
            raise MissingContentFile(f"no such file: {label}") from None
        except OSError:  # ELOOP: the last component is a symbolic link
            raise ContentFileError(f"{label} is a link; {rule}") from None
    finally:
        os.close(fd)
    with os.fdopen(file_fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ContentFileError(f"{label} is not a regular file")
        if info.st_nlink != 1:
            raise ContentFileError(f"{label} is a hard link to another file; {rule}")
        if info.st_size > limit:
            raise ContentFileError(f"{label} has {info.st_size:,} bytes; at most {limit:,} are read")
        data = handle.read(limit + 1 if head is None else head)
    if len(data) > limit:  # it grew after fstat
        raise ContentFileError(f"{label} has more than {limit:,} bytes; at most {limit:,} are read")
    return data
