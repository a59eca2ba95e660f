"""FITS downloads: planned from the local catalog, then fetched on a bounded worker pool.

The work is split in three modules along its stages. :mod:`campfire.download.plan` decides what
to fetch from the catalog alone (:func:`plan_downloads`, in that module). This module runs a
plan: :func:`download` fetches each observation's manifest only when it has work to do, checks
the disk space, streams files on a bounded thread pool and records finished files in the store
in batches; :func:`fetch_one` fetches a single spectrum. :mod:`campfire.download.transfer` moves
the bytes
of one file (``.part`` file, ``Range`` resume, SHA-256 verification, fsync, atomic rename) over
keep-alive connections. Paths the server sends are reduced to safe basenames here, so nothing is
ever written outside the data directory.

Examples
--------
>>> safe_basename("spectra/ember_uds_p4/ember_uds_p4_prism_clear_123_spec.fits")
'ember_uds_p4_prism_clear_123_spec.fits'
>>> safe_basename("../../etc/passwd")
Traceback (most recent call last):
...
campfire.errors.DownloadError: unsafe file path from the archive: '../../etc/passwd'
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from campfire.archive.api import ApiClient
from campfire.archive.backoff import RetryPolicy
from campfire.catalog.store import Store
from campfire.download.plan import FileTask, ObservationPlan, Plan
from campfire.download.result import DownloadResult, Failure, format_size
from campfire.download.transfer import (
    Fetcher,
    Progress,
    cleanup_parts,
    commit_parts,
    fsync_dir,
    part_path,
)
from campfire.errors import CampfireError, DownloadError, NotFoundError, ValidationError

__all__ = ["DownloadResult", "Failure", "download", "fetch_one", "format_size", "safe_basename"]

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+\-]*$")
_DISK_MARGIN = 64 * 1024 * 1024
_FLUSH_EVERY = 0.5  # seconds a verified file may wait to be moved into place


def safe_basename(path: str, what: str = "file path") -> str:
    """The file name of an archive path, refusing anything that could escape a folder."""
    parts = path.split("/") if path else []
    name = parts[-1] if parts else ""
    if (
        path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or any(p in ("..", ".") for p in parts)
        or not _SAFE.match(name)
    ):
        raise DownloadError(f"unsafe {what} from the archive: {path!r}")
    return name


def _part_bytes(products: Path, tasks: list[FileTask]) -> int:
    total = 0
    for t in tasks:
        with contextlib.suppress(OSError):
            total += part_path(products / t.local_path, t.file_hash).stat().st_size
    return total


def _destination(products: Path, observation: str, fits_path: str) -> tuple[Path, str]:
    # two plain names (no separator, never "." or ".."): products/obs/name cannot leave
    # products, so no path arithmetic is needed per file
    obs = safe_basename(observation, "observation name")
    name = safe_basename(fits_path)
    return products / obs / name, f"{obs}/{name}"


def download(
    api: ApiClient,
    store: Store,
    plan: Plan,
    *,
    workers: int = 4,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
    stall_timeout: float = 60.0,
    lock_wait: float = 5.0,
    min_rate: float | None = None,
) -> DownloadResult:
    """Fetch the files of ``plan``; failures are collected, never half-written into place.

    Parameters
    ----------
    workers
        Parallel downloads (threads), at least 1.
    progress
        Called as ``progress(kind, observation, amount, total)`` with kind ``"observation"``
        (amount = files, total = bytes), ``"bytes"`` (amount = new bytes; may be negative when
        a broken file is restarted; called from worker threads), ``"file"`` (amount = files
        done, total = files) and ``"finished"`` (amount = downloaded, total = failed).
    retry
        Backoff for failed files (default: the client's, ``api.retry``: 4 retries, 0.5 s
        doubling, with jitter).
    stall_timeout
        Seconds without a byte before a transfer is abandoned and retried.
    min_rate
        The slowest transfer accepted, in bytes/s (default
        :data:`~campfire.download.transfer.MIN_RATE`, 16 kB/s): an attempt that has not
        finished after ``stall_timeout`` plus its bytes' time at this rate is cut off and
        retried (resuming where it stopped), so a slow drip cannot hold the run forever.

    Raises
    ------
    DownloadError
        Not enough free disk space for the plan.
    """
    if workers < 1:
        raise ValidationError(f"workers must be at least 1, not {workers}")
    result = DownloadResult()
    todo = [o for o in plan.observations if o.files]
    if not todo:
        return result
    products = store.products_dir
    products.mkdir(parents=True, exist_ok=True)
    need = plan.total_bytes - _part_bytes(products, plan.files)
    free = shutil.disk_usage(products).free
    if need + _DISK_MARGIN > free:
        raise DownloadError(
            f"Not enough disk space in {products}: the download needs {need / 1e6:.1f} MB plus "
            f"a {_DISK_MARGIN / 1e6:.1f} MB safety margin ({(need + _DISK_MARGIN) / 1e6:.1f} MB), "
            f"but only {free / 1e6:.1f} MB is free. Free some space or download fewer "
            "observations."
        )
    fetcher = Fetcher(api, retry, stall_timeout, progress, min_rate)
    manifests = _Manifests(api, [op.observation for op in todo])  # the first one asked now
    try:
        with (
            store.lock(wait=lock_wait, what="campfire download"),
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="campfire-download") as pool,
            ThreadPoolExecutor(max_workers=8, thread_name_prefix="campfire-fsync") as fsyncs,
        ):
            for op in todo:
                _download_observation(
                    store, op, (pool, fsyncs), fetcher, manifests.take(op.observation), result,
                    progress,
                )  # fmt: skip
    finally:
        manifests.close()
    return result


class _Manifests:
    """The observations' manifests, each asked for one step ahead: the first while the run
    takes the lock and starts its threads, each next one while the one before downloads (its
    signed URLs are valid for hours), so a manifest's round trip is not spent waiting.
    """

    def __init__(self, api: ApiClient, observations: list[str]) -> None:
        self.api, self._todo = api, list(observations)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="campfire-manifest")
        self._asked: dict[str, Future[dict[str, Any]]] = {}
        self._ask_next()

    def _ask_next(self) -> None:
        if self._todo:
            obs = self._todo.pop(0)
            self._asked[obs] = self._pool.submit(self.api.fetch_manifest, obs)

    def take(self, observation: str) -> Future[dict[str, Any]]:
        """The manifest of ``observation`` (asked for now if it was not), and ask the next."""
        fut = self._asked.pop(observation, None)
        if fut is None:
            fut = self._pool.submit(self.api.fetch_manifest, observation)
        self._ask_next()
        return fut

    def close(self) -> None:
        """Forget the manifests not taken (an interrupted run)."""
        for fut in self._asked.values():
            fut.cancel()
        self._pool.shutdown(wait=False)


def _download_observation(
    store: Store,
    op: ObservationPlan,
    pools: tuple[ThreadPoolExecutor, ThreadPoolExecutor],
    fetcher: Fetcher,
    asked: Future[dict[str, Any]],
    result: DownloadResult,
    progress: Progress | None,
) -> None:
    products = store.products_dir
    pool, fsyncs = pools  # the transfers', and the commits' (their threads live for the run)
    log_id = store.begin_download_log(op.observation)
    if progress:
        progress("observation", op.observation, len(op.files), op.bytes)
    fails_before, nbytes, ok = result.failed, 0, 0

    def fail(task: FileTask, reason: str) -> None:
        result.failures.append(Failure(task.spectrum_id, task.observation, task.local_path, reason))

    try:
        manifest = asked.result()  # the manifest (asked for ahead, see _Manifests)
        entries = {e.get("spectrum_id"): e for e in manifest.get("spectra") or []}
    except NotFoundError as exc:
        entries, manifest_error = {}, str(exc)
    else:
        manifest_error = "not in the archive's manifest any more (run: campfire sync)"
    futures = {}
    batches = _Batches()
    for task in sorted(op.files, key=lambda t: -(t.file_size or 0)):  # largest first
        entry = entries.get(task.spectrum_id)
        try:
            if entry is None or not entry.get("download_url"):
                raise DownloadError(manifest_error)
            dest, rel = _destination(products, op.observation, entry.get("fits_path") or "")
        except DownloadError as exc:
            fail(task, str(exc))
            continue
        expected = entry.get("file_hash") or task.file_hash
        size = entry.get("file_size") if entry.get("file_size") is not None else task.file_size
        fut = pool.submit(
            fetcher.fetch_part, task.observation, task.fits_path, entry["download_url"], dest,
            expected, size,
        )  # fmt: skip
        futures[fut] = (task, dest, rel, expected)
        fut.add_done_callback(batches.add)
    batches.expect(len(futures))
    keep: set[Path] = set()
    pending: list[tuple[Any, ...]] = []

    def flush() -> None:
        # verified parts: one durability barrier, renamed into place, one directory fsync,
        # then recorded in one transaction
        nonlocal ok, nbytes
        parts = [(p[6], p[4], p[3]) for p in pending if p[6] is not None]
        broken = dict(commit_parts(parts, fsyncs))
        fsync_dir(products / op.observation)
        try:
            with store.transaction():
                for task, rel, digest, size, dest, expected, part in pending:
                    if dest in broken:
                        fail(task, broken[dest])
                        keep.add(part)
                        continue
                    mtime = dest.stat().st_mtime
                    store.record_download(
                        task.spectrum_id, rel, digest, size, mtime, server_hash=expected
                    )
                    result.downloaded += 1
                    result.bytes += size
                    result.files.append(rel)
                    ok, nbytes = ok + 1, nbytes + size
                store.bump("files_version")
        except sqlite3.OperationalError as exc:  # e.g. "database or disk is full"
            raise DownloadError(
                f"Could not record downloaded files in the local catalog ({exc}); the files "
                "are in place and the next download adopts them. Free some disk space and run "
                "the download again."
            ) from None
        pending.clear()

    done, waiting = 0, set(futures)
    try:
        while waiting:
            for fut in batches.take():
                waiting.discard(fut)
                done += 1
                _collect(fut, futures[fut], pending, keep, fail)
                if progress:
                    progress("file", op.observation, done, len(op.files))
            if pending:
                flush()
        cleanup_parts(products / op.observation, keep)
    finally:
        for fut in waiting:
            fut.cancel()
        failed = result.failed - fails_before
        with contextlib.suppress(sqlite3.Error):  # the run's own error says what went wrong
            store.end_download_log(
                log_id,
                downloaded=ok,
                skipped=op.local,
                nbytes=nbytes,
                failed=failed + len(waiting) + len(pending),  # interrupted: not completed
            )
    if progress:
        progress("finished", op.observation, ok, failed)


class _Batches:
    """Finished transfers, handed to the committing thread in batches.

    Verified files go into place half a second after the first of a batch finished at the
    latest (never held back until a slow transfer ends: a re-run would fetch them again), or
    sooner when 64 are waiting or the last one is in. The committing thread is woken when a
    batch starts and when it is due, not once per file: each wake-up is a hand-over of the
    GIL that the transfers feel (``concurrent.futures.wait`` also walks every pending future
    on each call).
    """

    def __init__(self, size: int = 64, within: float = _FLUSH_EVERY) -> None:
        self.size, self.within = size, within
        self._cond = threading.Condition()
        self._done: list[Future[Any]] = []
        self._left = 0  # transfers not taken yet

    def expect(self, n: int) -> None:
        """``n`` transfers were submitted."""
        with self._cond:
            self._left = n
            self._cond.notify()

    def add(self, fut: Future[Any]) -> None:
        """A transfer finished (its done-callback, in the worker's thread)."""
        with self._cond:
            self._done.append(fut)
            n = len(self._done)
            if n == 1 or n >= self.size or n >= self._left:
                self._cond.notify()

    def take(self) -> list[Future[Any]]:
        """The next batch, once it is due."""
        with self._cond:
            while not self._done:
                self._cond.wait(1.0)
            due = time.monotonic() + self.within
            while len(self._done) < min(self.size, self._left):
                wait = due - time.monotonic()
                if wait <= 0:
                    break
                self._cond.wait(wait)
            batch, self._done = self._done, []
            self._left -= len(batch)
            return batch


def _collect(
    fut: Future[tuple[str, int, Path | None]],
    info: tuple[FileTask, Path, str, str | None],
    pending: list[tuple[Any, ...]],
    keep: set[Path],
    fail: Any,
) -> None:
    """One finished transfer: queued for the next commit, or recorded as a failure."""
    task, dest, rel, expected = info
    try:
        digest, size, part = fut.result()
    except Exception as exc:  # one file's failure must not lose the others' records
        reason = exc.message if isinstance(exc, CampfireError) else ""
        fail(task, reason or f"{type(exc).__name__}: {exc}")
        keep.add(part_path(dest, expected))
    else:
        pending.append((task, rel, digest, size, dest, expected, part))


def fetch_one(
    api: ApiClient, store: Store, spectrum_row: dict[str, Any], *, retry: RetryPolicy | None = None
) -> Path:
    """Download one spectrum's FITS file (``open_spectrum``'s path), verified; return its path.

    ``spectrum_row`` needs ``spectrum_id``, ``fits_path`` and ``observation``; its
    ``file_hash`` (the catalog's) is what the bytes must hash to. A file already downloaded
    and unchanged is returned without a request.
    """
    row = dict(spectrum_row)
    dest, rel = _destination(store.products_dir, row.get("observation") or "", row["fits_path"])
    expected = row.get("file_hash")
    if row.get("local_path") and row.get("local_file_hash") == expected and dest.exists():
        return dest
    task = FileTask(
        row["spectrum_id"],
        row.get("observation") or "",
        row.get("grating") or "",
        row["fits_path"],
        expected,
        row.get("file_size"),
        "new",
        rel,
    )
    url = api.get_signed_url(row["fits_path"])
    fetcher = Fetcher(api, retry, 60.0, None)
    digest, size = fetcher.fetch(
        task.observation, task.fits_path, url, dest, expected, row.get("file_size")
    )
    fsync_dir(dest.parent)
    with store.transaction():
        store.record_download(row["spectrum_id"], rel, digest, size, dest.stat().st_mtime)
        store.bump("files_version")
    return dest
