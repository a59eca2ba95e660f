"""Where one process's query tables live: a published snapshot file attached read-only, the
process's own writable copy of one, or memory.

A new process attaches the published snapshot of the store's current version
(:func:`~campfire.catalog.snapshot.snapshot_path`) read-only, which reads nothing until a query
does. Tables are changed only in a file of the process's own: :meth:`TableFile.writable` copies
the attached snapshot once (copy on write), and a full build writes into one from the start and
then publishes a copy for other processes (:meth:`TableFile.publish`). A folder that cannot be
written leaves the tables in memory, as before snapshots existed.

Examples
--------
>>> files = TableFile(duck, Path("meta/snapshot"))  # doctest: +SKIP
>>> files.open(Path("meta/snapshot/catalog-c12-f3.duckdb"))  # doctest: +SKIP
True
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from campfire.catalog.snapshot import private_path, remove_stale, spill_path

if TYPE_CHECKING:
    import duckdb

__all__ = ["BUILD_MEMORY", "TableFile"]

log = logging.getLogger("campfire.catalog.engine")

#: DuckDB's memory limit while a build fills the tables (measured at 1M objects and 3M spectra:
#: peak RSS 3.0 GB uncapped; see benchmarks/bench_catalog.py --scale-only)
BUILD_MEMORY = "512MB"

_ALIAS = "cat"  # the attached database every query table lives in (``USE cat``)


def _literal(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class TableFile:
    """The database holding one :class:`~campfire.catalog.engine.Catalog`'s query tables.

    Parameters
    ----------
    duck
        The catalog's DuckDB connection (tables are attached to it as ``cat``).
    folder
        Where snapshots are published and private copies are made.
    """

    def __init__(self, duck: duckdb.DuckDBPyConnection, folder: Path) -> None:
        self.duck, self.folder = duck, folder
        self.path: Path | None = None  # the attached file (None: memory, or nothing yet)
        self.private = False  # the attached file (or memory) is this process's to change
        self.attached = False
        self.filled = False  # the attached database holds the query tables
        self.spill = spill_path(folder)  # where a capped build spills (made only if it does)
        self.spill_set = False

    def _attach(self, path: Path | None, *, writable: bool) -> None:
        duck = self.duck
        duck.execute("USE memory")
        old, was_private = self.path, self.private and self.path is not None
        if self.attached:
            duck.execute(f"DETACH {_ALIAS}")
        self.attached, self.path, self.private, self.filled = False, None, False, False
        if was_private and old is not None and old != path:
            with contextlib.suppress(OSError):
                old.unlink()
                Path(f"{old}.wal").unlink(missing_ok=True)
        target = ":memory:" if path is None else str(path)
        mode = "" if writable or path is None else " (READ_ONLY)"
        duck.execute(f"ATTACH {_literal(target)} AS {_ALIAS}{mode}")
        duck.execute(f"USE {_ALIAS}")
        self.attached, self.path, self.private = True, path, writable or path is None
        self.filled = path is not None and not writable  # a published snapshot is complete

    def open(self, path: Path) -> bool:
        """Attach the published snapshot ``path`` read-only; False if it is missing or
        unreadable (torn, or not ours): the caller builds instead.
        """
        import duckdb

        if not path.is_file():
            return False
        try:
            self._attach(path, writable=False)
            self.duck.execute("SELECT count(*) FROM objects WHERE false").fetchall()
        except duckdb.Error as exc:
            log.info("catalog snapshot %s unreadable (%s); rebuilding", path.name, exc)
            self.memory()
            return False
        return True

    def memory(self) -> None:
        """Hold the tables in memory (a new, empty database)."""
        self._attach(None, writable=True)

    def fresh(self) -> None:
        """A new, empty private file to build the tables in (memory if none can be made)."""
        import duckdb

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._attach(private_path(self.folder), writable=True)
        except (OSError, duckdb.Error) as exc:
            log.info("catalog tables kept in memory (%s)", exc)
            self.memory()

    def writable(self) -> None:
        """Make the attached tables this process's to change: copy a shared snapshot to a file
        of its own first (once; later changes go to that copy).
        """
        if self.attached and self.private:
            return
        if self.path is None:
            raise RuntimeError("no catalog tables are open")
        mine = private_path(self.folder)
        shutil.copyfile(self.path, mine)
        self._attach(mine, writable=True)
        self.filled = True

    def publish(self, final: Path) -> None:
        """Copy the private tables to ``final`` for other processes (and new ones); drop older
        snapshots. Logged and skipped if it cannot be written or the tables are in memory.
        """
        import duckdb

        if self.path is None or not self.private:
            return
        tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
        try:
            self.duck.execute("CHECKPOINT")
            shutil.copyfile(self.path, tmp)
            os.replace(tmp, final)
            remove_stale(self.folder, keep=final)
        except (OSError, duckdb.Error) as exc:
            log.info("no catalog snapshot published in %s (%s)", self.folder, exc)
            tmp.unlink(missing_ok=True)

    @contextlib.contextmanager
    def building(self) -> Iterator[None]:
        """Cap DuckDB's memory at :data:`BUILD_MEMORY` while a build fills a private file,
        spilling to a folder of the process's own beside it; insertion order is not kept
        (every derived table sorts explicitly). Uncapped when the tables are in memory.
        """
        import duckdb

        capped = False
        if self.path is not None and self.private:
            try:
                if not self.spill_set:
                    self.duck.execute(f"SET temp_directory = {_literal(self.spill)}")
                    self.spill_set = True
                self.duck.execute(f"SET memory_limit = '{BUILD_MEMORY}'")
                self.duck.execute("SET preserve_insertion_order = false")
                capped = True
            except duckdb.Error as exc:
                log.info("catalog build not memory-capped (%s)", exc)
        try:
            yield
        finally:
            if capped:
                self.duck.execute("RESET memory_limit")
                self.duck.execute("RESET preserve_insertion_order")

    def close(self) -> None:
        """Forget the tables (the connection is being closed); delete a private copy."""
        shutil.rmtree(self.spill, ignore_errors=True)
        if self.private and self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
                Path(f"{self.path}.wal").unlink(missing_ok=True)
        self.attached, self.path, self.private, self.filled = False, None, False, False
