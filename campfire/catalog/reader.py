"""The client's read side of the local catalog: every read SQL the client runs against it.

:class:`CatalogReader` opens ``<data_dir>/meta/campfire.db`` when it is usable (reopening it
when a sync rebuilds the file, and ignoring it, with one logged reason, when it cannot be
used), and answers from it: single records by id from SQLite (a point lookup there is faster
than any DuckDB query), the vocabulary, filtered queries, streams and user SQL from DuckDB
(:class:`~campfire.catalog.engine.Catalog`). It never writes; syncs and downloads write
through :class:`~campfire.catalog.store.Store`.

Examples
--------
>>> reader = CatalogReader("~/campfire/meta/campfire.db")  # doctest: +SKIP
>>> reader.is_local, reader.last_synced()  # doctest: +SKIP
(True, '2026-05-01T12:00:00+00:00')
>>> reader.object_record("J021737.42-051208.5")["row"]["field"]  # doctest: +SKIP
'uds'
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campfire.catalog.columns import best_redshift
from campfire.catalog.downloads import observation_count, observation_summary, stale_files
from campfire.catalog.edits import USER_KEY
from campfire.catalog.engine import Catalog
from campfire.catalog.outbox import OutboxEntry, entries
from campfire.catalog.schema import ACTIVE_OBJECT, damage, unusable

if TYPE_CHECKING:
    from collections.abc import Iterator

    from astropy.table import Table

    from campfire.catalog.filters import Filters

__all__ = ["LIST_FIELDS", "CatalogReader"]

log = logging.getLogger("campfire.client")

#: object columns stored ';'-joined in SQLite and read back as lists
LIST_FIELDS = ("programs", "gratings", "observations", "member_target_ids")

_ACTIVE_BY_ID = f"SELECT * FROM objects WHERE object_id = ? AND {ACTIVE_OBJECT}"


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


class CatalogReader:
    """Reads of the synced catalog at ``db_path`` (see the module docstring).

    Parameters
    ----------
    db_path
        ``<data_dir>/meta/campfire.db``; it need not exist yet.

    Examples
    --------
    >>> reader = CatalogReader(settings.db_path)  # doctest: +SKIP
    >>> reader.spectrum("ember_uds_p4_prism_clear_123456")["grating"]  # doctest: +SKIP
    'PRISM'
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.db_path = Path(db_path)
        self._catalog: Catalog | None = None
        self._inode: int | None = None
        self._rejected: tuple[Any, ...] | None = None  # stat of a catalog found unusable

    # -- opening -------------------------------------------------------------------------------
    @property
    def catalog(self) -> Catalog | None:
        """The query engine over the catalog, or None when there is none or it is unusable."""
        db = self.db_path
        try:
            inode: int | None = db.stat().st_ino
        except OSError:
            inode = None
        if self._catalog is not None and inode != self._inode:
            self._catalog.close()  # the file was removed or rebuilt under us
            self._catalog = None
        if inode is None:
            return None
        if self._catalog is None:
            sig = tuple(_stat(Path(f"{db}{s}")) for s in ("", "-wal"))
            if sig == self._rejected:
                return None
            reason = unusable(db)
            if reason:
                log.warning("local catalog %s %s; working remotely", db, reason)
                self._rejected = sig
                return None
            self._catalog, self._inode = Catalog(db), inode
        return self._catalog

    @property
    def damage(self) -> str | None:
        """Why the catalog file is damaged (it exists but SQLite cannot read it), or None."""
        return damage(self.db_path)

    @property
    def is_local(self) -> bool:
        """True when the catalog exists and can be used."""
        return self.catalog is not None

    def synced(self) -> None:
        """A sync just finished: look at the file afresh and build the query snapshot now."""
        self._rejected = None
        cat = self.catalog
        if cat is None:
            return
        try:
            cat.refresh()
        except Exception as exc:  # the sync itself succeeded; the first query builds it instead
            log.warning(
                "The query snapshot was not built (%s); the first query will build it.", exc
            )

    def close(self) -> None:
        """Close the catalog's connections (they reopen on next use)."""
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> dict[str, Any] | None:
        cat = self.catalog
        if cat is None:
            return None
        with cat._lock:
            row = cat.sqlite.execute(sql, args).fetchone()
        return None if row is None else dict(row)

    def _all(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> list[Any]:
        cat = self.catalog
        if cat is None:
            return []
        with cat._lock:
            return list(cat.sqlite.execute(sql, args).fetchall())

    # -- the catalog as a whole ----------------------------------------------------------------
    def last_synced(self) -> str | None:
        """ISO timestamp of the last successful sync, or None."""
        row = self._one("SELECT value FROM _meta WHERE key='last_sync_at'")
        if row is None or not row["value"]:
            row = self._one("SELECT MAX(_synced_at) AS value FROM objects")
        return None if row is None else row["value"]

    def user(self) -> dict[str, Any]:
        """Who the catalog was last synced or written as (``{"id", "name", ...}``; ``{}`` if
        unknown): the record ``cf.me`` answers offline (:mod:`campfire.sync.user`).
        """
        row = self._one("SELECT value FROM _meta WHERE key = ?", (USER_KEY,))
        try:
            found = json.loads(row["value"]) if row is not None and row["value"] else {}
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}

    def counts(self) -> tuple[int, int, int] | None:
        """``(active objects, spectra, downloaded spectra)``, or None without a catalog."""
        row = self._one(
            f"SELECT (SELECT count(*) FROM objects WHERE {ACTIVE_OBJECT}) AS o, "
            "(SELECT count(*) FROM spectra) AS s, "
            "(SELECT count(*) FROM spectra WHERE local_path IS NOT NULL) AS d"
        )
        return None if row is None else (int(row["o"]), int(row["s"]), int(row["d"]))

    def vocabulary(self) -> dict[str, list[str]]:
        """Known ``fields``, ``gratings``, ``observations``, ``programs`` and ``tags``."""
        cat = self.catalog
        return {} if cat is None else cat.vocabulary()

    def stored_programs(self) -> str | None:
        """The program details (JSON) the last sync stored, or None."""
        row = self._one("SELECT value FROM _meta WHERE key = 'programs'")
        return None if row is None or not row["value"] else str(row["value"])

    def program_slugs(self) -> list[str]:
        """Programs of the synced spectra (that feed is access-filtered), sorted."""
        return [
            r[0]
            for r in self._all(
                "SELECT DISTINCT program_slug FROM spectra "
                "WHERE program_slug IS NOT NULL ORDER BY program_slug"
            )
        ]

    def tags(self) -> list[dict[str, Any]]:
        """Rows of ``object_lists``, system tags first, then by name."""
        return [
            dict(r)
            for r in self._all("SELECT * FROM object_lists ORDER BY is_system DESC, name, slug")
        ]

    def observation_summary(self) -> list[dict[str, Any]]:
        """Per observation: program, field, spectra, files downloaded, bytes, stale files."""
        cat = self.catalog
        if cat is None:
            return []
        with cat._lock:
            return observation_summary(cat.sqlite)

    def observation_count(self) -> int:
        """Distinct observations among the synced spectra (0 without a catalog)."""
        cat = self.catalog
        if cat is None:
            return 0
        with cat._lock:
            return observation_count(cat.sqlite)

    def stale_files(self) -> list[str]:
        """Downloaded files the archive has replaced since (their local paths)."""
        cat = self.catalog
        if cat is None:
            return []
        with cat._lock:
            return stale_files(cat.sqlite)

    # -- single records ------------------------------------------------------------------------
    def object_record(self, object_id: str) -> dict[str, Any] | None:
        """An active object by name or by one of its target ids: ``{"row", "tags",
        "photometry"}`` with list columns as lists, the best ``redshift`` and its ``spectra``.
        """
        cat = self.catalog
        if cat is None:
            return None
        with cat._lock:  # one lock, one connection, for the five lookups
            con = cat.sqlite
            found = con.execute(_ACTIVE_BY_ID, (object_id,)).fetchone()
            if found is None:  # a target id names the object it belongs to
                owner = con.execute(
                    "SELECT object_id FROM spectra WHERE target_id = ? AND object_id IS NOT NULL "
                    "LIMIT 1",
                    (object_id,),
                ).fetchone()
                found = (
                    None if owner is None else con.execute(_ACTIVE_BY_ID, (owner[0],)).fetchone()
                )
                if found is None:
                    return None
            row = dict(found)
            oid = row["object_id"]
            tags = [
                r[0]
                for r in con.execute(
                    "SELECT list_slug FROM object_list_memberships WHERE object_id = ? "
                    "ORDER BY list_slug",
                    (oid,),
                )
            ]
            phot = con.execute(
                "SELECT * FROM object_photometry WHERE object_id = ? "
                "ORDER BY catalog_name, id LIMIT 1",
                (oid,),
            ).fetchone()
            spectra = con.execute(
                "SELECT * FROM spectra WHERE object_id = ? ORDER BY spectrum_id", (oid,)
            ).fetchall()
        for key in LIST_FIELDS:
            row[key] = [v for v in (row.get(key) or "").split(";") if v]
        row["redshift"] = best_redshift(row)
        row["spectra"] = [dict(r) for r in spectra]
        return {"row": row, "tags": tags, "photometry": None if phot is None else dict(phot)}

    def object_name(self, object_id: str) -> str | None:
        """The active object an id names: its own name, or one of its target ids; else None.

        Examples
        --------
        >>> reader.object_name("ember_uds_p4_123456")  # doctest: +SKIP
        'J021737.42-051208.5'
        """
        found = self._one(_ACTIVE_BY_ID, (object_id,))
        if found is None:  # a target id names the object it belongs to
            found = self._one(
                f"SELECT * FROM objects WHERE {ACTIVE_OBJECT} AND object_id = (SELECT object_id "
                "FROM spectra WHERE target_id = ? AND object_id IS NOT NULL LIMIT 1)",
                (object_id,),
            )
        return None if found is None else str(found["object_id"])

    def spectrum(self, spectrum_id: str) -> dict[str, Any] | None:
        """One spectrum's catalog row, or None."""
        return self._one("SELECT * FROM spectra WHERE spectrum_id = ?", (spectrum_id,))

    def spectrum_to_open(self, spectrum_id: str) -> dict[str, Any] | None:
        """A spectrum's row plus its object's best ``redshift`` (``None`` if unknown)."""
        row = self._one(
            "SELECT s.*, o.redshift_quality AS _q, o.redshift_inspected AS _zi, "
            "o.redshift_auto AS _za FROM spectra s LEFT JOIN objects o "
            "ON o.object_id = s.object_id WHERE s.spectrum_id = ?",
            (spectrum_id,),
        )
        if row is None:
            return None
        q, zi, za = row.pop("_q"), row.pop("_zi"), row.pop("_za")
        row["_redshift"] = (
            None
            if q is None
            else best_redshift(
                {"redshift_quality": q, "redshift_inspected": zi, "redshift_auto": za}
            )
        )
        return row

    def resolve_objects(self, names: list[str]) -> dict[str, str | None]:
        """``name -> object id`` for object ids or target ids (None: no such active object)."""
        return {n: self.object_name(n) for n in names}

    def comments(self, object_id: str) -> list[dict[str, Any]]:
        """The comments on an object, oldest first (synced ones and those not yet sent)."""
        try:
            rows = self._all(
                "SELECT id, object_id, user_id, user_name, body, created_at, updated_at "
                "FROM comments WHERE object_id = ? ORDER BY created_at, id IS NULL, id, rowid",
                (object_id,),
            )
        except sqlite3.OperationalError:  # a catalog from before comments (the next write adds it)
            return []
        return [dict(r) for r in rows]

    def outbox(self, states: list[str] | None = None) -> list[OutboxEntry]:
        """The writes waiting in the outbox (in queue order), optionally only some states."""
        cat = self.catalog
        if cat is None:
            return []
        with cat._lock:
            try:
                return entries(cat.sqlite, states=states)
            except sqlite3.OperationalError:  # a catalog from before the outbox: none waiting
                return []

    def local_paths(self, spectrum_ids: list[str]) -> dict[str, str | None]:
        """``spectrum_id -> local_path`` for those of ``spectrum_ids`` in the catalog."""
        if not spectrum_ids:
            return {}
        marks = ",".join("?" * len(spectrum_ids))
        rows = self._all(
            f"SELECT spectrum_id, local_path FROM spectra WHERE spectrum_id IN ({marks})",
            spectrum_ids,
        )
        return {r[0]: r[1] for r in rows}

    # -- queries (DuckDB) ----------------------------------------------------------------------
    def query(self, kind: str, flt: Filters) -> Table:
        """Rows of ``objects`` or ``spectra`` matching ``flt`` (needs a catalog)."""
        return self._require().query(kind, flt)

    def iter_rows(self, kind: str, flt: Filters) -> Iterator[dict[str, Any]]:
        """Stream the rows matching ``flt`` as dicts (needs a catalog)."""
        return self._require().iter_rows(kind, flt)

    def sql(self, query: str, params: Any = None) -> Table:
        """One read-only ``SELECT`` over the catalog tables (needs a catalog)."""
        return self._require().sql(query, params)

    def _require(self) -> Catalog:
        cat = self.catalog
        if cat is None:
            from campfire.errors import NotFoundError

            raise NotFoundError(f"no local catalog at {self.db_path}; run cf.sync() first")
        return cat
