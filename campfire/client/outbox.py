"""How the client saves a write: locally at once, then to the archive when it can.

:func:`accept` applies writes to the local catalog and queues them in the outbox in one SQLite
transaction (``campfire/catalog/edits.py``, ``outbox.py``), then updates the rows of the DuckDB
query tables the writes changed in place (``campfire/catalog/patch.py``), so the next query, the
explorer and ``campfire sql`` see them without a reload. :func:`push_now` then sends the queue
(``campfire/sync/outbox.py``) unless ``CAMPFIRE_OFFLINE=1``; an archive that cannot be reached
leaves the writes queued for the next ``cf.sync()`` / ``cf.push()``. :class:`Outbox` is what
``cf.outbox`` shows.

Examples
--------
>>> entries = accept(cf, [Write("inspect", "J1", {"redshift_quality": 4,
...                                               "expected_version": 3})])  # doctest: +SKIP
>>> report = push_now(cf)  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from campfire.catalog import changes, edits, outbox
from campfire.catalog.outbox import OutboxEntry
from campfire.catalog.patch import FEW, patch_inspections, patch_objects
from campfire.catalog.store import Store
from campfire.errors import CampfireError, NotFoundError
from campfire.sync.outbox import PushReport, describe, push_outbox
from campfire.sync.user import refresh_user, stored_user

if TYPE_CHECKING:
    from astropy.table import Table

    from campfire.client.core import Campfire

__all__ = [
    "Outbox",
    "Write",
    "accept",
    "need_catalog",
    "open_store",
    "push_now",
    "update_in_place",
]

log = logging.getLogger("campfire.client")


@dataclass(frozen=True)
class Write:
    """One write to accept: its kind, target and request body (``force`` to win a conflict)."""

    kind: str
    target: str
    body: dict[str, Any] = field(default_factory=dict)
    force: bool = False


def need_catalog(cf: Campfire) -> None:
    """Raise :class:`NotFoundError` (saying what to do) when there is no synced catalog."""
    if not cf.reader.is_local:
        raise NotFoundError(
            f"Inspecting needs the synced catalog, and there is none at {cf.settings.db_path}. "
            "Run cf.sync() (or campfire sync) once while online, then inspect (offline too)."
        )


def open_store(cf: Campfire) -> Store:
    """The catalog store for writing; :class:`NotFoundError` when there is no synced catalog."""
    need_catalog(cf)
    return Store(cf.settings.db_path, create=False)


def _me(cf: Campfire, store: Store) -> dict[str, Any]:
    """Who is writing (from the last sync; asked once from the archive if unknown and online)."""
    me = stored_user(store)
    if me or cf.settings.offline:
        return me
    return refresh_user(cf.api, store, force=True)  # unreachable: the name comes with the sync


def update_in_place(
    cf: Campfire,
    span: tuple[int, int] | None,
    touched: set[str],
    kinds: Collection[str] = ("create_tag",),
) -> None:
    """Update the DuckDB rows of ``touched`` objects after writes (of ``kinds``) that took the
    catalog from ``span[0]`` to ``span[1]`` (else the next query reloads the tables).
    """
    cat = cf.reader.catalog
    if cat is None or span is None:
        return
    patch: Callable[[Any, Any], None]
    if set(kinds) <= {"inspect", "dq", "comment"} and len(touched) <= FEW:
        patch = functools.partial(patch_inspections, ids=touched, kinds=set(kinds))
    else:
        patch = functools.partial(patch_objects, ids=touched)
    cat.apply_in_place(span[0], span[1], patch)


def accept(cf: Campfire, writes: Sequence[Write]) -> list[OutboxEntry]:
    """Apply ``writes`` to the local catalog and queue them, in one transaction.

    A new inspection (or DQ write) of a record replaces a conflict of the same record still in
    the outbox: it says what the user wants now.
    """
    with open_store(cf) as store:
        me = _me(cf, store)
        added: list[OutboxEntry] = []
        touched: set[str] = set()
        with store.transaction() as con:
            before = store.catalog_version
            for w in writes:
                if w.kind in ("inspect", "dq"):
                    stale = outbox.entries(con, states=["conflict"], target=w.target, kind=w.kind)
                    outbox.remove(con, [e.seq for e in stale])
                previous = edits.capture(con, w.kind, w.target, w.body)
                payload = {**w.body, "_force": True} if w.force else dict(w.body)
                entry = outbox.add(con, w.kind, w.target, payload, previous)
                touched |= edits.apply_local(con, w.kind, w.target, w.body, me, entry.key)
                added.append(entry)
            after = store.bump("catalog_version")
            changes.record_objects(con, after, touched)  # other processes patch, not rebuild
    update_in_place(cf, (before, after), touched, {w.kind for w in writes})
    return added


def push_now(cf: Campfire) -> PushReport | None:
    """Send the outbox now (one attempt per write); None when offline or the send failed.

    Nothing is lost either way: what was not sent waits for the next ``cf.sync()``.
    """
    if cf.settings.offline:
        return None
    try:
        with open_store(cf) as store:
            report = push_outbox(cf.api, store, stored_user(store), retry=False)
    except CampfireError as exc:
        log.warning("Saved locally; it goes to the archive at the next cf.sync() (%s)", exc)
        return None
    if report.error:
        log.info(
            "Saved locally; %d write(s) wait for the archive (%s)", report.waiting, report.error
        )
    kinds = {e.kind for e in [*report.conflicts, *report.rejected]} | report.kinds
    update_in_place(cf, report.span, report.touched, kinds)
    return report


class Outbox(Sequence[OutboxEntry]):
    """The writes not yet confirmed by the archive (``cf.outbox``), oldest first.

    Each item is an :class:`~campfire.catalog.outbox.OutboxEntry` (``kind``, ``target``,
    ``state``, ``payload``, ``theirs`` ...); ``len(cf.outbox)`` counts them,
    :attr:`conflicts` lists those in conflict, :meth:`to_table` gives an astropy Table.

    Examples
    --------
    >>> len(cf.outbox), [e.state for e in cf.outbox]  # doctest: +SKIP
    (2, ['pending', 'conflict'])
    """

    def __init__(self, items: Sequence[OutboxEntry]) -> None:
        self._items = list(items)

    @overload
    def __getitem__(self, index: int) -> OutboxEntry: ...
    @overload
    def __getitem__(self, index: slice) -> Outbox: ...
    def __getitem__(self, index: int | slice) -> OutboxEntry | Outbox:
        if isinstance(index, slice):
            return Outbox(self._items[index])
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[OutboxEntry]:
        return iter(self._items)

    @property
    def conflicts(self) -> Outbox:
        """The writes in conflict (someone changed the record first)."""
        return Outbox([e for e in self._items if e.state == "conflict"])

    def to_table(self) -> Table:
        """``seq, kind, target, state, mine, theirs, by, created_at`` as an astropy Table."""
        from astropy.table import Table

        rows = [describe(e) for e in self._items]
        names = ("seq", "kind", "target", "state", "mine", "theirs", "by", "created_at")
        return Table(
            rows=[
                (
                    r["seq"], r["kind"], r["target"], r["state"], _short(r["mine"]),
                    _short(_values(r.get("theirs"))), (r.get("theirs") or {}).get("by") or "",
                    r["created_at"],
                )
                for r in rows
            ],
            names=names,
            dtype=(int, str, str, str, str, str, str, str),
        )  # fmt: skip

    def __repr__(self) -> str:
        if not self._items:
            return "Outbox(empty: every write has reached the archive)"
        lines = [f"Outbox({len(self)} write(s) not yet confirmed by the archive)"]
        for r in map(describe, self._items):
            theirs = r.get("theirs")
            extra = f"; theirs {_short(_values(theirs))} by {theirs.get('by')}" if theirs else ""
            lines.append(f"  {r['state']:<8} {r['kind']} {r['target']}: {_short(r['mine'])}{extra}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if not self._items:
            return "<p>Outbox: empty (every write has reached the archive)</p>"
        table = self.to_table()
        head = "".join(f"<th>{html.escape(n)}</th>" for n in table.colnames)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
            for row in table.iterrows()
        )
        return f"<table><caption>campfire outbox</caption><tr>{head}</tr>{body}</table>"


def _values(theirs: dict[str, Any] | None) -> dict[str, Any]:
    if not theirs:
        return {}
    keys = ("redshift_inspected", "redshift_quality", "dq_flags", "version")
    return {k: theirs.get(k) for k in keys if theirs.get(k) is not None}


def _short(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items() if k != "expected_version")
