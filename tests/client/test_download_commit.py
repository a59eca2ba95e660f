"""Batched commit of verified ``.part`` files (``transfer.commit_parts``), on real files."""

from __future__ import annotations

import fcntl
import hashlib
import threading
import time
from pathlib import Path

from campfire.download.transfer import commit_parts, part_path


def _part(folder: Path, name: str, data: bytes) -> tuple[Path, Path]:
    dest = folder / name
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    part = part_path(dest, digest)
    part.write_bytes(data)
    return part, dest


def test_parts_are_moved_into_place_with_their_bytes(tmp_path: Path) -> None:
    blobs = {f"f{i}_spec.fits": bytes([i]) * (1000 + i) for i in range(20)}
    items = [(*_part(tmp_path, n, b), len(b)) for n, b in blobs.items()]
    assert commit_parts(items) == []
    for name, data in blobs.items():
        assert (tmp_path / name).read_bytes() == data
    assert list(tmp_path.glob(".*.part")) == []  # nothing hidden left behind


def test_a_part_of_the_wrong_size_never_replaces_its_destination(tmp_path: Path) -> None:
    good_part, good_dest = _part(tmp_path, "good_spec.fits", b"g" * 500)
    bad_part, bad_dest = _part(tmp_path, "bad_spec.fits", b"b" * 400)
    bad_dest.write_bytes(b"previous version")  # what a reader sees now must stay
    failed = commit_parts([(good_part, good_dest, 500), (bad_part, bad_dest, 500)])
    assert [d for d, _ in failed] == [bad_dest]
    assert "another process" in failed[0][1]
    assert good_dest.read_bytes() == b"g" * 500
    assert bad_dest.read_bytes() == b"previous version"
    assert bad_part.read_bytes() == b"b" * 400  # kept, to be resumed or restarted


def test_a_vanished_part_is_reported_not_raised(tmp_path: Path) -> None:
    dest = tmp_path / "gone_spec.fits"
    failed = commit_parts([(part_path(dest, "sha256:" + "0" * 64), dest, 10)])
    assert [d for d, _ in failed] == [dest] and "vanished" in failed[0][1]
    assert not dest.exists()


def test_commit_waits_for_a_writer_holding_the_part(tmp_path: Path) -> None:
    part, dest = _part(tmp_path, "busy_spec.fits", b"")
    released = threading.Event()

    def writer() -> None:  # another process's fetch: lock, rewrite, unlock
        with open(part, "ab") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            locked.set()
            time.sleep(0.2)
            fh.write(b"x" * 300)
            fh.flush()
            released.set()

    locked = threading.Event()
    t = threading.Thread(target=writer)
    t.start()
    locked.wait()
    assert commit_parts([(part, dest, 300)]) == []
    assert released.is_set()  # commit took the lock only after the writer had finished
    t.join()
    assert dest.read_bytes() == b"x" * 300
