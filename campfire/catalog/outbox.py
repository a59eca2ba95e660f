"""The outbox: writes accepted locally and not yet confirmed by the archive (SQL only).

One row per write, in the order they were accepted (``seq``), each with the idempotency key
(a UUID) it was given when accepted and is always sent with, so a write sent twice (after a
crash between sending it and recording the answer) is applied once. A row is added in the same
SQLite transaction as the write's local change (:mod:`campfire.catalog.edits`), and deleted in
the same transaction as the archive's answer is applied, so a process killed at any moment
neither loses an accepted write nor applies one twice.

States: ``pending`` (waiting to be sent, or sent without an answer recorded), ``conflict``
(the archive answered 409: someone changed the record since; ``theirs`` holds its values) and
``rejected`` (the archive refused it for good: ``error`` says why). Only ``pending`` rows are
sent.

A catalog that is rebuilt (another schema version) or set aside (damaged) keeps its outbox:
:func:`keep_aside` copies the rows it can still read into a side file next to the catalog
(``campfire.db.outbox-<time>.json``) before the file is deleted or moved, and :func:`requeue`
(run at the start of every sync) puts them back in the new catalog's outbox with their own
keys, so they are pushed once, whatever happened to the file.

Examples
--------
>>> import sqlite3
>>> from campfire.catalog.schema import MIGRATIONS
>>> con = sqlite3.connect(":memory:")
>>> con.executescript([sql for n, _, sql in MIGRATIONS if n == 4][0].split("ALTER")[0])
<sqlite3.Cursor object at ...>
>>> entry = add(con, "comment", "J1", {"body": "Ha at 2.31"})
>>> [(e.kind, e.target, e.state) for e in entries(con)]
[('comment', 'J1', 'pending')]
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from campfire.catalog.schema import utc_now

__all__ = [
    "STATES",
    "OutboxEntry",
    "add",
    "entries",
    "keep_aside",
    "mark_sent",
    "rebase",
    "remove",
    "renew",
    "requeue",
    "salvage",
    "set_state",
    "side_files",
]

log = logging.getLogger("campfire.catalog")

STATES = ("pending", "conflict", "rejected")
_COLUMNS = (
    "seq, key, kind, target, payload, previous, state, attempts, created_at, sent_at, error, theirs"
)


@dataclass(frozen=True)
class OutboxEntry:
    """One write in the outbox (see the module docstring for the states).

    Attributes
    ----------
    seq
        Its place in the queue (writes are sent in this order).
    key
        The idempotency key it is sent with.
    kind
        ``inspect``, ``dq``, ``comment``, ``create_tag``, ``tag`` or ``untag``.
    target
        The object id, spectrum id (``dq``) or list slug (``create_tag``, ``tag``, ``untag``).
    payload
        The request body; keys starting ``_`` are options kept for us (``_force``).
    previous
        The local values the write replaced (restored if the archive refuses it).
    theirs
        For a conflict, the archive's current values and who set them.
    """

    seq: int
    key: str
    kind: str
    target: str
    payload: dict[str, Any]
    previous: dict[str, Any] | None
    state: str
    attempts: int
    created_at: str
    sent_at: str | None
    error: str | None
    theirs: dict[str, Any] | None

    @property
    def body(self) -> dict[str, Any]:
        """The request body to send (the payload without our ``_`` options)."""
        return {k: v for k, v in self.payload.items() if not k.startswith("_")}

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> OutboxEntry:
        """From a row selected as ``SELECT seq, key, kind, ... theirs``."""
        seq, key, kind, target, payload, previous, state, attempts, created, sent, err, theirs = row
        return cls(
            int(seq), key, kind, target, json.loads(payload),
            None if previous is None else json.loads(previous), state, int(attempts), created,
            sent, err, None if theirs is None else json.loads(theirs),
        )  # fmt: skip


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), allow_nan=False)


def add(
    con: sqlite3.Connection,
    kind: str,
    target: str,
    payload: Mapping[str, Any],
    previous: Mapping[str, Any] | None = None,
) -> OutboxEntry:
    """Queue one write with a new idempotency key (inside the caller's transaction)."""
    key = str(uuid.uuid4())
    cur = con.execute(
        "INSERT INTO outbox (key, kind, target, payload, previous, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (key, kind, target, _dumps(dict(payload)), _dumps(previous), utc_now()),
    )
    found = entries(con, seqs=[int(cur.lastrowid or 0)])
    return found[0]


def entries(
    con: sqlite3.Connection,
    *,
    states: Iterable[str] | None = None,
    seqs: Iterable[int] | None = None,
    target: str | None = None,
    kind: str | None = None,
) -> list[OutboxEntry]:
    """Outbox rows in queue order, optionally only some states, seqs, one target or kind."""
    where, args = [], []
    for column, values in (("state", states), ("seq", seqs)):
        if values is not None:
            items = list(values)
            if not items:
                return []
            where.append(f"{column} IN ({','.join('?' * len(items))})")
            args += items
    for column, value in (("target", target), ("kind", kind)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = con.execute(f"SELECT {_COLUMNS} FROM outbox{clause} ORDER BY seq", args).fetchall()
    return [OutboxEntry.from_row(tuple(r)) for r in rows]


def mark_sent(con: sqlite3.Connection, seq: int) -> None:
    """Note that a write is about to be sent (one more attempt)."""
    con.execute(
        "UPDATE outbox SET attempts = attempts + 1, sent_at = ? WHERE seq = ?", (utc_now(), seq)
    )


def set_state(
    con: sqlite3.Connection,
    seq: int,
    state: str,
    *,
    error: str | None = None,
    theirs: Mapping[str, Any] | None = None,
) -> None:
    """Set a row's state, with the error message or the archive's values of a conflict."""
    if state not in STATES:
        raise ValueError(f"unknown outbox state {state!r}")
    con.execute(
        "UPDATE outbox SET state = ?, error = ?, theirs = ? WHERE seq = ?",
        (state, error, _dumps(None if theirs is None else dict(theirs)), seq),
    )


def renew(con: sqlite3.Connection, seq: int, payload: Mapping[str, Any]) -> OutboxEntry:
    """Make a row a new write: a new payload and a new key, pending again (keep mine, force).

    The old key named the request that conflicted; sending the new body under it would only
    replay that answer, so the rewritten write gets a key of its own.
    """
    con.execute(
        "UPDATE outbox SET key = ?, payload = ?, state = 'pending', error = NULL, theirs = NULL "
        "WHERE seq = ?",
        (str(uuid.uuid4()), _dumps(dict(payload)), seq),
    )
    return entries(con, seqs=[seq])[0]


def remove(con: sqlite3.Connection, seqs: Iterable[int]) -> None:
    """Delete rows (after their answer is applied, or when the user drops them)."""
    con.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])


def rebase(con: sqlite3.Connection, entry: OutboxEntry, version: int) -> None:
    """The archive accepted ``entry`` and its record is now at ``version``: later pending
    writes of the same record that were based on the same version as ``entry`` (made before it
    was sent, so they could not know its new version) are based on ``version`` instead.

    Only rows not yet sent are rebased; one already sent keeps the body its key was sent with.
    """
    base = entry.payload.get("expected_version")
    for later in entries(con, states=["pending"], target=entry.target, kind=entry.kind):
        if later.seq > entry.seq and later.payload.get("expected_version") == base:
            if later.sent_at is not None:
                continue
            payload = {**later.payload, "expected_version": version}
            con.execute("UPDATE outbox SET payload = ? WHERE seq = ?", (_dumps(payload), later.seq))


# -- carrying the outbox across a rebuilt or set-aside catalog -----------------------------------
_KEEP = ("pending", "conflict")  # a rejected row is reported once and gone


def salvage(db: Path) -> list[dict[str, Any]]:
    """The outbox rows (pending or in conflict) still readable in the catalog file ``db``.

    Read-only and forgiving: a catalog without an outbox gives ``[]``; in a damaged file the
    rows are read one by one, so a damaged page loses only the rows on it.
    """
    try:
        con = sqlite3.connect(f"file:{db.as_posix()}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    try:
        try:
            rows = con.execute(f"SELECT {_COLUMNS} FROM outbox ORDER BY seq").fetchall()
        except sqlite3.DatabaseError as exc:
            if "no such table" in str(exc):
                return []
            rows = _one_by_one(con)
    finally:
        con.close()
    cols = [c.strip() for c in _COLUMNS.split(",")]
    return [dict(zip(cols, r, strict=True)) for r in rows if r[6] in _KEEP]


def _one_by_one(con: sqlite3.Connection) -> list[tuple[Any, ...]]:
    top = 0
    tops = ("SELECT max(seq) FROM outbox", "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")
    for sql in tops:
        try:
            top = max(top, int((con.execute(sql).fetchone() or [0])[0] or 0))
        except (sqlite3.DatabaseError, ValueError, TypeError):
            continue
    rows = []
    for seq in range(1, top + 1):
        try:
            row = con.execute(f"SELECT {_COLUMNS} FROM outbox WHERE seq = ?", (seq,)).fetchone()
        except sqlite3.DatabaseError:
            continue
        if row is not None:
            rows.append(tuple(row))
    return rows


def side_files(db: Path) -> list[Path]:
    """The outbox side files kept next to the catalog ``db``, oldest first."""
    return sorted(db.parent.glob(f"{db.name}.outbox-*.json"))


def keep_aside(db: Path) -> Path | None:
    """Copy ``db``'s outbox into a side file before the catalog is deleted or moved.

    Returns the side file (written whole, then renamed into place), or None when there was
    nothing to keep.
    """
    rows = salvage(db)
    if not rows:
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    side = db.with_name(f"{db.name}.outbox-{stamp}-{uuid.uuid4().hex[:8]}.json")
    tmp = side.with_name(side.name + ".part")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"catalog": db.name, "outbox": rows}, f)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(side)
    log.warning("kept %d unsent write(s) of %s in %s", len(rows), db.name, side.name)
    return side


def requeue(con: sqlite3.Connection, db: Path) -> tuple[int, list[Path]]:
    """Put the writes of ``db``'s side files back in its outbox (inside the caller's
    transaction), with their keys: ``(rows added, side files read)``; delete the files after
    the transaction commits. A key already in the outbox is not added twice.
    """
    added, read = 0, []
    for side in side_files(db):
        try:
            kept = json.loads(side.read_text(encoding="utf-8")).get("outbox") or []
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("could not read the kept writes in %s (%s); left in place", side, exc)
            continue
        read.append(side)
        for r in kept:
            cur = con.execute(
                "INSERT INTO outbox (key, kind, target, payload, previous, state, attempts, "
                "created_at, sent_at, error, theirs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO NOTHING",
                (r["key"], r["kind"], r["target"], r["payload"], r["previous"], r["state"],
                 int(r.get("attempts") or 0), r["created_at"], r.get("sent_at"), r.get("error"),
                 r.get("theirs")),
            )  # fmt: skip
            added += cur.rowcount
    return added, read
