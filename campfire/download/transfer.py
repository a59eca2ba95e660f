"""One file's transfer: streamed with resume, verified, fsynced and renamed into place.

This is the bottom half of :mod:`campfire.download.run` (which plans the work and runs the worker
pool): :class:`Fetcher` moves the bytes of one file. Each file is written to a hidden ``.part``
file (named after the hash it must reach, see :func:`part_path`) while its SHA-256 is computed,
resumed with HTTP ``Range`` after an interruption (then verified whole), checked against the
archive's ``sha256:<hex>``, fsynced and only then renamed over its destination — one file at a time
by :meth:`Fetcher.fetch`, or a batch of verified parts at once by :func:`commit_parts` (their
fsyncs run concurrently, and every rename waits for its own fsync): a file that failed
verification never sits where a reader would open it. The bytes travel through the archive
client's :class:`~campfire.archive.transport.Transport` (its lean keep-alive streams per worker
thread, with its CA bundle, the proxies the environment names, and its offline switch), and
failures are retried by its one :class:`~campfire.archive.backoff.RetryPolicy` loop. The SHA-256
is computed as the blocks are written (:mod:`campfire.download.hashing`: in a thread of its own
for large files), and each transfer has a total deadline (:mod:`campfire.download.deadlines`).

Examples
--------
>>> part_path(Path("products/obs/a_spec.fits"), "sha256:0123456789abcdef0123").name
'.a_spec.fits.0123456789abcdef.part'
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import http.client
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from campfire.archive.api import ApiClient
from campfire.archive.backoff import Retryable, RetryPolicy, parse_retry_after
from campfire.download.deadlines import WATCHDOG, Cutoff
from campfire.download.hashing import Hashing, sha256_file
from campfire.errors import CampfireError, DownloadError

__all__ = [
    "MIN_RATE",
    "Fetcher",
    "Progress",
    "cleanup_parts",
    "commit_parts",
    "fsync_dir",
    "part_path",
    "sha256_file",
]

Progress = Callable[[str, str, int, int], None]
#: the slowest transfer a file may make, bytes/s: each attempt has ``stall_timeout`` plus the
#: bytes still to come at this rate, then it is cut off and retried (a slow drip never ends
#: otherwise: the stall timeout is per read, and a byte a second always arrives in time)
MIN_RATE = 16_000.0
_CHUNK = 1024 * 1024
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_PIPELINE_FROM = 16 * _CHUNK  # files this large are hashed in a thread beside the transfer
_BLOCK = 4 * _CHUNK  # the blocks such a file is received, written and hashed in
_WRITEBACK = 32 * _CHUNK  # bytes written between two kicks of the disk's writeback
_RENEW = frozenset({401, 403, 404, 410})  # a signed URL that expired: ask for a fresh one
_AGAIN = frozenset({408, 429, 500, 502, 503, 504})
_NETWORK = (http.client.HTTPException, OSError)


class Fetcher:
    """Streams one file at a time into place; one instance shared by the worker threads."""

    def __init__(
        self,
        api: ApiClient,
        retry: RetryPolicy | None,
        stall_timeout: float,
        progress: Progress | None,
        min_rate: float | None = None,
    ) -> None:
        self.api, self.progress = api, progress
        self.retry = retry or api.retry
        self.transport = api.transport
        self.stall_timeout = stall_timeout
        self.min_rate = MIN_RATE if min_rate is None else min_rate
        self._local = threading.local()
        self._folders: set[Path] = set()

    def _report(self, obs: str, n: int) -> None:
        if self.progress and n:
            self.progress("bytes", obs, n, 0)

    def fetch(
        self,
        observation: str,
        fits_path: str,
        url: str,
        dest: Path,
        expected: str | None,
        size: int | None,
    ) -> tuple[str, int]:
        """Download ``url`` to ``dest``, verified against ``expected``; return (hash, size).

        ``observation`` labels the progress reports; ``fits_path`` is the archive path asked
        for a fresh signed URL when the one given has expired.

        A file already at ``dest`` with the expected size and hash (a pipeline's own product,
        or a download whose record was lost) is adopted without a request.
        """
        digest, got, _ = self.fetch_part(
            observation, fits_path, url, dest, expected, size, commit=True
        )
        return digest, got

    def fetch_part(
        self,
        observation: str,
        fits_path: str,
        url: str,
        dest: Path,
        expected: str | None,
        size: int | None,
        *,
        commit: bool = False,
    ) -> tuple[str, int, Path | None]:
        """Like :meth:`fetch`, but by default leave the verified bytes in :func:`part_path`
        (neither fsynced nor renamed) and return (hash, size, part); part is None when the
        file was already in place. The caller makes a batch of parts durable at once and
        moves them into place with :func:`commit_parts`, which is much cheaper than one
        fsync per file.
        """
        if _already_there(dest, expected, size):
            self._report(observation, size or 0)
            return str(expected), int(size or 0), None
        self.transport.require_online(f"download {dest.name}", hint="")
        if dest.parent not in self._folders:  # one mkdir per folder, not per file
            dest.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(dest.parent)
        part = part_path(dest, expected)
        if not url.startswith(("https://", "http://")):
            url = urljoin(self.api.base_url + "/", url)
        renewed = False
        # unbuffered: the blocks are large, and a buffered file costs an isatty ioctl and a few
        # lseeks per file (with many small files, each syscall is a hand-over of the GIL)
        with open(part, "a+b", buffering=0) as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # one writer per .part, in any process

            def attempt(n: int) -> tuple[str, int, Path | None]:
                nonlocal url, renewed

                def again(why: str, wait: float | None = None) -> Retryable:
                    return Retryable(DownloadError(f"{why} (after {n + 1} attempts)"), wait)

                while True:
                    try:
                        digest, got = self._stream(observation, url, fh, part, size)
                    except _HTTPStatus as exc:
                        if exc.code in _RENEW and not renewed:
                            url, renewed = self.api.get_signed_url(fits_path), True
                            continue  # the same attempt, with a fresh signed URL
                        if exc.code not in _AGAIN:
                            raise DownloadError(f"HTTP {exc.code} from the file server") from None
                        raise again(f"HTTP {exc.code}", exc.retry_after) from None
                    except CampfireError:
                        raise
                    except _TooSlow as exc:
                        raise again(str(exc)) from None
                    except _NETWORK as exc:
                        raise again(f"{type(exc).__name__}: {exc}") from None
                    break
                if size is not None and got < size:
                    raise again(f"transfer ended early ({got} of {size} bytes)")  # resume it
                if (expected and digest != expected) or (size is not None and got != size):
                    self._report(observation, -got)
                    fh.truncate(0)  # the bytes are wrong: start over
                    raise again(f"verification failed: SHA-256 {digest}, expected {expected}")
                if not commit:
                    return digest, got, part
                os.fsync(fh.fileno())
                os.replace(part, dest)
                return digest, got, None

            return self.retry.run(attempt)

    def _watchdog(self, url: str, left: int | None) -> Cutoff | None:
        """Cut this thread's connection to ``url`` off once the transfer of ``left`` more bytes
        has had ``stall_timeout`` plus their time at :attr:`min_rate` (None: no limit known).
        """
        sock = self.transport.stream_socket(url)
        if left is None or sock is None or self.min_rate <= 0:
            return None
        return WATCHDOG.arm(sock, self.stall_timeout + left / self.min_rate)

    def _buffer(self) -> memoryview:
        buf: memoryview | None = getattr(self._local, "buf", None)
        if buf is None:
            buf = self._local.buf = memoryview(bytearray(_CHUNK))
        return buf

    def _stream(
        self, observation: str, url: str, fh: Any, part: Path, size: int | None
    ) -> tuple[str, int]:
        have = on_disk = os.fstat(fh.fileno()).st_size
        if size is not None and have >= size:
            have = 0  # nothing left to resume (or garbage): start over
        resp = self.transport.open_stream(
            url, {"Range": f"bytes={have}-"} if have else {}, self.stall_timeout
        )
        # the host that answers (after a redirect, the object store's): its connection is the
        # one the watchdog cuts off and an error discards
        url = getattr(resp, "url", None) or url
        if resp.status not in (200, 206):
            self.transport.discard_stream(url)
            if resp.status == 416:
                fh.truncate(0)  # our offset is wrong: start over
                raise _HTTPStatus(503, None)
            raise _HTTPStatus(resp.status, parse_retry_after(resp.getheader("Retry-After")))
        resumed = resp.status == 206 and have > 0 and _range_start(resp) == have
        if resumed:
            h = sha256_file(part, have)
        else:
            self._report(observation, -have)
            if on_disk:  # never truncate an empty file: on ext4 (auto_da_alloc) that makes
                fh.truncate(0)  # close() start a synchronous writeback of every new file
            have, h = 0, hashlib.sha256()
        left = None if size is None else size - have  # never read past the listed size
        threaded = (left or 0) >= _PIPELINE_FROM  # large: 4 MiB blocks, fewer hand-overs
        hashing = Hashing(h, self._buffer(), threaded=threaded, block=_BLOCK if threaded else 0)
        cutoff = self._watchdog(url, left)
        flushed = have
        try:
            while left is None or left > 0:
                buf = hashing.buffer()
                n = resp.readinto(buf if left is None or left >= len(buf) else buf[:left])
                if not n:
                    break
                try:
                    _write_all(fh, buf[:n])
                except OSError as exc:
                    if exc.errno in _DISK_FULL:
                        fh.truncate(0)  # give the space back at once
                        raise DownloadError(
                            f"The disk is full: could not write {part.name[1:-5]} in "
                            f"{part.parent} ({exc.strerror}). Free some space and run the "
                            "download again."
                        ) from None
                    raise
                hashing.add(buf, n)
                have += n
                if have - flushed >= _WRITEBACK:  # start writing it to disk now, so the
                    _writeback(fh, flushed, have - flushed)  # final fsync has little left
                    flushed = have
                if left is not None:
                    left -= n
                self._report(observation, n)
            if left == 0:  # all the listed bytes: anything more is never read
                if resp.length or (resp.length is None and not resp.isclosed()):
                    self.transport.discard_stream(url)
            elif resp.length:  # the connection closed before Content-Length was reached
                raise http.client.IncompleteRead(b"", resp.length)
        except BaseException:
            hashing.finish()
            self.transport.discard_stream(url)
            if cutoff is not None and cutoff.is_set():
                raise _TooSlow(
                    f"transfer too slow ({have} bytes received; at least "
                    f"{self.min_rate / 1000:g} kB/s needed)"
                ) from None
            raise
        finally:
            fh.flush()
            if cutoff is not None:
                cutoff.cancel()
        hashing.finish()
        return "sha256:" + h.hexdigest(), have


def _write_all(fh: Any, view: memoryview) -> None:
    """Write all of ``view`` to the unbuffered ``fh`` (a raw write may write less)."""
    while view:
        view = view[fh.write(view) :]


def _writeback(fh: Any, start: int, length: int) -> None:
    """Start (without waiting) the disk write of bytes already written: Linux begins the
    writeback of a range's dirty pages on ``POSIX_FADV_DONTNEED`` (and drops them from the
    page cache once written, sparing it a large file). The fsync before the rename then waits
    for the last few MB, not for the whole file after the transfer.
    """
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    with contextlib.suppress(OSError):
        fh.flush()
        advise(fh.fileno(), start, length, os.POSIX_FADV_DONTNEED)


def _already_there(dest: Path, expected: str | None, size: int | None) -> bool:
    try:
        if not expected or size is None or dest.stat().st_size != size:
            return False
    except OSError:
        return False
    return bool("sha256:" + sha256_file(dest).hexdigest() == expected)


class _TooSlow(Exception):
    pass


class _HTTPStatus(Exception):
    def __init__(self, code: int, retry_after: float | None) -> None:
        super().__init__(code)
        self.code, self.retry_after = code, retry_after


def _range_start(resp: http.client.HTTPResponse) -> int | None:
    m = re.match(r"bytes (\d+)-", resp.getheader("Content-Range") or "")
    return int(m.group(1)) if m else None


def part_path(dest: Path, expected: str | None) -> Path:
    """The hidden ``.part`` file of ``dest``, named after the hash it must reach."""
    tag = (expected or "sha256:unknown").split(":")[-1][:16]
    return dest.with_name(f".{dest.name}.{tag}.part")


def commit_parts(
    items: list[tuple[Path, Path, int]], fsyncs: ThreadPoolExecutor | None = None
) -> list[tuple[Path, str]]:
    """Make verified ``(part, dest, size)`` files durable, then rename each into place.

    Every part is locked (so no other process is rewriting it) and its size checked, the
    batch is fsynced concurrently (a few threads: the filesystem groups them into few journal
    commits, where one fsync per file in the download workers costs a commit each and stalls
    the transfer) and only then renamed over its destination: a renamed file's bytes are on
    disk before its name is. (``syncfs`` was measured too: it also flushes every other
    process's dirty data and was slower.) Returns the ``(dest, reason)`` of files that could
    not be committed (their part is left to be resumed). Call :func:`fsync_dir` afterwards.
    ``fsyncs`` is the thread pool for the fsyncs (a download keeps one for all its batches:
    starting threads for every batch cost more than the fsyncs of small files); default: a
    pool of this call's own.
    """
    failed: list[tuple[Path, str]] = []
    held: list[tuple[Any, Path, Path]] = []
    try:
        for part, dest, size in items:
            try:
                fh = open(part, "rb", buffering=0)  # noqa: SIM115 (closed after the rename)
            except OSError as exc:
                failed.append((dest, f"verified file vanished before it was moved: {exc}"))
                continue
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            if os.fstat(fh.fileno()).st_size != size:
                fh.close()
                failed.append((dest, "file changed by another process; run the download again"))
                continue
            held.append((fh, part, dest))
        # concurrent fsyncs share the journal's commits: 8 streams, each a share of the files
        # (one task per stream, not per file: a hand-over between threads costs more than a
        # small file's fsync)
        fds = [fh.fileno() for fh, _, _ in held]
        shares = [fds[i::8] for i in range(min(8, len(fds)))]
        if shares and fsyncs is not None:
            list(fsyncs.map(_fsync_all, shares))
        elif shares:
            with ThreadPoolExecutor(len(shares), thread_name_prefix="campfire-fsync") as ex:
                list(ex.map(_fsync_all, shares))
        for _, part, dest in held:
            try:
                os.replace(part, dest)
            except OSError as exc:
                failed.append((dest, f"could not move the file into place: {exc}"))
    finally:
        for fh, _, _ in held:
            fh.close()
    return failed


def _fsync_all(fds: list[int]) -> None:
    for fd in fds:
        os.fsync(fd)


def fsync_dir(folder: Path) -> None:
    """Make the renames inside ``folder`` durable (best effort: errors are ignored)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def cleanup_parts(folder: Path, keep: set[Path]) -> None:
    """Remove leftover ``.part`` files nobody is writing (after a killed download, or of an
    older version of a file); ``keep`` holds the parts of failed files, to resume next time.
    """
    with contextlib.suppress(OSError):
        for p in folder.glob(".*.part"):
            if p in keep:
                continue
            with open(p, "ab") as fh:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                p.unlink(missing_ok=True)
