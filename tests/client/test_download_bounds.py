"""A hostile or failing file server (issue #13, findings 12 and 13), against the real server with
faults injected server-side: reads stop at the listed size, a full disk is a clean reported
failure, a slow drip is cut off, and verified files go into place while a slow one still runs.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import uuid

import pytest
from test_download_engine import OBS, fast_api, fetch, local_files, server_files

from campfire.catalog.store import Store
from campfire.download.plan import plan_downloads
from campfire.sync.engine import sync_catalog


@pytest.fixture
def synced(server, helpers, tmp_path):
    store = Store(tmp_path / "meta" / "campfire.db")
    sync_catalog(fast_api(server, helpers), store)
    yield store
    store.close()


def _part_sizes(folder):
    return {p.name: p.stat().st_size for p in folder.glob(".*.part")} if folder.is_dir() else {}


@pytest.mark.local_files  # byte faults at the app: on S3 the bytes come from the bucket
def test_reads_stop_at_the_listed_size_when_the_server_sends_more(server, helpers, synced):
    want = server_files(server, OBS)
    name = sorted(want)[0]
    size = want[name][1]
    pad = 20 * 1024 * 1024  # 20 MB more than the file, five times over
    server.set_faults(
        [{"path": f"/files/spectra/{OBS}/{name}", "kind": "pad", "pad_bytes": pad, "times": 5}]
    )
    seen: list[int] = []
    folder = synced.products_dir / OBS

    def progress(kind, obs, amount, total):  # the largest .part while bytes arrive
        if kind == "bytes":
            seen.append(max(_part_sizes(folder).values(), default=0))

    result = fetch(fast_api(server, helpers), synced, plan_downloads(synced, observations=[OBS]),
                   progress=progress)  # fmt: skip
    assert result.ok and local_files(synced, OBS) == want
    assert max(seen) <= max(s for _, s in want.values())  # never a byte past a file's size
    assert (folder / name).stat().st_size == size
    assert server.faults()[0]["hits"] == 1  # the listed bytes verified: nothing to retry


@contextlib.contextmanager
def small_disk(path, size="8m"):
    """A tmpfs of ``size`` mounted at ``path`` (root only; skips the test where mounting is not
    allowed)."""
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True, text=True)  # fmt: skip
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_disk_that_fills_up_is_a_clean_reported_failure(server, helpers, synced, monkeypatch):
    import campfire.download.run as run

    monkeypatch.setattr(run, "_DISK_MARGIN", 0)  # an 8 MB disk passes the up-front check
    with small_disk(synced.products_dir) as disk:
        filler = disk / f"filler-{uuid.uuid4().hex}"
        filled = threading.Event()

        def progress(kind, obs, amount, total):
            # another program fills the disk as soon as the first bytes arrive
            if kind == "bytes" and not filled.is_set():
                filled.set()
                with contextlib.suppress(OSError), open(filler, "wb") as fh:
                    while True:
                        fh.write(b"\0" * (1 << 20))
                        fh.flush()

        plan = plan_downloads(synced, observations=[OBS])
        result = fetch(fast_api(server, helpers), synced, plan, progress=progress)
        assert filled.is_set() and result.failed >= 1
        assert all("The disk is full" in f.reason or "verification" not in f.reason
                   for f in result.failures)  # fmt: skip
        assert any("The disk is full" in f.reason for f in result.failures)
        assert all(size == 0 for size in _part_sizes(disk / OBS).values())  # space given back
        status = synced.conn.execute("SELECT status, completed_at FROM sync_log").fetchall()
        assert [s for s, _ in status] == ["failed"] and all(c for _, c in status)
        # with space again, the next run completes the observation
        filler.unlink()
        os.sync()
        again = fetch(fast_api(server, helpers), synced, plan_downloads(synced, observations=[OBS]))
        assert again.ok and local_files(synced, OBS) == server_files(server, OBS)


@pytest.mark.local_files  # byte faults at the app: on S3 the bytes come from the bucket
def test_a_slow_drip_is_cut_off_and_verified_files_are_in_place_meanwhile(server, helpers, synced):
    want = server_files(server, OBS)
    slow = sorted(want)[0]
    server.set_faults(
        [  # 200 bytes every 0.05 s after the first 10 kB: 4 kB/s, but never a stalled read
            {"path": f"/files/spectra/{OBS}/{slow}", "kind": "drip", "after_bytes": 10_000,
             "drip_bytes": 200, "stall_seconds": 0.05, "times": -1},
        ]
    )  # fmt: skip
    folder = synced.products_dir / OBS
    others = [n for n in want if n != slow]
    in_place_while_slow = threading.Event()
    stop = threading.Event()

    def watch():  # the other files, at their real names, while the slow one is still a .part
        while not stop.is_set():
            parts = _part_sizes(folder)
            if any(slow in p for p in parts) and all((folder / n).exists() for n in others):
                in_place_while_slow.set()
                return
            stop.wait(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    plan = plan_downloads(synced, observations=[OBS])
    try:  # 4 attempts of 0.5 s + size / 200 kB/s each, then the file is reported
        result = fetch(fast_api(server, helpers), synced, plan, stall_timeout=0.5)
    finally:
        stop.set()
        watcher.join()
    assert [f.local_path for f in result.failures] == [f"{OBS}/{slow}"]
    assert "too slow" in result.failures[0].reason
    assert result.downloaded == len(others)
    assert in_place_while_slow.is_set()
    rows = synced.conn.execute(
        "SELECT count(*) FROM spectra WHERE observation = ? AND local_path IS NOT NULL", (OBS,)
    ).fetchone()[0]
    assert rows == len(others)


@pytest.mark.local_files  # byte faults at the app: on S3 the bytes come from the bucket
def test_hashing_in_its_own_thread_gives_the_server_files_hashes(
    server, helpers, synced, monkeypatch
):
    # every file takes the large-file path (a hashing thread over rotating buffers) with
    # blocks smaller than a file, so each file passes through several buffers
    monkeypatch.setattr("campfire.download.transfer._PIPELINE_FROM", 0)
    monkeypatch.setattr("campfire.download.transfer._CHUNK", 16 * 1024)
    monkeypatch.setattr("campfire.download.transfer._BLOCK", 16 * 1024)
    want = server_files(server, OBS)
    name = sorted(want)[2]
    server.set_faults([{"path": f"/files/spectra/{OBS}/{name}", "kind": "drop",
                        "after_bytes": 70_000}])  # fmt: skip
    result = fetch(fast_api(server, helpers), synced, plan_downloads(synced, observations=[OBS]))
    assert result.ok and local_files(synced, OBS) == want  # sha256 of the bytes on disk
    recorded = synced.conn.execute(
        "SELECT local_path, local_file_hash FROM spectra WHERE observation = ?", (OBS,)
    ).fetchall()
    assert {k.split("/")[-1]: v for k, v in recorded} == {n: h for n, (h, _) in want.items()}
