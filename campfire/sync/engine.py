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
import functools
import gc
import json
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from campfire.archive.api import ApiClient
from campfire.archive.contract import SYNC_FEEDS, SyncPage
from campfire.catalog import changes
from campfire.catalog.export import export_catalogs
from campfire.catalog.rows import TABLES, PreparedRows, prepare_rows
from campfire.catalog.schema import damage, damaged_message, is_damage, utc_now
from campfire.catalog.store import Store
from campfire.errors import CampfireError, CorruptCatalogError, SchemaError
from campfire.sync.inspections import carry_members_mark, pull_inspections
from campfire.sync.outbox import push_before_pull, report_outbox
from campfire.sync.pages import parse_page
from campfire.sync.result import SyncResult

log = logging.getLogger(__name__)

__all__ = ["SyncResult", "sync_catalog", "sync_local_catalog"]

Progress = Callable[[str, int, int], None]
PROGRAM_KEYS = ("id", "slug", "program_name", "pi_name", "is_public")


def sync_local_catalog(
    api: ApiClient,
    db_path: str | os.PathLike[str],
    *,
    full: bool = False,
    progress: Progress | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> SyncResult:
    """Sync the catalog at ``db_path``, creating it, or rebuilding one this campfire cannot use.

    What ``cf.sync()`` and ``campfire sync`` both run. A catalog of another schema version is
    replaced by an empty one and filled by this sync (it is a copy of the archive's metadata);
    the reason is logged at WARNING and returned as ``result["catalog_rebuilt"]``. A damaged
    catalog file raises :class:`~campfire.errors.CorruptCatalogError`, unless ``full``: a full
    sync checks every page first and moves a damaged file aside (``campfire.db.damaged-<time>``)
    before rebuilding, the same way.
    Writes waiting in the outbox are pushed first (:mod:`campfire.sync.outbox`).
    ``meanwhile`` is passed to :func:`sync_catalog`.

    Examples
    --------
    >>> r = sync_local_catalog(api, "~/campfire/meta/campfire.db")  # doctest: +SKIP
    >>> r["catalog_rebuilt"] is None  # doctest: +SKIP
    True
    """
    rebuilt = None
    problem = damage(Path(db_path), thorough=True) if full else None
    if problem:  # only a full sync mends a damaged catalog: it is set aside, kept, not deleted
        rebuilt = _set_aside(db_path, problem)
    try:
        store = Store(db_path)
    except CorruptCatalogError:
        raise  # a plain sync says what is wrong and that `campfire sync --full` mends it
    except SchemaError as exc:
        rebuilt = exc.message
        log.warning("%s Rebuilding it now; downloaded files stay on disk.", rebuilt)
        store = Store.rebuild(db_path)
    with store:
        try:
            pushed = push_before_pull(api, store)  # our writes first, then everyone's
            result = sync_catalog(
                api, store, full=full or rebuilt is not None, progress=progress,
                meanwhile=meanwhile,
            )  # fmt: skip
            report_outbox(result, pushed, store)
        except sqlite3.DatabaseError as exc:  # damage found while writing: one clear line
            if not is_damage(exc):
                raise
            raise CorruptCatalogError(damaged_message(Path(db_path), exc)) from None
    result.catalog_rebuilt = rebuilt
    return result


def _set_aside(db_path: str | os.PathLike[str], problem: str) -> str:
    aside = Store.set_aside(db_path)
    message = (
        f"The local catalog was damaged ({problem}); it was moved to {aside.name} and is "
        "rebuilt from the archive now. Downloaded files stay on disk: the next download "
        "re-hashes them instead of fetching them."
    )
    log.warning("%s", message)
    return message


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
    """Sync of one feed inside the sync transaction; remembers keys for the full-sync purge.

    A full pass into an empty table has nothing to purge (every row stored came from this
    pass), so it keeps no keys and reads none back.
    """

    def __init__(self, store: Store, feed: str, stamp: str, since: str | None) -> None:
        self.store, self.feed, self.stamp, self.since = store, feed, stamp, since
        self.purging = since is None and store.has_rows(feed)
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
        if self.purging:
            self._seen.update(prepared.keys)
        if progress:
            progress(self.feed, self.received, page.total)

    def purge(self) -> None:
        """After a full pass (``since`` None): delete whatever the server did not send."""
        if self.purging:
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
    meanwhile: Callable[[], None] | None = None,
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
    meanwhile
        Called once the catalog is committed, while child processes write the CSVs (e.g.
        building the query snapshot: the two then share the machine's cores).

    Returns
    -------
    SyncResult
        ``observations, objects, spectra, photometry, tags`` (local totals),
        ``objects_updated, spectra_updated, photometry_updated`` (rows changed),
        ``objects_purged, spectra_purged, photometry_purged, orphaned_files``,
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
        incremental = not full and store.has_rows("objects")
        reason = None
        with _gc_paused(), store.transaction(), _tracked(store, incremental) as tracking:
            feeds = _pass(api, store, stamp, incremental, deletions, limit, progress)
            counts = _Counts(store)  # each counted once (a scan each), after the writes
            if incremental:
                reason = _count_mismatch(counts, feeds)
                if reason:  # the plain contract's only way to see deletions: start over
                    incremental = False
                    again = _pass(api, store, stamp, False, deletions, limit, progress)
                    for name, feed in again.items():
                        feed.changed += feeds[name].changed
                        feed.deleted += feeds[name].deleted
                        feed.orphans += feeds[name].orphans
                    feeds = again
                    counts = _Counts(store)
            tags = api.fetch_tags()
            tags_changed = store.upsert("lists", tags, stamp)
            settled = not tags_changed and not any(f.changed or f.deleted for f in feeds.values())
            tags_changed += pull_inspections(
                api, store, stamp, tags, incremental=incremental, settled=settled
            )
            changed = tags_changed + sum(f.changed + len(f.deleted) for f in feeds.values())
            if changed:  # nothing changed: nothing to fill (a scan of every object)
                store.fill_observations()
            details = programs.result()
            if details is not None:  # kept for offline get_programs(); not a catalog change
                store.set_meta("programs", json.dumps(details, separators=(",", ":")))
            if changed:
                version = store.bump("catalog_version")
                carry_members_mark(store, version - 1, version)
                if tracking:  # the query tables patch these objects instead of reloading
                    changes.record(store.conn, version)
            if changed or store.get_meta("observation_count") is None:  # an index walk
                store.set_meta("observation_count", str(store.observation_count()))
            store.set_meta("last_sync_at", utc_now())
        missing = store.check_local_files()
        stale = store.stale_files()
        result = SyncResult(
            observations=int(store.get_meta("observation_count") or 0),
            objects=counts("objects"),
            spectra=counts("spectra"),
            photometry=counts("photometry"),
            tags=counts("lists"),
            objects_updated=feeds["objects"].changed,
            spectra_updated=feeds["spectra"].changed,
            photometry_updated=feeds["photometry"].changed,
            objects_purged=len(feeds["objects"].deleted),
            spectra_purged=len(feeds["spectra"].deleted),
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
        if meanwhile is not None:
            store.release_memory()  # before what runs meanwhile (a build) adds its own
        if export and (changed or not all(p.exists() for p in csvs)):
            export_catalogs(store, meanwhile=meanwhile)
        elif meanwhile is not None:
            meanwhile()
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
                    name, updated_since=feed.since, limit=limit, include_deleted=deletions,
                    parse=functools.partial(parse_page, name),
                )  # fmt: skip
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
                page, prepared = payload
                feeds[name].write(page, prepared, progress)
        for feed in feeds.values():
            feed.purge()
        return feeds
    finally:
        for source in sources:
            source.close()


@contextlib.contextmanager
def _tracked(store: Store, incremental: bool) -> Iterator[bool]:
    """Note which objects an incremental sync changes (:mod:`campfire.catalog.changes`); a full
    sync changes most of them, and its version is left unrecorded (a full reload).
    """
    if not incremental:
        yield False
        return
    with changes.track(store.conn):
        yield True


_gc_lock = threading.Lock()
_gc_state = {"depth": 0, "was_enabled": False}


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while pages are parsed and written.

    Parsing a page makes tens of thousands of dicts and lists, each allocation counting towards
    a collection that walks every live object, the pages still queued included: with it paused
    a full sync parses about twice as fast. Sync data holds no reference cycles, so nothing
    piles up. Pauses nest across threads (two syncs in one kernel): the first one in switches
    the collector off, the last one out switches it back on if it was on before the first.
    """
    with _gc_lock:
        if _gc_state["depth"] == 0:
            _gc_state["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_state["depth"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["depth"] -= 1
            if _gc_state["depth"] == 0 and _gc_state["was_enabled"]:
                gc.enable()


def _prepare_page(feed: str, stamp: str, page: SyncPage) -> PreparedRows:
    """The page's SQL parameters; the page keeps only what the writer still reads of its rows.

    A parsed row (an object's nested spectra included) takes several times the memory of its
    parameter tuple, and up to a dozen pages wait between the fetch threads and the writer:
    once converted, an object row keeps its key and ``lists`` (the writer replaces tag
    memberships from them) and any other row its key alone.
    """
    prepared = prepare_rows(feed, page.rows, stamp)
    key = TABLES[feed][1]
    if feed == "objects":
        page.rows = [{key: r[key], "lists": r.get("lists")} for r in page.rows]
    else:
        page.rows = [{key: k} for k in prepared.keys]
    return prepared


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


class _Counts:
    """Rows stored per feed, each counted once (the sync's writes are done by then)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.known: dict[str, int] = {}

    def __call__(self, feed: str) -> int:
        if feed not in self.known:
            self.known[feed] = self.store.count(feed)
        return self.known[feed]


def _count_mismatch(counts: _Counts, feeds: dict[str, _Feed]) -> str | None:
    for name in ("objects", "spectra"):
        expected = feeds[name].accessible
        if expected is not None and expected > 0 and counts(name) != expected:
            return f"{counts(name)} local {name} but the archive has {expected}"
    return None
