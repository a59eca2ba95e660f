"""The object browser's opening page, kept beside the catalog so a fresh kernel shows rows at once.

A new kernel's ``Explorer(cf)`` used to wait for DuckDB (import, connection, the catalog
snapshot) and pyarrow before its first row. The opening page of a browser (its rows, row count,
filter vocabulary and SQL) is written to ``meta/explorer-pages.json`` once it has been queried;
the next browser opened with the same query on the same catalog (same ``catalog_version`` and
``files_version``: any sync, download or local write changes them) shows those rows at once and
builds its DuckDB table on a thread, checking the rows against it (:class:`ObjectBrowser`).

A few queries are kept, the most recent first; the file is written atomically and anything
unreadable in it is ignored (the browser then queries as usual). With nothing kept, the browser
asks DuckDB for the first page alone
(:meth:`~campfire.catalog.engine.Catalog.first_page`: no pyarrow, no numpy) and builds its table
after.

The table is built behind the opening page (:class:`Opening`) only :data:`WARM_AFTER` seconds
later, or at once when something needs it: importing pyarrow and numpy holds the interpreter
for about half a second, which would otherwise hold up the kernel sending the widgets to the
browser. Meanwhile the opening page answers the rows and positions it holds.

Examples
--------
>>> key = page_key(("12", "3"), {"filters": {}, "sort": "object_id"})
>>> len(key)
40
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["KEPT", "WARM_AFTER", "Opening", "load_page", "page_key", "save_page"]

#: How many opening pages (queries) are kept.
KEPT = 8
#: Bump when the cached state's shape changes; older entries are then ignored.
_FORMAT = 1
_FILE = "explorer-pages.json"
#: Seconds after the opening page is shown before the table behind it is built.
WARM_AFTER = 1.0
log = logging.getLogger(__name__)
_exiting = threading.Event()  # set as the interpreter starts to shut down: build no table then
_register = getattr(threading, "_register_atexit", None)  # run before threads are joined
if _register is not None:
    _register(_exiting.set)


def page_key(versions: tuple[str, str], query: dict[str, Any]) -> str:
    """The cache key of a query on a catalog at ``versions`` (a SHA-1 hex digest)."""
    text = json.dumps([_FORMAT, list(versions), query], sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()


def _read(meta_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((meta_dir / _FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_page(meta_dir: Path, key: str) -> dict[str, Any] | None:
    """The state kept for ``key`` (``rows``, ``total``, ``vocab``, ``sql``), or None."""
    entry = _read(meta_dir).get(key)
    if not isinstance(entry, dict) or not isinstance(entry.get("rows"), list):
        return None
    if not isinstance(entry.get("total"), int) or not isinstance(entry.get("vocab"), dict):
        return None
    return entry


def save_page(meta_dir: Path, key: str, state: dict[str, Any]) -> None:
    """Keep ``state`` for ``key`` (first), with the :data:`KEPT` - 1 most recent others.

    Never raises: a read-only or full disk only costs the next kernel its head start.
    """
    tmp = meta_dir / f".{_FILE}.{os.getpid()}.tmp"
    try:
        kept = {key: state, **{k: v for k, v in _read(meta_dir).items() if k != key}}
        text = json.dumps(dict(list(kept.items())[:KEPT]), allow_nan=False)
        tmp.write_text(text)
        os.replace(tmp, meta_dir / _FILE)
    except (OSError, ValueError, TypeError) as exc:
        log.info("could not keep the browser's opening page (%s)", exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


class Opening:
    """The opening page a browser shows, and the thread building its whole table behind it.

    Parameters
    ----------
    rows, total, versions
        The page's rows, the query's row count and the catalog versions they were read at.
    build
        Builds the table (run once, on a thread, ``after`` seconds from now, by default
        :data:`WARM_AFTER`, or when :meth:`wait` is called first).

    Examples
    --------
    >>> opening = Opening([{"object_id": "J1"}], 1, ("1", "1"), lambda: None, after=0)
    >>> opening.rows_for(0, 5, ("1", "1")), opening.wait()
    ([{'object_id': 'J1'}], None)
    """

    def __init__(
        self,
        rows: list[dict[str, Any]],
        total: int,
        versions: tuple[str, str],
        build: Callable[[], None],
        *,
        after: float | None = None,
    ) -> None:
        self.rows, self.total, self.versions = rows, total, versions
        # not a daemon: a build under way when the interpreter exits is waited for (a daemon
        # thread stopped inside DuckDB aborts the process)
        self.thread = threading.Thread(target=build, name="campfire-browser-table")
        self._lock = threading.Lock()
        self._timer = threading.Timer(WARM_AFTER if after is None else after, self.start)
        self._timer.daemon = True
        self._timer.start()

    def start(self) -> None:
        """Start building the table, unless it has started (or the interpreter is exiting)."""
        with self._lock:
            if self.thread.ident is None and not _exiting.is_set() and not sys.is_finalizing():
                self.thread.start()

    def wait(self) -> None:
        """Build the table now (if not started) and wait for it."""
        self._timer.cancel()
        if self.thread is not threading.current_thread():
            self.start()
            if self.thread.ident is not None:
                self.thread.join()

    def cancel(self) -> None:
        """Do not start building the table (the widget closed)."""
        self._timer.cancel()

    def rows_for(
        self, offset: int, limit: int, versions: tuple[str, str]
    ) -> list[dict[str, Any]] | None:
        """Rows ``offset`` … ``offset + limit`` if the page holds them and the catalog is still
        at ``versions``; else None.
        """
        if offset + limit > len(self.rows) and len(self.rows) < self.total:
            return None
        if versions != self.versions:
            return None
        return [dict(r) for r in self.rows[offset : offset + limit]]
