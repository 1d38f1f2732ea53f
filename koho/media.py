"""The only way publishing reads a file named by content: a regular image file inside content/media.

content/ is written by people (through git) and read by a process that holds secrets (SMTP
password, AWS keys, the link-signing key). A path in front matter must therefore never reach a
file outside ``content/media/``: not through ``..``, not through a symbolic link anywhere on the
way (a link in content/media/ to /proc/self/environ, or a linked folder), not through a hard link
to a file elsewhere, and not to a non-image file inside content/ (a draft's source, site.yaml).
The file is read through ``koho.content_files`` (no link followed on the way, regular, singly
linked, capped); the bytes must start like an image of the type the file name says.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from koho.content_files import ContentFileError, read_inside

MEDIA_DIR = "media"
#: Image types every page, mail client and EPUB reader shows, by suffix: (MIME type, magic prefixes).
#: No SVG: it is a document that can carry script.
IMAGE_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    "webp": ("image/webp", (b"RIFF",)),  # and b"WEBP" at offset 8, checked below
}
#: Attachments a press release may carry, by suffix (the same shape as ``IMAGE_TYPES``): only
#: PDF, the format press clubs and outlets take, checked by its magic bytes like an image.
ATTACHMENT_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {"pdf": ("application/pdf", (b"%PDF-",))}
#: A press release's PDF goes to every outlet in one mail: mail servers refuse mail over about
#: 10 MB, and base64 adds a third, so each file stays under 5 MiB.
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
_ATTACHMENT_RULE = "attachments must be real files inside content/media/ (copy the PDF in)"
#: Larger images are a mistake (a camera original) and would slow every page and mail.
MAX_IMAGE_BYTES = 20 * 1024 * 1024
_RULE = "images must be real files inside content/media/ (copy the image in)"


class MediaError(ValueError):
    """A referenced file that publishing must not read; the message says why, in plain words."""


def image_type(src: str) -> str:
    """The MIME type of an accepted image path (by its suffix, which ``read_media`` ties to its bytes)."""
    return IMAGE_TYPES.get(src.rsplit(".", 1)[-1].lower(), ("application/octet-stream",))[0]


def _parts(src: str, types: dict[str, tuple[str, tuple[bytes, ...]]] = IMAGE_TYPES, what: str = "image") -> list[str]:
    if "://" in src or src.startswith(("//", "data:")):
        raise MediaError(
            f"{src!r} is a remote address; {what}s must be files under content/media/ "
            "(they are copied to the site, the e-book or the mail, never loaded from elsewhere)"
        )
    if "\\" in src or "\0" in src or PurePosixPath(src).is_absolute():
        raise MediaError(f"{src!r} must be a path such as media/map.png")
    parts = src.split("/")
    if any(p in ("", ".", "..") for p in parts) or parts[0] != MEDIA_DIR or len(parts) < 2:
        raise MediaError(f"{src!r} must be a path inside content/media/, such as media/map.png")
    suffix = parts[-1].rsplit(".", 1)[-1].lower() if "." in parts[-1] else ""
    if suffix not in types:
        raise MediaError(f"{src!r} is not an {what} type koho sends; use {', '.join(sorted({'.' + s for s in types}))}")
    return parts


def read_media(content_dir: Path, src: str, limit: int = MAX_IMAGE_BYTES) -> bytes:
    """The bytes of image ``src`` (``media/...``) under ``content_dir``; MediaError if it is not
    a regular, singly linked file reached without following any link, of the type its name says."""
    return _read(content_dir, src, limit, whole=True)


def read_attachment(content_dir: Path, src: str) -> bytes:
    """The bytes of a press release's PDF ``src`` (``media/...``), checked as ``read_media``
    checks an image: inside content/media/, no link followed, a PDF by its bytes, size capped."""
    return _read(content_dir, src, MAX_ATTACHMENT_BYTES, whole=True, types=ATTACHMENT_TYPES)


def attachment_problem(content_dir: Path, src: str) -> str | None:
    """Why ``src`` cannot go out as a press release's attachment, or None (``koho check``)."""
    try:
        _read(content_dir, src, MAX_ATTACHMENT_BYTES, whole=False, types=ATTACHMENT_TYPES)
    except MediaError as exc:
        return str(exc)
    return None


def _read(
    content_dir: Path, src: str, limit: int, whole: bool, types: dict[str, tuple[str, tuple[bytes, ...]]] = IMAGE_TYPES
) -> bytes:
    what, rule = ("image", _RULE) if types is IMAGE_TYPES else ("attachment", _ATTACHMENT_RULE)
    parts = _parts(src, types, what)
    try:
        data = read_inside(content_dir, "/".join(parts), limit, rule, head=None if whole else 16)
    except ContentFileError as exc:
        raise MediaError(str(exc)) from None
    _check_magic(src, data[:16], types)
    return data


def _check_magic(src: str, head: bytes, types: dict[str, tuple[str, tuple[bytes, ...]]]) -> None:
    suffix = src.rsplit(".", 1)[-1].lower()
    _, magics = types[suffix]
    ok = any(head.startswith(m) for m in magics) and (suffix != "webp" or head[8:12] == b"WEBP")
    if not ok:
        kind = "image" if types is IMAGE_TYPES else "file"
        raise MediaError(f"content/{src} is not a {suffix.upper()} {kind} (its bytes say otherwise)")


def media_problem(content_dir: Path, src: str) -> str | None:
    """Why ``src`` cannot be published as an image, or None (``koho check`` reports it)."""
    try:  # the head is enough to check; reading thousands of whole images per run is not
        _read(content_dir, src, MAX_IMAGE_BYTES, whole=False)
    except MediaError as exc:
        return str(exc)
    return None


def read_regular(path: Path) -> bytes:
    """A file's bytes only if the path's last component is a regular, singly linked file (no
    link followed): the deliver step's second look at media checked by ``read_media`` at read time."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            raise MediaError(f"{path.name} is not a regular file")
        return handle.read()
