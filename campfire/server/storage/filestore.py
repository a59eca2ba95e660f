"""The archive's file store: FITS files and their JSON renderings, addressed by storage key.

:class:`FileStore` is the seam and promises no local path: :class:`LocalFileStore` keeps
``<archive>/store/<key>`` on disk, :class:`~campfire.server.storage.s3store.S3FileStore` keeps
``s3://bucket/prefix/<key>`` in an S3-compatible object store, and
:func:`~campfire.server.storage.storeurl.open_store` opens either from a URL. On disk, writes
are atomic (a temporary file, fsync, rename), so a reader never sees half a file. Keys are
relative POSIX paths; anything that would escape the store (``..``, absolute paths,
backslashes) is refused.

Given a content digest, a write is deduplicated: the bytes go once into ``.blobs/<digest>`` and
every key holding them is a hard link to that blob (many spectra can share one file, as in the
large demo). Keys are always replaced by a new link or file, never rewritten in place, so a
reader holding a file keeps the bytes it opened.

Examples
--------
>>> import tempfile
>>> store = LocalFileStore(tempfile.mkdtemp())
>>> store.put_bytes("spectra/a/b.json", b"{}")
>>> store.read_bytes("spectra/a/b.json")
b'{}'
>>> store.exists("spectra/../x")
Traceback (most recent call last):
...
ValueError: invalid storage key 'spectra/../x': use a relative path without '..'
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

__all__ = ["FileStore", "LocalFileStore", "check_key"]


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative storage key, else raise ``ValueError``."""
    parts = key.split("/")
    if (
        not key
        or key.startswith("/")
        or "\\" in key
        or "\x00" in key
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise ValueError(f"invalid storage key {key!r}: use a relative path without '..'")
    return key


class FileStore(Protocol):
    """What the server needs from a file store (local directory or S3-compatible bucket)."""

    @property
    def url(self) -> str:
        """The store's URL (``file:///dir`` or ``s3://bucket/prefix``)."""
        ...

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        ...

    def size(self, key: str) -> int:
        """The size in bytes of ``key`` (``FileNotFoundError`` if none)."""
        ...

    def put_file(self, key: str, src: Path, digest: str | None = None) -> None:
        """Store a copy of the file ``src`` under ``key``, atomically."""
        ...

    def put_bytes(self, key: str, data: bytes, digest: str | None = None) -> None:
        """Store ``data`` under ``key``, atomically."""
        ...

    def read_bytes(self, key: str) -> bytes:
        """The bytes stored under ``key`` (``FileNotFoundError`` if none)."""
        ...

    def get_file(self, key: str, dest: Path) -> None:
        """Copy ``key`` into the local file ``dest`` (``FileNotFoundError`` if none)."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        ...

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every stored key starting with ``prefix`` (deduplication blobs left out)."""
        ...

    def collect_garbage(self) -> int:
        """Remove deduplicated contents no key holds any more; return how many."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A local file of ``key`` to serve directly, or None for a remote store."""
        ...

    def presign_get(
        self,
        key: str,
        expires_in: int,
        *,
        filename: str | None = None,
        method: str = "GET",
        digest: str | None = None,
    ) -> str | None:
        """A URL that answers ``key``'s bytes for ``expires_in`` seconds without asking us, or
        None where the app serves the bytes itself (``FileNotFoundError`` if no such key).
        ``digest`` is the SHA-256 the catalog publishes for ``key``, if known.
        """
        ...

    def presign_ready(
        self, key: str, expires_in: int, *, filename: str | None = None, method: str = "GET",
        digest: str | None = None,
    ) -> str | None:  # fmt: skip
        """:meth:`presign_get`'s URL when it can be made without asking the store (no I/O, so
        an async route may call it inline), else None (then call :meth:`presign_get`).
        """
        ...

    def presign_put(self, key: str, size: int | None, expires_in: int) -> dict[str, Any] | None:
        """Where a client uploads ``key`` directly (``{"url"}``, or ``{"upload_id",
        "part_size", "part_urls"}`` for a multipart upload), or None where the app takes it.
        """
        ...

    def complete_upload(
        self, key: str, upload_id: str, parts: list[dict[str, Any]], max_bytes: int | None = None
    ) -> None:
        """Finish a multipart upload from ``presign_put`` (``parts``: ``{"part_number",
        "etag"}``); above ``max_bytes`` in all the upload is abandoned and
        :class:`UploadTooLargeError` raised.
        """
        ...


class LocalFileStore:
    """A :class:`FileStore` in a local directory.

    Parameters
    ----------
    root
        The store directory (created when missing).

    Attributes
    ----------
    durable
        Each file is flushed to disk (fsync) before it is renamed into place (default). A bulk
        writer that syncs once at the end (the demo build: ``os.sync()`` after its deploys)
        switches it off: an fsync per file is most of the time of writing thousands of small
        files, and a half-built demo archive is built again anyway.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.durable = True
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._root_str = str(self.root)
        self._blobs_dir = str(self.root / ".blobs")
        self._dirs: set[str] = set()  # folders known to exist
        self._known: set[str] = set()  # blobs known to exist
        self._slots: dict[str, int] = {}  # digest -> the numbered copy with links left
        self._seq = itertools.count()

    @property
    def url(self) -> str:
        """``file://`` and the store directory."""
        return self.root.resolve().as_uri()

    def path(self, key: str) -> Path:
        """The file path of ``key`` inside the store."""
        return self.root.joinpath(*check_key(key).split("/"))

    def local_path(self, key: str) -> Path:
        """The file path of ``key`` (the file route serves it with Range)."""
        return self.path(key)

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        """The size in bytes of ``key``."""
        return self.path(key).stat().st_size

    def get_file(self, key: str, dest: Path) -> None:
        """Copy ``key`` into ``dest``."""
        shutil.copyfile(self.path(key), dest)

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every stored key starting with ``prefix``, sorted (blobs and temporaries left out)."""
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root).as_posix()
            hidden = rel.startswith(".blobs/") or path.name.startswith(".tmp-")
            if rel.startswith(prefix) and not hidden and path.is_file():
                yield rel

    def presign_get(
        self,
        key: str,
        expires_in: int,
        *,
        filename: str | None = None,
        method: str = "GET",
        digest: str | None = None,
    ) -> None:
        """None: the app serves local files itself, re-checking access on every download."""
        return None

    def presign_ready(
        self, key: str, expires_in: int, *, filename: str | None = None, method: str = "GET",
        digest: str | None = None,
    ) -> None:  # fmt: skip
        """None: there are no presigned URLs of a local store."""
        return None

    def presign_put(self, key: str, size: int | None, expires_in: int) -> None:
        """None: uploads to a local store go through the app (``/deploy/upload``)."""
        return None

    def complete_upload(
        self, key: str, upload_id: str, parts: list[dict[str, Any]], max_bytes: int | None = None
    ) -> None:
        """Not used by a local store (it takes no multipart uploads)."""
        raise ValueError("a local file store takes no multipart uploads")

    def _atomic_write(self, dest: Path, write: Callable[[BinaryIO], None]) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
                fh.flush()
                if self.durable:
                    os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _blob(self, digest: str) -> str:
        name = digest.removeprefix("sha256:")
        if not name.replace(".", "").replace("-", "").isalnum():
            raise ValueError(f"invalid content digest {digest!r}")
        return os.path.join(self._blobs_dir, name[:2], name)

    def _link(self, blob: str, dest: str) -> bool:
        """Point ``dest`` at ``blob`` with a hard link; False where links are not possible.

        Raises ``OSError(EMLINK)`` when the blob has as many links as the file system allows.
        """
        folder = os.path.dirname(dest)
        if folder not in self._dirs:
            os.makedirs(folder, exist_ok=True)
            self._dirs.add(folder)
        tmp = os.path.join(folder, f".tmp-link-{os.getpid()}-{next(self._seq)}")
        try:
            try:
                os.link(blob, tmp)
            except FileExistsError:  # left over by a crashed run
                os.unlink(tmp)
                os.link(blob, tmp)
            os.replace(tmp, dest)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if exc.errno == errno.EMLINK:
                raise
            return False
        return True

    def _put_deduplicated(self, key: str, digest: str, write: Callable[[BinaryIO], None]) -> bool:
        """Link ``key`` to the blob of ``digest`` (written if new); False if links fail.

        A file system caps links per inode (65,000 on ext4), so a popular blob rolls over to
        numbered copies (``<digest>.1`` …), each linked up to the cap.
        """
        base = self._blob(digest)
        dest = os.path.join(self._root_str, *check_key(key).split("/"))
        n = self._slots.get(digest, 0)
        while n < 1000:
            blob = base if n == 0 else f"{base}.{n}"
            if blob not in self._known:
                if not os.path.isfile(blob):
                    self._atomic_write(Path(blob), write)
                self._known.add(blob)
            try:
                return self._link(blob, dest)
            except OSError:  # EMLINK: this copy is full, use the next one
                n += 1
                self._slots[digest] = n
        return False

    def put_file(self, key: str, src: Path, digest: str | None = None) -> None:
        """Copy ``src`` into the store under ``key``, atomically (deduplicated by ``digest``)."""

        def write(fh: BinaryIO) -> None:
            with open(src, "rb") as fin:
                shutil.copyfileobj(fin, fh, 1 << 20)

        if digest is None or not self._put_deduplicated(key, digest, write):
            self._atomic_write(self.path(key), write)

    def put_bytes(self, key: str, data: bytes, digest: str | None = None) -> None:
        """Store ``data`` under ``key``, atomically (deduplicated by ``digest``)."""

        def write(fh: BinaryIO) -> None:
            fh.write(data)

        if digest is None or not self._put_deduplicated(key, digest, write):
            self._atomic_write(self.path(key), write)

    def collect_garbage(self) -> int:
        """Remove blobs no key links to any more; return how many."""
        removed = 0
        for blob in (self.root / ".blobs").glob("*/*"):  # <digest> and its numbered copies
            if blob.is_file() and blob.stat().st_nlink == 1:
                blob.unlink()
                self._known.discard(str(blob))
                removed += 1
        self._slots.clear()
        return removed

    def read_bytes(self, key: str) -> bytes:
        """The bytes stored under ``key``."""
        return self.path(key).read_bytes()

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        self.path(key).unlink(missing_ok=True)
