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
import sqlite3
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from campfire.catalog.schema import utc_now

__all__ = [
    "STATES",
    "OutboxEntry",
    "add",
    "entries",
    "mark_sent",
    "rebase",
    "remove",
    "renew",
    "set_state",
]

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
