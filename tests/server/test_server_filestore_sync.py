"""A local store flushes each file it writes (fsync) unless a bulk writer that syncs once at the
end (the demo build) switches that off; it is switched back on however the bulk write ends.
"""

from __future__ import annotations

import os

import pytest

from campfire.server.demo.archive import _synced_once
from campfire.server.storage import filestore
from campfire.server.storage.filestore import LocalFileStore


def test_each_file_is_flushed_unless_a_bulk_writer_syncs_once(tmp_path, monkeypatch):
    flushed = []
    real = os.fsync
    monkeypatch.setattr(filestore.os, "fsync", lambda fd: (flushed.append(fd), real(fd))[1])
    store = LocalFileStore(tmp_path / "store")
    store.put_bytes("p/a.fits", b"a" * 100)
    assert len(flushed) == 1
    with _synced_once(store):
        assert not store.durable
        store.put_bytes("p/b.fits", b"b" * 100)
        store.put_bytes("p/c.fits", b"c" * 100)
    assert len(flushed) == 1  # the bulk write synced once, with os.sync
    assert store.durable
    assert store.path("p/c.fits").read_bytes() == b"c" * 100
    with pytest.raises(RuntimeError), _synced_once(store):
        raise RuntimeError("a failed deploy")
    assert store.durable
    store.put_bytes("p/d.fits", b"d" * 100)
    assert len(flushed) == 2
