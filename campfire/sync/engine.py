"""Catalog sync: pull the archive's ``/sync/*`` feeds into the local catalog store.

The first sync (or ``full=True``) reads every feed from the start and purges local rows the
server no longer sends. Later syncs are incremental: each feed's cursor is the largest
``updated_at`` stored locally, sent as ``updated_since``. Deletions and lost access use the
``sync-deletions`` extension when ``/version`` announces it; otherwise (the plain contract) a
count check against ``total_accessible_count`` falls back to a full, purging pass. All feeds are
fetched at once, each in a background thread that also parses and converts its pages, while one
writer inserts pages as they arrive; the whole sync is one SQLite transaction, so a sync that is
killed leaves the previous catalog intact.

Examples
--------
>>> r = SyncResult(observations=8, objects=2450, spectra=7200, stale_count=0)
>>> r["objects"]
2450
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import html
import json
import logging
import os
import queue
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from campfire.archive.api import SYNC_FEEDS, ApiClient, SyncPage
from campfire.catalog.store import PreparedRows, Store, prepare_rows, utc_now
from campfire.errors import CampfireError

log = logging.getLogger(__name__)

__all__ = [
    "OBJECT_CSV_COLUMNS",
    "SPECTRUM_CSV_COLUMNS",
    "SyncResult",
    "export_catalogs",
    "sync_catalog",
]

Progress = Callable[[str, int, int], None]

OBJECT_CSV_COLUMNS = (
    "object_id", "field", "ra", "dec", "redshift", "redshift_auto", "redshift_inspected",
    "redshift_quality", "n_targets", "n_spectra", "programs", "gratings", "observations",
    "member_target_ids", "max_snr", "max_exposure_time", "has_photometry", "photo_z",
    "photo_z_err_lo", "photo_z_err_hi", "last_inspected_at", "last_inspected_by",
    "last_data_change_at", "staleness_reason",
)  # fmt: skip
SPECTRUM_CSV_COLUMNS = (
    "spectrum_id", "target_id", "object_id", "grating", "fits_path", "file_hash", "file_size",
    "signal_to_noise", "exposure_time", "reduction_version", "redshift_auto", "dq_flags",
    "program_slug", "observation", "field", "local_path",
)  # fmt: skip
PROGRAM_KEYS = ("slug", "program_name", "pi_name", "is_public")
PHOTOMETRY_CSV_COLUMNS = (
    "object_id", "field", "catalog_name", "catalog_id", "match_distance_arcsec", "photo_z",
    "photo_z_err_lo", "photo_z_err_hi",
)  # fmt: skip


class SyncResult(dict[str, Any]):
    """What a sync did: the reference's keys plus per-feed change counts (a plain dict)."""

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
            f"<td>{html.escape(str(v if not isinstance(v, list) else len(v)))}</td></tr>"
            for k, v in self.items()
        )
        return f"<table><caption>campfire sync</caption>{rows}</table>"


class _Prefetch:
    """Fetch one feed's pages in a background thread from construction on, into a queue that
    several feeds share (items are ``(feed, kind, payload)``).

    Every feed of a sync is started at once, so the server always has a request to answer,
    and each page is fetched, parsed and converted to SQL parameters (``prepare``) here while
    the writer inserts whichever page arrived before it.
    """

    def __init__(
        self,
        feed: str,
        pages: Iterator[SyncPage],
        prepare: Callable[[SyncPage], PreparedRows],
        out: queue.Queue[tuple[str, str, Any]],
    ) -> None:
        self._feed, self._pages, self._prepare, self._out = feed, pages, prepare, out
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="campfire-sync", daemon=True)
        self._thread.start()

    def _put(self, kind: str, payload: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._out.put((self._feed, kind, payload), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for page in self._pages:
                if not self._put("page", (page, self._prepare(page))):
                    return
            self._put("end", None)
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._put("error", exc)

    def close(self) -> None:
        """Stop fetching (the thread ends after its current request)."""
        self._stop.set()
        self._thread.join(timeout=5)


class _Feed:
    """Sync of one feed inside the sync transaction; remembers keys for the full-sync purge."""

    def __init__(self, store: Store, feed: str, stamp: str, since: str | None) -> None:
        self.store, self.feed, self.stamp, self.since = store, feed, stamp, since
        self.changed = 0
        self.received = 0
        self.deleted: list[Any] = []
        self.orphans: list[str] = []
        self.accessible: int | None = None
        self._seen: set[Any] = set()

    def write(self, page: SyncPage, prepared: PreparedRows, progress: Progress | None) -> None:
        """Write one page (the first one also carries counts and deleted keys)."""
        if page.offset == 0:
            self.accessible = page.total_accessible_count
            if page.deleted:
                self.orphans += self.store.delete(self.feed, page.deleted)
                self.deleted += page.deleted
        self.changed += self.store.upsert(self.feed, page.rows, self.stamp, prepared=prepared)
        self.received += len(page.rows)
        if self.since is None:
            self._seen.update(prepared.keys)
        if progress:
            progress(self.feed, self.received, page.total)

    def purge(self) -> None:
        """After a full pass (``since`` None): delete whatever the server did not send."""
        if self.since is None:
            gone = self.store.keys_not_in(self.feed, self._seen)
            self.orphans += self.store.delete(self.feed, gone)
            self.deleted += gone


def sync_catalog(
    api: ApiClient,
    store: Store,
    *,
    full: bool = False,
    progress: Progress | None = None,
    export: bool = True,
    lock_wait: float = 5.0,
) -> SyncResult:
    """Bring the local catalog up to date with the archive.

    Parameters
    ----------
    api
        The archive client (its login decides which programs are visible).
    store
        The local catalog to update.
    full
        Re-read every feed from the start and purge what the server no longer sends.
    progress
        Called as ``progress(feed, rows_received, rows_total)`` after each page.
    export
        Write ``meta/objects.csv``, ``spectra.csv`` and ``photometry.csv`` afterwards.
    lock_wait
        Seconds to wait for another sync or download to finish before :class:`LockError`.

    Returns
    -------
    SyncResult
        ``observations, objects, spectra, photometry, tags`` (local totals),
        ``objects_updated, spectra_updated, photometry_updated`` (rows changed),
        ``objects_purged, purged_spectra, photometry_purged, orphaned_files``,
        ``stale_count, stale_files, missing_files, incremental, needs_full_sync,
        full_sync_reason, catalog_version``.

    Examples
    --------
    >>> result = sync_catalog(api, store)  # doctest: +SKIP
    >>> result["incremental"], result["stale_count"]  # doctest: +SKIP
    (True, 0)
    """
    info = api.server_info()
    deletions = info.has("sync-deletions")
    limit = info.sync_page_size
    stamp = utc_now()
    with (
        store.lock(wait=lock_wait, what="campfire sync"),
        ThreadPoolExecutor(1, thread_name_prefix="campfire-metadata") as side,
    ):
        programs = side.submit(_fetch_programs, api)  # overlaps the feeds
        incremental = not full and store.count("objects") > 0
        reason = None
        with _gc_paused(), store.transaction():
            feeds = _pass(api, store, stamp, incremental, deletions, limit, progress)
            if incremental:
                reason = _count_mismatch(store, feeds)
                if reason:  # the plain contract's only way to see deletions: start over
                    incremental = False
                    again = _pass(api, store, stamp, False, deletions, limit, progress)
                    for name, feed in again.items():
                        feed.changed += feeds[name].changed
                        feed.deleted += feeds[name].deleted
                        feed.orphans += feeds[name].orphans
                    feeds = again
            tags = api.fetch_tags()
            tags_changed = store.upsert("lists", tags, stamp)
            store.fill_observations()
            details = programs.result()
            if details is not None:  # kept for offline get_programs(); not a catalog change
                store.set_meta("programs", json.dumps(details, separators=(",", ":")))
            changed = tags_changed + sum(f.changed + len(f.deleted) for f in feeds.values())
            if changed:
                store.bump("catalog_version")
            store.set_meta("last_sync_at", utc_now())
        missing = store.check_local_files()
        stale = store.stale_files()
        result = SyncResult(
            observations=store.observation_count(),
            objects=store.count("objects"),
            spectra=store.count("spectra"),
            photometry=store.count("photometry"),
            tags=store.count("lists"),
            objects_updated=feeds["objects"].changed,
            spectra_updated=feeds["spectra"].changed,
            photometry_updated=feeds["photometry"].changed,
            objects_purged=len(feeds["objects"].deleted),
            purged_spectra=len(feeds["spectra"].deleted),
            photometry_purged=len(feeds["photometry"].deleted),
            orphaned_files=sorted(set(feeds["spectra"].orphans)),
            stale_count=len(stale),
            stale_files=stale,
            missing_files=len(missing),
            incremental=incremental,
            needs_full_sync=False,
            full_sync_reason=reason,
            catalog_version=store.catalog_version,
        )
        csvs = [store.path.parent / f"{n}.csv" for n in ("objects", "spectra", "photometry")]
        if export and (changed or not all(p.exists() for p in csvs)):
            export_catalogs(store)
    return result


def _pass(
    api: ApiClient,
    store: Store,
    stamp: str,
    incremental: bool,
    deletions: bool,
    limit: int,
    progress: Progress | None,
) -> dict[str, _Feed]:
    """Fetch every feed at once and write pages in the order they arrive (one writer)."""
    ready: queue.Queue[tuple[str, str, Any]] = queue.Queue(maxsize=2 * len(SYNC_FEEDS))
    feeds = {
        name: _Feed(store, name, stamp, store.cursor(name) if incremental else None)
        for name in SYNC_FEEDS
    }
    sources: list[_Prefetch] = []
    try:
        with contextlib.ExitStack() as loading:
            for name, feed in feeds.items():
                loading.enter_context(store.bulk_load(name))
                pages = api.iter_sync_pages(
                    name, updated_since=feed.since, limit=limit, include_deleted=deletions
                )
                prepare = functools.partial(_prepare_page, name, stamp)
                sources.append(_Prefetch(name, pages, prepare, ready))
            running = len(sources)
            while running:
                name, kind, payload = ready.get()
                if kind == "error":
                    raise payload
                if kind == "end":
                    running -= 1
                    continue
                feeds[name].write(*payload, progress)
        for feed in feeds.values():
            feed.purge()
        return feeds
    finally:
        for source in sources:
            source.close()


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while pages are parsed and written.

    Parsing a page makes tens of thousands of dicts and lists, each allocation counting towards
    a collection that walks every live object, the pages still queued included: with it paused
    a full sync parses about twice as fast. Sync data holds no reference cycles, so nothing
    piles up; the collector is switched back on (if it was on) however the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _prepare_page(feed: str, stamp: str, page: SyncPage) -> PreparedRows:
    return prepare_rows(feed, page.rows, stamp)


def _fetch_programs(api: ApiClient) -> list[dict[str, Any]] | None:
    """``/metadata``'s programs (slug, name, PI, public), or None if the archive failed.

    A failure here loses nothing: the sync goes on and the names stored last time are kept.
    """
    try:
        programs = api.get_metadata().get("programs")
    except CampfireError as exc:
        log.warning("sync: program names not refreshed (/metadata failed: %s)", exc)
        return None
    if not isinstance(programs, list):
        log.warning("sync: /metadata sent no program list; program names not refreshed")
        return None
    return [
        {k: p.get(k) for k in PROGRAM_KEYS}
        for p in programs
        if isinstance(p, dict) and p.get("slug")
    ]


def _count_mismatch(store: Store, feeds: dict[str, _Feed]) -> str | None:
    for name in ("objects", "spectra"):
        expected = feeds[name].accessible
        if expected is not None and expected > 0 and store.count(name) != expected:
            return f"{store.count(name)} local {name} but the archive has {expected}"
    return None


# -- CSV exports ---------------------------------------------------------------------------


def _write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    """Write a CSV atomically (``<name>.tmp``, fsync, rename); None becomes an empty cell."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(header))
        writer.writerows(rows)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def export_catalogs(store: Store, meta_dir: Path | None = None) -> list[Path]:
    """Write ``objects.csv``, ``spectra.csv`` and ``photometry.csv`` (section 10), atomically.

    List columns are ``;``-joined, ``has_photometry`` is ``True``/``False`` and a spectrum
    never downloaded gets its expected ``local_path``, ``<observation>/<file name>``.

    Examples
    --------
    >>> from astropy.table import Table
    >>> objects = Table.read(store.path.parent / "objects.csv")  # doctest: +SKIP
    """
    meta = Path(meta_dir or store.path.parent)
    if store.conn.in_transaction:  # uncommitted rows are visible on this connection only
        for name in _EXPORTERS:
            _EXPORTERS[name](store.conn, meta / f"{name}.csv")
    else:  # photometry.csv and spectra.csv in child processes (own cores and GILs) meanwhile
        helpers = {n: _start_export(n, store.path, meta) for n in ("photometry", "spectra")}
        _export_objects(store.conn, meta / "objects.csv")
        for name, helper in helpers.items():
            _finish_export(name, helper, store.path, meta)
    return [meta / "objects.csv", meta / "spectra.csv", meta / "photometry.csv"]


def _export_objects(conn: sqlite3.Connection, path: Path) -> None:
    cur = conn.cursor()
    cur.row_factory = None  # plain tuples straight into the csv writer
    cols = ", ".join(
        "CASE WHEN has_photometry THEN 'True' ELSE 'False' END" if c == "has_photometry" else c
        for c in OBJECT_CSV_COLUMNS
    )
    rows = cur.execute(f"SELECT {cols} FROM objects WHERE is_active = 1 ORDER BY object_id")
    _write_csv(path, OBJECT_CSV_COLUMNS, rows)


def _export_spectra(conn: sqlite3.Connection, path: Path) -> None:
    cur = conn.cursor()
    cur.row_factory = None
    scols = ", ".join(SPECTRUM_CSV_COLUMNS)
    obs, fits = SPECTRUM_CSV_COLUMNS.index("observation"), SPECTRUM_CSV_COLUMNS.index("fits_path")
    rows = (
        r if r[-1] or not r[fits] else (*r[:-1], _expected_path(r[obs], r[fits]))
        for r in cur.execute(f"SELECT {scols} FROM spectra ORDER BY spectrum_id")
    )
    _write_csv(path, SPECTRUM_CSV_COLUMNS, rows)


def _expected_path(observation: str | None, fits_path: str) -> str:
    """Where a spectrum not downloaded yet will go: ``<observation>/<file name>``."""
    name = fits_path.rsplit("/", 1)[-1]
    return f"{observation}/{name}" if observation else name


_EXPORT_HELPER = (
    "import sys; from pathlib import Path; from campfire.sync.engine import _export_from; "
    "_export_from(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))"
)


def _start_export(name: str, db: Path, meta: Path) -> subprocess.Popen[bytes] | None:
    """Start writing ``<name>.csv`` in a child Python (None if it cannot be started)."""
    try:
        return subprocess.Popen(
            [sys.executable, "-c", _EXPORT_HELPER, name, str(db.resolve()), str(meta.resolve())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=meta,  # imports resolve as here (our sys.path), never from the working folder
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
    except OSError as exc:
        log.info("export: no helper process (%s); writing %s.csv here", exc, name)
        return None


def _finish_export(name: str, helper: subprocess.Popen[bytes] | None, db: Path, meta: Path) -> None:
    """Wait for the helper; if it failed (or never started), write the file in this process."""
    if helper is not None:
        _, err = helper.communicate()
        if helper.returncode == 0:
            return
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        log.info("export: helper failed (%s); writing %s.csv here", tail[0], name)
    _export_from(name, db, meta)


def _export_from(name: str, db: Path, meta: Path) -> None:
    """Write ``<meta>/<name>.csv`` from the committed catalog at ``db`` (read-only)."""
    conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        _EXPORTERS[name](conn, meta / f"{name}.csv")
    finally:
        conn.close()


def _export_photometry(conn: sqlite3.Connection, path: Path) -> None:
    """Wide photometry: fixed columns, then ``f_<band>, e_<band>`` ordered by (wav, name).

    SQLite's JSON functions pick the values out of the stored JSON (no Python parsing);
    without them (an SQLite older than 3.38) the records are parsed in Python.
    """
    cur = conn.cursor()
    cur.row_factory = None
    fixed = ", ".join(PHOTOMETRY_CSV_COLUMNS)
    order_by = "ORDER BY object_id, catalog_name"
    try:
        waves = dict(
            cur.execute(
                "SELECT b.key, MIN(json_extract(b.value, '$.wav')) FROM object_photometry p, "
                "json_each(p.photometry, '$.bands') b GROUP BY b.key"
            ).fetchall()
        )
        order = _band_order(waves)
        picks = "".join(
            f", json_extract(photometry, '$.bands.\"{b}\".flux'),"
            f" json_extract(photometry, '$.bands.\"{b}\".flux_err')"
            for b in order
        )
        rows: Iterable[Iterable[Any]] = cur.execute(
            f"SELECT {fixed}{picks} FROM object_photometry {order_by}"
        )
    except sqlite3.OperationalError:  # no JSON functions, or an odd band name
        order, rows = _photometry_in_python(cur, fixed, order_by)
    header = [*PHOTOMETRY_CSV_COLUMNS]
    for b in order:
        header += [f"f_{b}", f"e_{b}"]
    _write_csv(path, header, rows)


def _band_order(waves: dict[str, float | None]) -> list[str]:
    return sorted(waves, key=lambda b: (waves[b] is None, waves[b] or 0.0, b))


def _photometry_in_python(
    cur: sqlite3.Cursor, fixed: str, order_by: str
) -> tuple[list[str], list[tuple[Any, ...]]]:
    n = len(PHOTOMETRY_CSV_COLUMNS)
    records, waves = [], {}
    for row in cur.execute(f"SELECT {fixed}, photometry FROM object_photometry {order_by}"):
        try:
            phot = json.loads(row[n] or "{}")
        except ValueError:
            phot = {}
        bands = (phot.get("bands") if isinstance(phot, dict) else None) or {}
        for name, band in bands.items():
            if name not in waves:
                waves[name] = band.get("wav") if isinstance(band, dict) else None
        records.append((row[:n], bands))
    order, empty = _band_order(waves), {}
    rows = []
    for values, bands in records:
        cells = [bands.get(b) or empty for b in order]
        rows.append(values + tuple(v for c in cells for v in (c.get("flux"), c.get("flux_err"))))
    return order, rows


_EXPORTERS: dict[str, Callable[[sqlite3.Connection, Path], None]] = {
    "photometry": _export_photometry,
    "objects": _export_objects,
    "spectra": _export_spectra,
}
