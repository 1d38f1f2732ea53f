"""Byte stores for static output, chosen by URL: ``file://public`` or ``s3://bucket/prefix``.

Both write only what changed: a page whose bytes are already stored is not written again, which
is what makes publishing one article into a large archive cheap.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import urlsplit

from koho.channel import DeliversToUrl, StoresFiles
from koho.delivery import Delivery, Receipt
from koho.errors import ConfigError, DeliveryFailure


class StoreError(DeliveryFailure):
    """A write to a byte store failed."""


#: Disk conditions an operator or time fixes (full, read-only, quota, I/O or network file system
#: trouble): the write is retried by a later run. Anything else (a file where a folder must be,
#: a name too long) is the same on every try.
TRANSIENT_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EROFS,
        errno.EDQUOT,
        errno.EIO,
        errno.EAGAIN,
        errno.EBUSY,
        errno.EINTR,
        errno.ETIMEDOUT,
        errno.ESTALE,
        errno.ENOMEM,
        errno.EMFILE,
        errno.ENFILE,
        errno.EACCES,
        errno.EPERM,
    }
)


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write via a temp file and rename, so a crash never leaves half a file behind; ``mode``
    is set before the rename (0o600 for files holding addresses)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".koho-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: The content type of a delivery that takes a stored file down (a withdrawn article's audio):
#: its target is removed instead of written, once, like any other row of the ledger.
REMOVE = "application/x-koho-remove"


class Store(Protocol):
    """Where static files go."""

    url: str

    def put(self, path: str, data: bytes, content_type: str) -> tuple[bool, str]:
        """Store ``data`` at ``path`` unless identical bytes are there; return (written, reference)."""
        ...

    def read(self, path: str) -> bytes | None:
        """Stored bytes at ``path``, or None."""
        ...

    def present(self, paths: Sequence[str]) -> set[str]:
        """Which of ``paths`` the store holds (cheap: a stat each, or one listing)."""
        ...

    def sizes(self, paths: Sequence[str]) -> dict[str, int]:
        """The size in bytes of each of ``paths`` the store holds (a stat each, or one listing)."""
        ...

    def remove(self, path: str) -> bool:
        """Take ``path`` down; False when it was not there."""
        ...


def safe_path(path: str) -> str:
    """Refuse paths that could leave the output folder (absolute, ``..``, backslashes)."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts or "\\" in path or "\0" in path:
        raise StoreError(f"refusing unsafe output path {path!r}", transient=False)
    return pure.as_posix()


class FileStore:
    """A local folder; writes are atomic (temp file + rename) so a crash never leaves half a page."""

    def __init__(self, root: Path, url: str):
        self.root = root
        self.url = url

    def put(self, path: str, data: bytes, content_type: str) -> tuple[bool, str]:
        """Write if the bytes differ; the reference is the sha256 of the content."""
        dest = self.root / safe_path(path)
        ref = "sha256:" + hashlib.sha256(data).hexdigest()[:16]
        try:
            if dest.is_file() and dest.stat().st_size == len(data) and dest.read_bytes() == data:
                return False, ref
            atomic_write(dest, data)
        except OSError as exc:
            raise StoreError(f"cannot write {dest}: {exc.strerror}", transient=exc.errno in TRANSIENT_ERRNOS) from exc
        return True, ref

    def read(self, path: str) -> bytes | None:
        """Bytes of a stored file, if any."""
        dest = self.root / safe_path(path)
        return dest.read_bytes() if dest.is_file() else None

    def present(self, paths: Sequence[str]) -> set[str]:
        """The paths that are files in the folder (one stat each)."""
        return {p for p in paths if (self.root / safe_path(p)).is_file()}

    def sizes(self, paths: Sequence[str]) -> dict[str, int]:
        """Sizes of the paths that are files in the folder (one stat each)."""
        found = {}
        for path in paths:
            dest = self.root / safe_path(path)
            if dest.is_file():
                found[path] = dest.stat().st_size
        return found

    def remove(self, path: str) -> bool:
        """Delete the file, if there."""
        dest = self.root / safe_path(path)
        try:
            dest.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StoreError(f"cannot remove {dest}: {exc.strerror}", transient=exc.errno in TRANSIENT_ERRNOS) from exc
        return True


class S3Store:
    """An S3 bucket (or any S3-compatible service: set ``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``).

    The ETags of the prefix are listed once per store, so checking thousands of pages for changes
    costs a few list calls instead of one HEAD per page. ETag equals the MD5 of the body for
    single-part uploads, which is all koho does.
    """

    def __init__(self, bucket: str, prefix: str, url: str):
        import boto3  # imported here: a file:// setup never pays for boto3's import time

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.url = url
        self.client = boto3.client("s3")
        self._etags: dict[str, str] | None = None

    def _key(self, path: str) -> str:
        return self.prefix + safe_path(path)

    def _known(self) -> dict[str, str]:
        if self._etags is None:
            etags: dict[str, str] = {}
            try:
                pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
                for page in pages:
                    for obj in page.get("Contents", []):
                        etags[obj["Key"]] = obj["ETag"].strip('"')
            except Exception as exc:
                raise _s3_error(exc, f"cannot list s3://{self.bucket}/{self.prefix}") from exc
            self._etags = etags
        return self._etags

    def put(self, path: str, data: bytes, content_type: str) -> tuple[bool, str]:
        """Upload if the MD5 differs from the stored ETag; the reference is the ETag."""
        key = self._key(path)
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        known = self._known()
        if known.get(key) == md5:
            return False, md5
        try:
            response = self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        except Exception as exc:
            raise _s3_error(exc, f"cannot upload s3://{self.bucket}/{key}") from exc
        etag = response["ETag"].strip('"')
        known[key] = etag
        return True, etag

    def present(self, paths: Sequence[str]) -> set[str]:
        """The paths with an object under the prefix (from a fresh listing: the store may have
        lost objects since this store object last listed them)."""
        self._etags = None
        known = self._known()
        return {p for p in paths if self._key(p) in known}

    def sizes(self, paths: Sequence[str]) -> dict[str, int]:
        """Sizes of the objects among ``paths``, from a fresh listing of their top folders
        (``audio/``, ``braille/``): another channel may have written them since this store
        listed, and those folders are small beside the site's pages."""
        found: dict[str, int] = {}
        for folder in sorted({safe_path(p).split("/", 1)[0] for p in paths}):
            try:
                pages = self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=f"{self.prefix}{folder}/"
                )
                for page in pages:
                    found.update({obj["Key"]: obj["Size"] for obj in page.get("Contents", [])})
            except Exception as exc:
                raise _s3_error(exc, f"cannot list s3://{self.bucket}/{self.prefix}{folder}/") from exc
        return {p: found[self._key(p)] for p in paths if self._key(p) in found}

    def remove(self, path: str) -> bool:
        """Delete the object, if listed."""
        key = self._key(path)
        known = self._known()
        if key not in known:
            return False
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise _s3_error(exc, f"cannot remove s3://{self.bucket}/{key}") from exc
        known.pop(key, None)
        return True

    def read(self, path: str) -> bytes | None:
        """Bytes of a stored object, if any."""
        key = self._key(path)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        except Exception as exc:
            raise _s3_error(exc, f"cannot read s3://{self.bucket}/{key}") from exc


def _s3_error(exc: Exception, what: str) -> StoreError:
    from botocore.exceptions import (
        ClientError,
        HTTPClientError,
        ReadTimeoutError,
    )
    from botocore.exceptions import (
        ConnectionError as BotoConnectionError,
    )

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        transient = status >= 500 or status == 429 or code in {"SlowDown", "Throttling", "RequestTimeout"}
        return StoreError(f"{what}: {code or status}", transient=transient)
    # HTTPClientError covers ConnectionClosedError (the store closed the connection mid-request):
    # an upload of the same bytes again is harmless, so all connection trouble is retried.
    if isinstance(exc, (BotoConnectionError, ReadTimeoutError, HTTPClientError)):
        return StoreError(f"{what}: {exc}", transient=True)
    return StoreError(f"{what}: {exc}", transient=False)


def local_folder(url: str, base_dir: Path | None = None, default: str = "") -> Path:
    """The folder of a ``scheme://folder`` URL: ``file://public`` is relative (to ``base_dir``
    or the working directory), ``file:///srv/www`` absolute."""
    parts = urlsplit(url)
    raw = (parts.netloc + parts.path) if parts.netloc else parts.path
    folder = Path(raw or default)
    return folder if folder.is_absolute() else (base_dir or Path.cwd()) / folder


def store_factory(url: str, base_dir: Path | None = None) -> Callable[[], Store]:
    """Check a store URL now (a typo must stop a run before anything is written) and return
    what opens the store later, on first delivery."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        root = local_folder(url, base_dir)
        return lambda: FileStore(root, url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ConfigError(f"{url!r}: an s3:// URL needs a bucket, e.g. s3://koho-archive/site")
        return lambda: S3Store(parts.netloc, parts.path, url)
    raise ConfigError(f"{url!r}: unknown store; use file://folder or s3://bucket/prefix")


def open_store(url: str, base_dir: Path | None = None) -> Store:
    """A store for ``file://dir`` (relative to ``base_dir``/cwd) or ``s3://bucket/prefix``."""
    return store_factory(url, base_dir)()


def write_batch(store: Store, batch: Sequence[Delivery]) -> list[Receipt]:
    """Deliver static files: ``sent`` when written, ``skipped`` when identical bytes are stored,
    transient or permanent failures as the store says. Shared by every channel that writes files."""
    receipts = []
    for delivery in batch:
        if delivery.content_type == REMOVE:
            receipts.append(_remove(store, delivery))
            continue
        try:
            written, ref = store.put(delivery.target, delivery.body(), delivery.content_type)
        except StoreError as exc:
            receipts.append(
                Receipt.transient(delivery.key, str(exc)) if exc.transient else Receipt.failed(delivery.key, str(exc))
            )
            continue
        except OSError as exc:  # a media source vanished between check and publish
            source = delivery.payload if isinstance(delivery.payload, Path) else delivery.target
            receipts.append(Receipt.failed(delivery.key, f"cannot read {source}: {exc.strerror}"))
            continue
        receipts.append(
            Receipt.sent(delivery.key, ref)
            if written
            else Receipt.skipped(delivery.key, "unchanged: identical bytes already stored", ref)
        )
    return receipts


class StoreChannel(DeliversToUrl[Store], StoresFiles):
    """Base for channels whose transport is a byte store chosen by URL (archive, feeds), opened
    on first delivery (``DeliversToUrl``)."""

    def __init__(self, url: str, base_dir: Path | None = None):
        super().__init__(url, store_factory(url, base_dir))

    @property
    def store(self) -> Store:
        """The byte store, opened on first delivery."""
        return self.opened()

    def deliver(self, batch: Sequence[Delivery]) -> list[Receipt]:
        """Write each file unless identical bytes are stored."""
        return write_batch(self.store, batch)

    def missing(self, targets: Sequence[str]) -> list[str]:
        """Targets the store does not hold (lost or deleted since they were written)."""
        held = self.store.present(targets)
        return [t for t in targets if t not in held]

    def close(self) -> None:
        """Nothing to release: stores hold no open connections between calls."""


def _remove(store: Store, delivery: Delivery) -> Receipt:
    """Take a file down: ``sent`` when removed, ``skipped`` when it was already gone."""
    try:
        removed = store.remove(delivery.target)
    except StoreError as exc:
        return Receipt.transient(delivery.key, str(exc)) if exc.transient else Receipt.failed(delivery.key, str(exc))
    return Receipt.sent(delivery.key, "removed") if removed else Receipt.skipped(delivery.key, "already absent")
