"""Open an archive's file store from its URL, and copy one store into another.

``file:///dir`` is a :class:`~campfire.server.storage.filestore.LocalFileStore` (the default:
the archive directory's ``store/``); ``s3://bucket/prefix`` an
:class:`~campfire.server.storage.s3store.S3FileStore`, with its endpoint, region and credentials
from the standard AWS environment. ``campfire serve``, ``deploy`` and ``admin`` take the URL as
``--store`` (or ``CAMPFIRE_STORE_URL``).

Examples
--------
>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> open_store(None, default=folder + "/store").url.endswith("/store")
True
>>> open_store("ftp://host/x", default=folder)
Traceback (most recent call last):
...
campfire.errors.ValidationError: store URL 'ftp://host/x' not understood: use file:///dir or s3://bucket/prefix
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from campfire.errors import ValidationError
from campfire.server.storage.filestore import FileStore, LocalFileStore

__all__ = ["copy_store", "open_store"]


def open_store(url: str | None, *, default: str | os.PathLike[str]) -> FileStore:
    """The file store at ``url`` (``file:///dir``, ``s3://bucket/prefix``; None: ``default``).

    Parameters
    ----------
    url
        The store URL, or None for the local directory ``default``.
    default
        The local store directory used when ``url`` is None.

    Raises
    ------
    ValidationError
        If the URL is not one of those forms, or its bucket cannot be reached.

    Examples
    --------
    >>> open_store("s3://campfire/prod", default="archive/store")  # doctest: +SKIP
    S3FileStore('s3://campfire/prod')
    """
    if not url:
        return LocalFileStore(default)
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.path and parts.netloc in ("", "localhost"):
        return LocalFileStore(unquote(parts.path))
    if parts.scheme == "s3" and parts.netloc:
        from campfire.server.storage.s3store import S3FileStore

        try:
            return S3FileStore(parts.netloc, unquote(parts.path).strip("/"))
        except ValueError as exc:
            if isinstance(exc, ValidationError):
                raise
            raise ValidationError(f"store URL {url!r}: {exc}") from None
    raise ValidationError(
        f"store URL {url!r} not understood: use file:///dir or s3://bucket/prefix"
    )


def copy_store(src: FileStore, dst: FileStore, prefix: str = "") -> int:
    """Copy every key of ``src`` (under ``prefix``) into ``dst``, deduplicated by SHA-256;
    return how many keys were copied (e.g. to move a local archive's files to S3).

    Examples
    --------
    >>> copy_store(open_store(None, default="archive/store"),
    ...            open_store("s3://campfire/prod", default=""))  # doctest: +SKIP
    4050
    """
    count = 0
    for key in src.keys(prefix):
        path = src.local_path(key)
        if path is not None:
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            dst.put_file(key, Path(path), "sha256:" + h.hexdigest())
        else:
            data = src.read_bytes(key)
            dst.put_bytes(key, data, "sha256:" + hashlib.sha256(data).hexdigest())
        count += 1
    return count
