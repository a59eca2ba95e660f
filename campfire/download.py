"""FITS downloads: planned from the local catalog, streamed, verified, then moved into place.

:func:`plan_downloads` decides what to fetch from the catalog alone (server hash, size and local
state; no per-file requests). :func:`download` fetches each observation's manifest only when it
has work to do, then streams files on a bounded thread pool (one keep-alive connection per
thread and host). Each file is written to a hidden ``.part`` file while its SHA-256 is computed,
resumed with HTTP ``Range`` after an interruption (then verified whole), fsynced, checked against
the archive's ``sha256:<hex>`` and only then renamed into ``products/<obs>/<file>``: a file that
failed verification never sits where a reader would open it. Paths the server sends are reduced
to safe basenames, so nothing is ever written outside the data directory.

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

import base64
import contextlib
import difflib
import fcntl
import hashlib
import html
import http.client
import os
import re
import shutil
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

from campfire.api import USER_AGENT, ApiClient, RetryPolicy, parse_retry_after
from campfire.errors import (
    CampfireError,
    DownloadError,
    NotFoundError,
    OfflineError,
    ValidationError,
)
from campfire.store import Store, utc_now

__all__ = [
    "DownloadResult",
    "Failure",
    "FileTask",
    "ObservationPlan",
    "Plan",
    "download",
    "fetch_one",
    "format_size",
    "observation_summary",
    "plan_downloads",
    "safe_basename",
]

Progress = Callable[[str, str, int, int], None]
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+\-]*$")
_CHUNK = 1024 * 1024
_DISK_MARGIN = 64 * 1024 * 1024


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


def format_size(n: float) -> str:
    """A byte count in decimal units with at most one decimal.

    Examples
    --------
    >>> format_size(450_200_000), format_size(750_000_000), format_size(2.1e9), format_size(512)
    ('450.2 MB', '750 MB', '2.1 GB', '512 B')
    """
    units = ("B", "kB", "MB", "GB", "TB", "PB")
    value, i = float(n), 0
    while abs(value) >= 1000 and i < len(units) - 1:
        value, i = value / 1000, i + 1
    return f"{value:.1f}".removesuffix(".0") + f" {units[i]}"


def _sha256_file(path: Path, limit: int | None = None) -> Any:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        remaining = limit
        while remaining is None or remaining > 0:
            block = fh.read(_CHUNK if remaining is None else min(_CHUNK, remaining))
            if not block:
                break
            h.update(block)
            if remaining is not None:
                remaining -= len(block)
    return h


@dataclass
class FileTask:
    """One file to fetch: where it comes from, what it must hash to, where it goes."""

    spectrum_id: str
    observation: str
    grating: str
    fits_path: str
    file_hash: str | None
    file_size: int | None
    reason: str  # "new" or "updated"
    local_path: str  # relative to products/, "<obs>/<file>"


@dataclass
class ObservationPlan:
    """The files of one observation that need fetching, and how many are already local."""

    observation: str
    program: str | None
    field: str | None
    total: int
    local: int
    files: list[FileTask] = field(default_factory=list)

    @property
    def new(self) -> int:
        """Files never downloaded."""
        return sum(f.reason == "new" for f in self.files)

    @property
    def updated(self) -> int:
        """Downloaded files the archive has replaced since."""
        return sum(f.reason == "updated" for f in self.files)

    @property
    def bytes(self) -> int:
        """Bytes to fetch (as the catalog knows them)."""
        return sum(f.file_size or 0 for f in self.files)


@dataclass
class Plan:
    """What :func:`download` will do, one :class:`ObservationPlan` per observation."""

    observations: list[ObservationPlan]

    @property
    def files(self) -> list[FileTask]:
        """Every file to fetch."""
        return [f for o in self.observations for f in o.files]

    @property
    def total_bytes(self) -> int:
        """Bytes to fetch."""
        return sum(o.bytes for o in self.observations)

    def __len__(self) -> int:
        return len(self.files)


@dataclass
class Failure:
    """A file that could not be downloaded, and why."""

    spectrum_id: str
    observation: str
    local_path: str
    reason: str


@dataclass
class DownloadResult:
    """What :func:`download` did."""

    downloaded: int = 0
    bytes: int = 0
    files: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """How many files failed."""
        return len(self.failures)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failures

    def __getitem__(self, key: str) -> Any:  # dict-style access, as upstream returned a dict
        return getattr(self, key)

    def _repr_html_(self) -> str:
        fails = "".join(
            f"<li>{html.escape(f.local_path)}: {html.escape(f.reason)}</li>" for f in self.failures
        )
        return (
            f"<b>campfire download</b>: {self.downloaded} downloaded ({self.bytes} bytes), "
            f"{self.failed} failed" + (f"<ul>{fails}</ul>" if fails else "")
        )


# -- planning ------------------------------------------------------------------------------


def _check_names(store: Store, column: str, wanted: list[str] | None, label: str) -> list[str]:
    if not wanted:
        return []
    known = [
        r[0]
        for r in store.conn.execute(
            f"SELECT DISTINCT {column} FROM spectra WHERE {column} IS NOT NULL ORDER BY 1"
        )
    ]
    by_fold = {k.casefold(): k for k in known}
    out = []
    for name in wanted:
        if name.casefold() in by_fold:
            out.append(by_fold[name.casefold()])
            continue
        close = difflib.get_close_matches(name.casefold(), list(by_fold), n=3, cutoff=0.5)
        hint = (
            f" Did you mean: {', '.join(by_fold[c] for c in close)}?"
            if close
            else f" Known {label}s: {', '.join(known[:10])}{' ...' if len(known) > 10 else ''}."
        )
        raise ValidationError(f"Unknown {label} '{name}'.{hint} Run 'campfire download' to list.")
    return out


def plan_downloads(
    store: Store,
    observations: list[str] | None = None,
    programs: list[str] | None = None,
    fields: list[str] | None = None,
    gratings: list[str] | None = None,
    stale_only: bool = False,
    all: bool = False,
    check_files: bool = True,
) -> Plan:
    """Decide which files to fetch, from the catalog alone.

    Filters of different kinds combine with AND, values of one kind with OR; names are matched
    case-insensitively and an unknown one raises :class:`ValidationError` naming close matches.
    ``check_files`` first ``stat``-s downloaded files so deleted or altered ones are fetched again.

    Examples
    --------
    >>> plan = plan_downloads(store, observations=["ember_uds_p4"])  # doctest: +SKIP
    >>> len(plan), plan.total_bytes  # doctest: +SKIP
    (12, 450200000)
    """
    if store.count("spectra") == 0:
        raise ValidationError("The local catalog has no spectra. Run: campfire sync")
    if not (observations or programs or fields or gratings or stale_only or all):
        raise ValidationError(
            "Choose what to download: --obs, --program, --field or --grating, or --all for "
            "everything, or --stale for files updated on the server."
        )
    where, args = [], []
    for column, wanted, label in (
        ("observation", observations, "observation"),
        ("program_slug", programs, "program"),
        ("field", fields, "field"),
        ("grating", gratings, "grating"),
    ):
        names = _check_names(store, column, wanted, label)
        if names:
            where.append(f"{column} IN ({','.join('?' * len(names))})")
            args += names
    if check_files:
        store.check_local_files()
    sql = (
        "SELECT spectrum_id, observation, grating, fits_path, file_hash, file_size, local_path, "
        "local_file_hash, program_slug, field FROM spectra"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY observation, spectrum_id"
    )
    plans: dict[str, ObservationPlan] = {}
    for r in store.conn.execute(sql, args):
        obs = r["observation"] or ""
        op = plans.get(obs)
        if op is None:
            op = plans[obs] = ObservationPlan(obs, r["program_slug"], r["field"], 0, 0)
        op.total += 1
        downloaded = r["local_path"] is not None
        updated = (
            downloaded and r["file_hash"] is not None and r["local_file_hash"] != r["file_hash"]
        )
        if downloaded and not updated:
            op.local += 1
            continue
        if stale_only and not updated:
            continue
        name = (r["fits_path"] or "").rsplit("/", 1)[-1]
        reason = "updated" if updated else "new"
        op.files.append(
            FileTask(
                r["spectrum_id"],
                obs,
                r["grating"],
                r["fits_path"] or "",
                r["file_hash"],
                r["file_size"],
                reason,
                f"{obs}/{name}",
            )
        )
    return Plan([p for p in plans.values() if p.files or not stale_only])


def observation_summary(store: Store) -> list[dict[str, Any]]:
    """Per observation: program, field, spectra, files downloaded, their size, stale files."""
    rows = store.conn.execute(
        "SELECT observation, MIN(program_slug) AS program, MIN(field) AS field, "
        "COUNT(*) AS spectra, COUNT(local_path) AS local, "
        "COALESCE(SUM(local_file_size), 0) AS local_bytes, "
        "SUM(local_path IS NOT NULL AND file_hash IS NOT NULL AND local_file_hash IS NOT "
        "file_hash) AS stale FROM spectra GROUP BY observation ORDER BY observation"
    )
    return [dict(r) for r in rows]


# -- fetching ------------------------------------------------------------------------------


_Conn = tuple[http.client.HTTPConnection, bool, dict[str, str]]


class _Connections:
    """Keep-alive ``http.client`` connections, one per worker thread and host.

    Leaner than ``requests`` for many medium-sized files: with a few workers the Python work
    per request, not the network, limits throughput. Proxies named by the environment
    (``https_proxy``, ``http_proxy``, ``no_proxy``) are honoured.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._local = threading.local()

    def _pool(self) -> dict[tuple[str, str], _Conn]:
        pool: dict[tuple[str, str], _Conn] | None = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        return pool

    def _connect(self, parts: SplitResult) -> _Conn:
        """A connection for ``parts``' host: (connection, absolute-URL requests, extra headers)."""
        host, https = parts.hostname or "", parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        proxy = (
            None
            if urllib.request.proxy_bypass(host)
            else urllib.request.getproxies().get(parts.scheme)
        )
        if proxy is None:
            if https:
                ctx = ssl.create_default_context()
                return (
                    http.client.HTTPSConnection(host, port, timeout=self.timeout, context=ctx),
                    False,
                    {},
                )
            return http.client.HTTPConnection(host, port, timeout=self.timeout), False, {}
        p = urlsplit(proxy if "://" in proxy else "http://" + proxy)
        auth: dict[str, str] = {}
        if p.username:
            token = base64.b64encode(f"{unquote(p.username)}:{unquote(p.password or '')}".encode())
            auth = {"Proxy-Authorization": "Basic " + token.decode()}
        if https:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                p.hostname or "", p.port or 8080, timeout=self.timeout,
                context=ssl.create_default_context(),
            )  # fmt: skip
            conn.set_tunnel(host, port, headers=auth)
            return conn, False, {}
        conn = http.client.HTTPConnection(p.hostname or "", p.port or 8080, timeout=self.timeout)
        return conn, True, auth  # plain HTTP through a proxy: request the absolute URL

    def open(self, url: str, headers: dict[str, str]) -> http.client.HTTPResponse:
        """GET ``url`` (following up to five redirects); the caller reads the body."""
        pool = self._pool()
        for _ in range(6):
            parts = urlsplit(url)
            key = (parts.scheme, parts.netloc)
            reused = key in pool
            conn, absolute, extra = (
                pool[key] if reused else pool.setdefault(key, self._connect(parts))
            )
            target = (
                url
                if absolute
                else (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            )
            try:
                conn.request("GET", target, headers={"User-Agent": USER_AGENT, **headers, **extra})
                resp = conn.getresponse()
            except (http.client.HTTPException, OSError):
                self.discard(url)
                if not reused:
                    raise
                continue  # a keep-alive connection the server had closed: once more, fresh
            location = resp.getheader("Location")
            if resp.status in (301, 302, 303, 307, 308) and location:
                resp.read()
                url = urljoin(url, location)
                continue
            return resp
        raise DownloadError(f"too many redirects or dropped connections for {url}")

    def discard(self, url: str) -> None:
        """Close the connection to ``url``'s host (after an error or an unread body)."""
        parts = urlsplit(url)
        entry = self._pool().pop((parts.scheme, parts.netloc), None)
        if entry is not None:
            entry[0].close()


class _Fetcher:
    """Streams one file at a time into place; one instance shared by the worker threads."""

    def __init__(
        self, api: ApiClient, retry: RetryPolicy, stall_timeout: float, progress: Progress | None
    ) -> None:
        self.api, self.retry, self.progress = api, retry, progress
        self.http = _Connections(stall_timeout)
        self._local = threading.local()

    def _report(self, obs: str, n: int) -> None:
        if self.progress and n:
            self.progress("bytes", obs, n, 0)

    def fetch(
        self, task: FileTask, url: str, dest: Path, expected: str | None, size: int | None
    ) -> tuple[str, int]:
        """Download ``url`` to ``dest``, verified against ``expected``; return (hash, size).

        A file already at ``dest`` with the expected size and hash (a pipeline's own product,
        or a download whose record was lost) is adopted without a request.
        """
        if _already_there(dest, expected, size):
            self._report(task.observation, size or 0)
            return str(expected), int(size or 0)
        if self.api.settings.offline:
            raise OfflineError(
                f"Network access is disabled (CAMPFIRE_OFFLINE=1): cannot download {dest.name}."
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = _part_path(dest, expected)
        url = urljoin(self.api.base_url + "/", url)
        renewed = False
        with open(part, "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # one writer per .part, in any process
            attempt, last = 0, ""
            while True:
                wait: float | None = None
                try:
                    digest, got = self._stream(task, url, fh, part, size)
                    if size is not None and got < size:
                        last = f"transfer ended early ({got} of {size} bytes)"  # resume it
                    elif (expected and digest != expected) or (size is not None and got != size):
                        self._report(task.observation, -got)
                        fh.truncate(0)  # the bytes are wrong: start over
                        last = f"verification failed: SHA-256 {digest}, expected {expected}"
                    else:
                        os.fsync(fh.fileno())
                        os.replace(part, dest)
                        return digest, got
                except _HTTPStatus as exc:
                    if exc.code in (401, 403, 404, 410) and not renewed:
                        url, renewed = self.api.get_signed_url(task.fits_path), True
                        continue  # the signed URL expired: ask for a fresh one
                    if exc.code not in (408, 429, 500, 502, 503, 504):
                        raise DownloadError(f"HTTP {exc.code} from the file server") from None
                    last, wait = f"HTTP {exc.code}", exc.retry_after
                except (http.client.HTTPException, OSError) as exc:
                    self.http.discard(url)
                    last = f"{type(exc).__name__}: {exc}"
                if attempt >= self.retry.retries:
                    raise DownloadError(f"{last} (after {attempt + 1} attempts)")
                self.retry.sleep(self.retry.delay(attempt, wait))
                attempt += 1

    def _buffer(self) -> memoryview:
        buf: memoryview | None = getattr(self._local, "buf", None)
        if buf is None:
            buf = self._local.buf = memoryview(bytearray(_CHUNK))
        return buf

    def _stream(
        self, task: FileTask, url: str, fh: Any, part: Path, size: int | None
    ) -> tuple[str, int]:
        have = os.fstat(fh.fileno()).st_size
        if size is not None and have >= size:
            have = 0  # nothing left to resume (or garbage): start over
        resp = self.http.open(url, {"Range": f"bytes={have}-"} if have else {})
        if resp.status not in (200, 206):
            self.http.discard(url)
            if resp.status == 416:
                fh.truncate(0)  # our offset is wrong: start over
                raise _HTTPStatus(503, None)
            raise _HTTPStatus(resp.status, parse_retry_after(resp.getheader("Retry-After")))
        resumed = resp.status == 206 and have > 0 and _range_start(resp) == have
        if resumed:
            h = _sha256_file(part, have)
        else:
            self._report(task.observation, -have)
            fh.truncate(0)
            have, h = 0, hashlib.sha256()
        buf = self._buffer()
        try:
            while n := resp.readinto(buf):
                chunk = buf[:n]
                fh.write(chunk)
                h.update(chunk)
                have += n
                self._report(task.observation, n)
            if resp.length:  # the connection closed before Content-Length was reached
                raise http.client.IncompleteRead(b"", resp.length)
        except BaseException:
            self.http.discard(url)
            raise
        finally:
            fh.flush()
        return "sha256:" + h.hexdigest(), have


def _already_there(dest: Path, expected: str | None, size: int | None) -> bool:
    try:
        if not expected or size is None or dest.stat().st_size != size:
            return False
    except OSError:
        return False
    return "sha256:" + _sha256_file(dest).hexdigest() == expected


class _HTTPStatus(Exception):
    def __init__(self, code: int, retry_after: float | None) -> None:
        super().__init__(code)
        self.code, self.retry_after = code, retry_after


def _range_start(resp: http.client.HTTPResponse) -> int | None:
    m = re.match(r"bytes (\d+)-", resp.getheader("Content-Range") or "")
    return int(m.group(1)) if m else None


def _part_path(dest: Path, expected: str | None) -> Path:
    """The hidden ``.part`` file of ``dest``, named after the hash it must reach."""
    tag = (expected or "sha256:unknown").split(":")[-1][:16]
    return dest.with_name(f".{dest.name}.{tag}.part")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _part_bytes(products: Path, tasks: list[FileTask]) -> int:
    total = 0
    for t in tasks:
        with contextlib.suppress(OSError):
            total += _part_path(products / t.local_path, t.file_hash).stat().st_size
    return total


def _cleanup_parts(folder: Path, keep: set[Path]) -> None:
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


def _destination(products: Path, observation: str, fits_path: str) -> tuple[Path, str]:
    obs = safe_basename(observation, "observation name")
    name = safe_basename(fits_path)
    dest = products / obs / name
    if os.path.commonpath([os.path.abspath(dest), os.path.abspath(products)]) != str(
        os.path.abspath(products)
    ):
        raise DownloadError(f"refusing to write outside {products}: {dest}")
    return dest, f"{obs}/{name}"


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
        Backoff for failed files (default: 4 retries, 0.5 s doubling, with jitter).
    stall_timeout
        Seconds without a byte before a transfer is abandoned and retried.

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
            f"Not enough disk space in {products}: the download needs {need / 1e6:.1f} MB but "
            f"only {free / 1e6:.1f} MB is free. Free some space or download fewer observations."
        )
    fetcher = _Fetcher(api, retry or RetryPolicy(), stall_timeout, progress)
    with (
        store.lock(wait=lock_wait, what="campfire download"),
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="campfire-download") as pool,
    ):
        for op in todo:
            _download_observation(api, store, op, pool, fetcher, result, progress)
    return result


def _download_observation(
    api: ApiClient,
    store: Store,
    op: ObservationPlan,
    pool: ThreadPoolExecutor,
    fetcher: _Fetcher,
    result: DownloadResult,
    progress: Progress | None,
) -> None:
    products = store.products_dir
    cur = store.conn.execute(
        "INSERT INTO sync_log (observation, started_at) VALUES (?, ?)", (op.observation, utc_now())
    )
    log_id = cur.lastrowid
    if progress:
        progress("observation", op.observation, len(op.files), op.bytes)
    fails_before, nbytes, ok = result.failed, 0, 0

    def fail(task: FileTask, reason: str) -> None:
        result.failures.append(Failure(task.spectrum_id, task.observation, task.local_path, reason))

    try:
        manifest = api.fetch_manifest(op.observation)
        entries = {e.get("spectrum_id"): e for e in manifest.get("spectra") or []}
    except NotFoundError as exc:
        entries, manifest_error = {}, str(exc)
    else:
        manifest_error = "not in the archive's manifest any more (run: campfire sync)"
    futures = {}
    for task in op.files:
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
        fut = pool.submit(fetcher.fetch, task, entry["download_url"], dest, expected, size)
        futures[fut] = (task, dest, rel, expected)
    keep: set[Path] = set()
    pending: list[tuple[Any, ...]] = []
    flushed = time.monotonic()

    def flush() -> None:  # record finished files: one directory fsync, one transaction
        _fsync_dir(products / op.observation)
        with store.transaction():
            for args in pending:
                store.record_download(*args[:5], server_hash=args[5])
            store.bump("files_version")
        pending.clear()

    for done, fut in enumerate(as_completed(futures), 1):
        task, dest, rel, expected = futures[fut]
        try:
            digest, size = fut.result()
        except Exception as exc:  # one file's failure must not lose the others' records
            reason = exc.message if isinstance(exc, CampfireError) else ""
            fail(task, reason or f"{type(exc).__name__}: {exc}")
            keep.add(_part_path(dest, expected))
        else:
            pending.append((task.spectrum_id, rel, digest, size, dest.stat().st_mtime, expected))
            result.downloaded += 1
            result.bytes += size
            result.files.append(rel)
            ok, nbytes = ok + 1, nbytes + size
            if len(pending) >= 64 or time.monotonic() - flushed > 0.5:
                flush()
                flushed = time.monotonic()
        if progress:
            progress("file", op.observation, done, len(op.files))
    if pending:
        flush()
    _cleanup_parts(products / op.observation, keep)
    failed = result.failed - fails_before
    store.conn.execute(
        "UPDATE sync_log SET completed_at=?, files_downloaded=?, files_skipped=?, "
        "bytes_downloaded=?, status=? WHERE id=?",
        (utc_now(), ok, op.local, nbytes, "completed" if not failed else "failed", log_id),
    )
    if progress:
        progress("finished", op.observation, ok, failed)


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
    fetcher = _Fetcher(api, retry or RetryPolicy(), 60.0, None)
    digest, size = fetcher.fetch(task, url, dest, expected, row.get("file_size"))
    _fsync_dir(dest.parent)
    with store.transaction():
        store.record_download(row["spectrum_id"], rel, digest, size, dest.stat().st_mtime)
        store.bump("files_version")
    return dest
