"""The bulk incremental feeds: ``/sync/objects``, ``/sync/spectra``, ``/sync/photometry``,
``/sync/lists``.

Rows are precomputed JSON (``sync_json``) joined into the answer as text, so a page is one walk
of a covering index and a string join. Paging is by offset (the contract), but the server
remembers where each page it served ended, so the next page continues from that key instead of
re-counting the offset: sequential paging costs the same on page 100 as on page 1.

With ``updated_since=T`` a feed also re-sends rows of programs whose access changed for the
caller after T; with ``include_deleted=true`` page 0 adds ``deleted``: keys of rows deleted,
deactivated or made inaccessible since T (``sync-deletions``).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections import OrderedDict
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campfire.server.auth.access import Principal, program_changes
from campfire.server.catalog.kept import KeptAnswers
from campfire.server.catalog.lists import list_json, private_memberships, visible_lists
from campfire.server.catalog.visibility import visible_object_doc
from campfire.server.http.replies import (
    Params,
    data_error,
    raw_json,
    require_principal,
)
from campfire.server.routes.catalog import page_args
from campfire.server.storage.database import parse_ts

__all__ = ["ROUTES", "Feed", "PageCursors", "object_row"]

_EMPTY = '{"data":[],"pagination":{"total":0,"limit":0,"offset":0}}'
_AUTH = "Invalid or missing authentication"


def _in(values: set[str] | frozenset[str] | list[str]) -> tuple[str, list[str]]:
    vals = sorted(values)
    return ",".join("?" * len(vals)), vals


class PageCursors:
    """Where served pages ended: ``(query signature, offset) -> last sort key`` (LRU).

    Entries expire after ``ttl`` seconds: a client pages through a feed within minutes, and a
    request that jumps to an offset long after falls back to a plain ``OFFSET``.
    """

    def __init__(self, size: int = 4096, ttl: float = 600.0) -> None:
        self._lock = threading.Lock()
        self._data: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
        self._size = size
        self._ttl = ttl

    def get(self, key: tuple[Any, ...]) -> Any:
        """The sort key a page ending at this offset stopped at, or None."""
        with self._lock:
            entry = self._data.get(key)
            if entry is None or time.monotonic() - entry[0] > self._ttl:
                return None
            self._data.move_to_end(key)
            return entry[1]

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        """Remember where a page ended."""
        with self._lock:
            self._data[key] = (time.monotonic(), value)
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


class _Feed:
    """One feed request: paging, cursor, access changes, and the page query."""

    def __init__(self, request: Request, principal: Principal) -> None:
        p = Params(request.query_params)
        self.limit, self.offset = page_args(p)
        raw = p.str("updated_since")
        try:
            self.since = parse_ts(raw) if raw is not None else None
        except ValueError:
            raise data_error(
                400, f"Invalid parameter: updated_since must be an ISO-8601 timestamp (got {raw!r})"
            ) from None
        self.counts = (request.query_params.get("include_counts") or "") != "false"
        self.deleted = (p.bool("include_deleted") or False) and self.since is not None
        db = request.app.state.archive.db
        self.kept: KeptAnswers = request.app.state.kept
        self.generation: int = db.generation()  # read before any answer is computed
        self.conn: sqlite3.Connection = db.conn()
        self.cursors: PageCursors = request.app.state.page_cursors
        self.principal = principal
        self.gained, self.lost, self.when = program_changes(self.conn, principal, self.since)

    def keys(self, programs: set[str] | frozenset[str]) -> list[str]:
        """The ``objects.programs_key`` values that involve any of ``programs``."""
        out = []
        for (key,) in self.conn.execute("SELECT key FROM program_keys"):
            if key and not programs.isdisjoint(key.split(";")):
                out.append(key)
        return out

    def page(self, name: str, select: str, table: str, where: str, args: list[Any],
             order: str) -> list[Any]:  # fmt: skip
        """One page of ``select`` (its first column is ``order``), continuing a previous page
        by key when this request's offset is where that page ended.
        """
        # a digest of the query, not the query: thousands of remembered pages stay small
        sig = hashlib.blake2b(repr((name, table, where, args)).encode(), digest_size=16).digest()
        empty = ("empty", sig, self.offset, self.limit)
        if self.kept.peek(self.generation, empty) is not None:
            return []  # this page was empty and the catalog has not changed since
        after = self.cursors.get((sig, self.offset)) if self.offset else None
        if after is not None:
            sql = (
                f"SELECT {select} FROM {table} WHERE ({where}) AND {order} > ? "
                f"ORDER BY {order} LIMIT ?"
            )
            rows = self.conn.execute(sql, [*args, after, self.limit]).fetchall()
        else:
            sql = f"SELECT {select} FROM {table} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
            rows = self.conn.execute(sql, [*args, self.limit, self.offset]).fetchall()
        if rows:
            self.cursors.put((sig, self.offset + len(rows)), rows[-1][0])
        else:  # what a no-op incremental sync asks for, every time
            self.kept.put(self.generation, empty, True)
        return rows

    def count(self, table: str, where: str, args: list[Any]) -> int:
        """``count(*)`` of a filter, kept until the catalog changes (a total walks an index)."""
        sql = f"SELECT count(*) FROM {table} WHERE {where}"
        return self.kept.get(
            self.generation,
            ("count", sql, *args),
            lambda: int(self.conn.execute(sql, args).fetchone()[0]),
        )

    def totals(self, table: str, where: str, args: list[Any], base: str,
               base_args: list[Any], base_table: str | None = None,
               ) -> tuple[int | None, int]:  # fmt: skip
        """``total`` (of ``where``) and ``total_accessible_count`` (of ``base``, counted in
        ``base_table``, default ``table``), or ``(None, 0)`` when the caller asked for no counts.
        """
        if not self.counts:
            return None, 0
        return self.count(table, where, args), self.count(base_table or table, base, base_args)

    def stamp(self, text: str, updated_at: str, programs_key: str | None) -> str:
        """The row's ``updated_at`` as this user sees it: never earlier than the latest change
        of their access to its programs. A row re-sent because access changed thus moves the
        client's cursor past that change, so it is sent once, not on every sync.
        """
        if not self.when or not programs_key:
            return text
        changed = max((self.when.get(p, "") for p in programs_key.split(";")), default="")
        if changed <= updated_at:
            return text
        return text.replace(f'"updated_at":"{updated_at}"', f'"updated_at":"{changed}"', 1)

    def stamped(self, rows: list[Any], text: int, at: int, key: int) -> list[str]:
        """:meth:`stamp` of every row (columns ``text``, ``at`` and ``key`` of each); the rows'
        own text when the caller's access changed after none of them could (most pages).
        """
        if not self.when:
            return [r[text] for r in rows]
        return [self.stamp(r[text], r[at], r[key]) for r in rows]

    def envelope(self, parts: list[str], total: int | None, accessible: int | None,
                 deleted: list[Any] | None) -> Response:  # fmt: skip
        """The answer: rows (already JSON), pagination, counts and deletions.

        A page is megabytes of row text: the envelope's head and tail go onto the first and
        last rows, so one join makes the body (not a copy of the whole page per piece added).
        """
        tail = ['],"pagination":']
        tail.append(json.dumps({"total": total or 0, "limit": self.limit, "offset": self.offset}))
        if accessible is not None:
            tail.append(f',"total_accessible_count":{accessible}')
        if deleted is not None:
            tail.append(',"deleted":' + json.dumps(deleted))
        tail.append("}")
        if not parts:
            return raw_json('{"data":[' + "".join(tail))
        items = list(parts)
        items[0] = '{"data":[' + items[0]
        items[-1] += "".join(tail)
        return raw_json(",".join(items))

    def widen(self, base: str, args: list[Any], stamp: str, owner: str,
              changed: list[str]) -> tuple[str, list[Any]]:  # fmt: skip
        """``base`` and, with ``updated_since``, only rows updated since (``stamp`` column) or
        whose ``owner`` is among ``changed`` (access gained since then).
        """
        where, args = base, list(args)
        if self.since is not None and changed:
            m, v = _in(changed)
            where += f" AND ({stamp} > ? OR {owner} IN ({m}))"
            args += [self.since, *v]
        elif self.since is not None:  # a plain range: the updated_at index can serve it
            where = f"{stamp} > ? AND {where}"
            args = [self.since, *args]
        return where, args

    def recent(self, table: str, index: str, changed: list[str]) -> str | None:
        """``table`` walked by its ``updated_at`` ``index``, for an ``updated_since`` request
        that re-sends nothing for access changes: only rows changed since are read (a no-op
        sync reads none), not every row in key order. None otherwise.
        """
        return f"{table} INDEXED BY {index}" if self.since is not None and not changed else None

    def deletions(self, kind: str, lost_sql: str, lost: list[str], live_sql: str,
                  live_args: list[Any]) -> list[str] | None:  # fmt: skip
        """``deleted`` for page 0 of an ``include_deleted`` request, else None: tombstones plus
        the keys ``lost_sql`` finds for ``lost`` owners (a ``{m}`` placeholder), minus live keys.
        """
        if not self.deleted or self.offset != 0:
            return None
        gone: set[str] = set()
        if self.lost:
            m, v = _in(lost)
            gone = {str(r[0]) for r in self.conn.execute(lost_sql.format(m=m), v)}
        return self.tombstones(kind, gone, live_sql, live_args)

    def tombstones(
        self, kind: str, extra: set[str], live_sql: str, live_args: list[Any]
    ) -> list[str]:
        """Keys of ``kind`` deleted since T in programs the caller has or lost, plus ``extra``,
        minus keys that are live again (``live_sql`` has a ``{m}`` placeholder for the keys).
        """
        rows = self.conn.execute(
            "SELECT key, programs FROM tombstones WHERE kind = ? AND deleted_at > ?",
            (kind, self.since),
        ).fetchall()
        seen = self.principal.programs | self.lost
        keys = {r[0] for r in rows if not seen.isdisjoint(json.loads(r[1]))} | extra
        if not keys:
            return []
        m, v = _in(keys)
        live = {str(r[0]) for r in self.conn.execute(live_sql.format(m=m), [*v, *live_args])}
        return sorted(keys - live)


#: the feed machinery, for feeds defined in other route modules (``/sync/comments``)
Feed = _Feed


def _object_filterer(conn: Any, progs: frozenset[str]) -> Any:
    obs_prog = dict(conn.execute("SELECT observation, program_slug FROM observations"))
    ok = {o: prog for o, prog in obs_prog.items() if prog in progs}
    cache: dict[str, bool] = {}

    def visible_all(key: str) -> bool:
        if key not in cache:
            cache[key] = set(key.split(";")) <= progs
        return cache[key]

    def restrict(text: str) -> str:  # the visible targets, spectra and aggregates only (#12)
        return json.dumps(visible_object_doc(json.loads(text), ok), separators=(",", ":"))

    return visible_all, restrict


def _with_lists(text: str, slugs: list[str] | None) -> str:
    """An object's JSON with the caller's own private lists added to its ``lists``."""
    if not slugs:
        return text
    doc = json.loads(text)
    doc["lists"] = sorted({*doc["lists"], *slugs})
    return json.dumps(doc, separators=(",", ":"))


def object_row(conn: sqlite3.Connection, principal: Principal, pk: int) -> dict[str, Any]:
    """One object's ``/sync/objects`` row exactly as this user's feed would give it."""
    text, key = conn.execute(
        "SELECT sync_json, programs_key FROM objects WHERE id = ?", (pk,)
    ).fetchone()
    visible_all, restrict = _object_filterer(conn, principal.programs)
    own = private_memberships(conn, principal.user_id, [pk])
    row: dict[str, Any] = json.loads(
        _with_lists(text if visible_all(key) else restrict(text), own.get(pk))
    )
    return row


def sync_objects(request: Request) -> Response:
    """``GET /sync/objects``: active accessible objects by ``object_id``."""
    principal = require_principal(request, _AUTH)
    if not principal.programs:
        return raw_json(_EMPTY)
    feed = _Feed(request, principal)
    acc_m, acc = _in(feed.keys(principal.programs))
    table = "objects o INDEXED BY idx_objects_feed"
    base = f"o.is_active = 1 AND o.programs_key IN ({acc_m})"
    changed = feed.keys(feed.gained | feed.lost)
    where, args = feed.widen(base, acc, "o.updated_at", "o.programs_key", changed)
    recent = feed.recent("objects o", "idx_objects_updated", changed) or table
    rows = feed.page("objects", "o.object_id, o.sync_json, o.programs_key, o.updated_at, o.id",
                     recent, where, args, "o.object_id")  # fmt: skip
    visible_all, restrict = _object_filterer(feed.conn, principal.programs)
    own = private_memberships(feed.conn, principal.user_id, [r[4] for r in rows])
    parts = [
        feed.stamp(_with_lists(r[1] if visible_all(r[2]) else restrict(r[1]), own.get(r[4])),
                   r[3], r[2])
        for r in rows
    ]  # fmt: skip
    total, accessible = feed.totals(recent, where, args, base, acc, table)
    deleted = feed.deletions(
        "object",
        f"SELECT o.object_id FROM {table} WHERE o.programs_key IN ({{m}})",
        feed.keys(feed.lost),
        f"SELECT o.object_id FROM objects o WHERE o.object_id IN ({{m}}) AND {base}",
        acc,
    )
    return feed.envelope(parts, total, accessible, deleted)


def sync_spectra(request: Request) -> Response:
    """``GET /sync/spectra``: accessible spectra (parent object active) by ``spectrum_id``."""
    principal = require_principal(request, _AUTH)
    if not principal.programs:
        return raw_json(_EMPTY)
    feed = _Feed(request, principal)
    m, acc = _in(principal.programs)
    table = "spectra s INDEXED BY idx_spectra_feed"
    base = (
        f"s.program_slug IN ({m}) AND (s.object_pk IS NULL OR s.object_pk NOT IN "
        "(SELECT id FROM objects WHERE is_active = 0))"
    )
    gained = sorted(feed.gained)
    where, args = feed.widen(base, acc, "s.updated_at", "s.program_slug", gained)
    recent = feed.recent("spectra s", "idx_spectra_updated", gained) or table
    rows = feed.page("spectra", "s.spectrum_id, s.sync_json, s.updated_at, s.program_slug",
                     recent, where, args, "s.spectrum_id")  # fmt: skip
    total, accessible = feed.totals(recent, where, args, base, acc, table)
    deleted = feed.deletions(
        "spectrum",
        "SELECT spectrum_id FROM spectra WHERE program_slug IN ({m})",
        sorted(feed.lost),
        f"SELECT s.spectrum_id FROM spectra s WHERE s.spectrum_id IN ({{m}}) AND {base}",
        acc,
    )
    return feed.envelope(feed.stamped(rows, 1, 2, 3), total, accessible, deleted)


def sync_photometry(request: Request) -> Response:
    """``GET /sync/photometry``: photometry of accessible objects by ``id``."""
    principal = require_principal(request, _AUTH)
    if not principal.programs:
        return raw_json(_EMPTY)
    feed = _Feed(request, principal)
    m, acc = _in(feed.keys(principal.programs))
    owner = "(SELECT programs_key FROM objects WHERE id = ph.object_pk)"
    base = f"{owner} IN ({m})"
    gained = feed.keys(feed.gained)
    where, args = feed.widen(base, acc, "ph.updated_at", owner, gained)
    recent = feed.recent("photometry ph", "idx_photometry_updated", gained) or "photometry ph"
    rows = feed.page("photometry", f"ph.id, ph.sync_json, ph.updated_at, {owner}",
                     recent, where, args, "ph.id")  # fmt: skip
    total = feed.count(recent, where, args)
    deleted = feed.deletions(
        "photometry",
        f"SELECT ph.id FROM photometry ph WHERE {owner} IN ({{m}})",
        feed.keys(feed.lost),
        f"SELECT ph.id FROM photometry ph WHERE ph.id IN ({{m}}) AND {base}",
        acc,
    )
    ids = None if deleted is None else sorted(int(k) for k in deleted)  # photometry ids are ints
    return feed.envelope(feed.stamped(rows, 1, 2, 3), total, None, ids)


def sync_lists(request: Request) -> Response:
    """``GET /sync/lists``: the lists the caller can see, system lists first, each with the
    ``object_ids`` of its members the caller can see.
    """
    principal = require_principal(request, _AUTH)
    db = request.app.state.archive.db
    generation = db.generation()
    kept: KeptAnswers = request.app.state.kept

    def answer() -> str:
        conn = db.conn()
        lists = list_json(conn, principal, visible_lists(conn, principal.user_id))
        return json.dumps({"data": lists}, separators=(",", ":"), allow_nan=False)

    # the members of every list, each sync: kept per caller until the catalog changes
    key = ("lists", principal.user_id, principal.is_admin, tuple(sorted(principal.programs)))
    return raw_json(kept.get(generation, key, answer))


ROUTES = [
    Route("/sync/objects", sync_objects),
    Route("/sync/spectra", sync_spectra),
    Route("/sync/photometry", sync_photometry),
    Route("/sync/lists", sync_lists),
]
