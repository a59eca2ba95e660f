"""Serve a copy of the tiny demo archive with its files in a fresh S3 bucket (moto_server).

Used by the S3 tests of ``tests/server`` and ``tests/client``: the archive's local ``store/`` is
copied into the bucket with :func:`~campfire.server.storage.storeurl.copy_store` and then
removed, so every byte the tests fetch comes from the object store.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from s3server import new_bucket

from campfire.server.storage.filestore import LocalFileStore
from campfire.server.storage.storeurl import copy_store, open_store
from campfire.server.testing import RunningServer, running_server


@contextmanager
def s3_served(archive_copy: Path, endpoint: str) -> Iterator[RunningServer]:
    """Serve ``archive_copy`` (a private copy) with its files moved into a new bucket."""
    url = f"s3://{new_bucket(endpoint)}/archive"
    copy_store(LocalFileStore(archive_copy / "store"), open_store(url, default=""))
    shutil.rmtree(archive_copy / "store")
    with running_server(archive_copy, store=url, faults=True) as srv:
        srv.store_url = url  # type: ignore[attr-defined]
        yield srv
