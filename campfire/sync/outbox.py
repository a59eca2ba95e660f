"""Pushing the outbox: send queued writes in order, and apply each answer as it comes.

:func:`push_outbox` sends the ``pending`` writes of the outbox (:mod:`campfire.catalog.outbox`)
in the order they were accepted, each with its stored idempotency key, and for each answer runs
one SQLite transaction that applies it and, for an applied write, deletes the row:

* **2xx** (applied, or replayed by the archive because it had applied it before): the
  archive's values replace the local guess; later writes of the same record made on the same
  version are moved onto the new one (they could not know it);
* **409 version_conflict**: someone changed the record since. A forced write (``force=True``)
  is made again on the current version under a new key; any other becomes a ``conflict``: the
  local record shows the archive's values, the row keeps both, and nothing is overwritten;
* **429, 5xx, no answer**: the archive is busy or unreachable; this write and every later one
  wait for the next push (their order is kept);
* **any other 4xx**: the archive refused it for good (it cannot see the record, the user may
  not inspect, a value out of range): the row is removed and reported (``rejected``, with the
  archive's message), and what the write replaced locally comes back.

When the archive announces ``inspections-batch``, a run of queued inspections (one per object,
at most ``BATCH``) goes in one ``POST /inspections/batch`` and its answers, one per write and
each what the write's own PATCH would have answered, are recorded in one transaction; other
kinds, and every write against an archive without batches, go one request each.

A process killed anywhere in this loses nothing and applies nothing twice: a row is deleted
only in the transaction that records its answer, and sending it again sends the same key.

Examples
--------
>>> report = push_outbox(api, store, me)  # doctest: +SKIP
>>> report.pushed, len(report.conflicts), report.waiting  # doctest: +SKIP
(12, 1, 0)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from campfire.archive.inspections import (
    BATCH,
    BATCH_EXTENSION,
    EXTENSION,
    WriteAnswer,
    send_batch,
    send_write,
)
from campfire.catalog import changes, edits, outbox
from campfire.catalog.outbox import OutboxEntry
from campfire.errors import APIError, OfflineError
from campfire.sync.user import USER_KEY, refresh_user, stored_user

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from campfire.archive.api import ApiClient
    from campfire.catalog.store import Store
    from campfire.sync.result import SyncResult

__all__ = [
    "USER_KEY",
    "PushReport",
    "describe",
    "push_before_pull",
    "push_outbox",
    "reapply_pending",
    "report_outbox",
    "requeue_kept",
    "stored_user",
]

log = logging.getLogger("campfire.sync")

#: the kinds of write the archive takes only from a user who may inspect
NEEDS_INSPECT = frozenset({"inspect", "dq"})
_FORCE_ROUNDS = 3  # a forced write conflicting again (a busy record) is retried this often


@dataclass
class PushReport:
    """What one push did.

    Attributes
    ----------
    pushed
        Writes the archive applied (``replayed`` of them it had applied before).
    conflicts, rejected
        The writes that became conflicts or were refused by this push.
    waiting
        Pending writes left (the archive was unreachable or busy), and ``error`` says why.
    touched
        Objects whose local rows changed; ``versions`` the ``(before, after)``
        ``catalog_version`` of each transaction (for the in-place query-table update).
    statuses
        The HTTP status of the last answer to each write sent, by ``seq``; ``kinds`` the kinds
        of the writes answered; ``inspections_taken`` how many of the writes taken need the
        inspect permission (inspections and DQ flags).
    """

    pushed: int = 0
    replayed: int = 0
    conflicts: list[OutboxEntry] = field(default_factory=list)
    rejected: list[OutboxEntry] = field(default_factory=list)
    waiting: int = 0
    error: str | None = None
    touched: set[str] = field(default_factory=set)
    versions: list[tuple[int, int]] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    kinds: set[str] = field(default_factory=set)
    inspections_taken: int = 0

    @property
    def span(self) -> tuple[int, int] | None:
        """``(first before, last after)`` when the transactions followed each other with no
        other write between them, else None.
        """
        if not self.versions:
            return None
        for (_, a), (b, _) in zip(self.versions, self.versions[1:], strict=False):
            if a != b:
                return None
        return self.versions[0][0], self.versions[-1][1]


def _unreachable(exc: Exception) -> bool:
    """No answer at all: offline, or the archive could not be reached."""
    return isinstance(exc, OfflineError) or (isinstance(exc, APIError) and exc.status_code is None)


def reapply_pending(store: Store, me: Mapping[str, Any], target: str | None = None) -> set[str]:
    """Apply the local effect of every pending write again (of one ``target``, if given).

    After a sync wrote the archive's rows over the local ones, or after an earlier write of the
    same record was undone, the writes still waiting are what the user last saw: they stay.
    Runs in the caller's transaction.
    """
    touched: set[str] = set()
    for entry in outbox.entries(store.conn, states=["pending"], target=target):
        touched |= edits.apply_local(
            store.conn, entry.kind, entry.target, entry.body, me, entry.key
        )
    return touched


def push_outbox(
    api: ApiClient,
    store: Store,
    me: Mapping[str, Any],
    *,
    seqs: Iterable[int] | None = None,
    retry: bool = True,
) -> PushReport:
    """Send the pending writes (only ``seqs``, if given) in order; see the module docstring.

    ``retry`` repeats a write after a dropped connection, a 429 or a 5xx before leaving it
    for later (the first save of a write tries once, so an offline laptop does not wait).

    When the archive's answers contradict the recorded permission (a 403 while the record says
    the user may inspect, or a write taken while it says they may not), the user record is asked
    again (:func:`campfire.sync.user.refresh_user`), so ``cf.me.can_inspect`` follows a grant or
    a revoke at once rather than after :data:`campfire.sync.user.MAX_AGE`.

    Raises
    ------
    AuthenticationError
        The login is missing or expired (the writes stay queued).
    """
    report = _push(api, store, me, seqs=seqs, retry=retry)
    _recheck_permission(api, store, report)
    return report


def _recheck_permission(api: ApiClient, store: Store, report: PushReport) -> None:
    """Ask ``whoami`` again when the push's answers contradict the recorded ``can_inspect``."""
    recorded = stored_user(store).get("can_inspect")
    refused = 403 in report.statuses.values()
    if (refused and recorded is not False) or (report.inspections_taken and recorded is False):
        refresh_user(api, store, force=True)


def _push(
    api: ApiClient,
    store: Store,
    me: Mapping[str, Any],
    *,
    seqs: Iterable[int] | None,
    retry: bool,
) -> PushReport:
    report = PushReport()
    if not api.server_info().has(EXTENSION):
        report.waiting = len(outbox.entries(store.conn, states=["pending"], seqs=seqs))
        if report.waiting:
            report.error = f"the archive at {api.base_url} does not accept inspections"
        return report
    queue = [e.seq for e in outbox.entries(store.conn, states=["pending"], seqs=seqs)]
    batches = api.server_info().has(BATCH_EXTENSION)
    n = 0
    while n < len(queue):
        run = _inspect_run(store, queue[n:]) if batches else []
        if len(run) > 1:
            sent = _push_batch(api, store, run, me, report, retry=retry)
            if sent is None:  # the archive did not take the batch: send these one by one
                batches = False
                continue
            if sent < len(run):
                report.waiting = len(outbox.entries(store.conn, states=["pending"], seqs=queue))
                return report
            n += len(run)
            continue
        # read again: an earlier answer may have rebased it, another process may have sent it
        found = outbox.entries(store.conn, states=["pending"], seqs=[queue[n]])
        current: OutboxEntry | None = found[0] if found else None
        if not _push_one(api, store, current, me, report, retry=retry):
            report.waiting = len(outbox.entries(store.conn, states=["pending"], seqs=queue))
            return report
        n += 1
    return report


def _inspect_run(store: Store, seqs: list[int]) -> list[OutboxEntry]:
    """The pending inspections at the head of ``seqs``, up to :data:`BATCH`, one per object
    (a second write of an object waits for the first one's answer, which rebases it).
    """
    head = outbox.entries(store.conn, states=["pending"], seqs=seqs[:BATCH])
    by_seq = {e.seq: e for e in head}
    run: list[OutboxEntry] = []
    targets: set[str] = set()
    for seq in seqs[:BATCH]:
        entry = by_seq.get(seq)
        if entry is None or entry.kind != "inspect" or entry.target in targets:
            break
        run.append(entry)
        targets.add(entry.target)
    return run


def _push_one(
    api: ApiClient,
    store: Store,
    current: OutboxEntry | None,
    me: Mapping[str, Any],
    report: PushReport,
    *,
    retry: bool,
) -> bool:
    """Send one write (again while a forced one conflicts); False when it must wait."""
    rounds = 0
    while current is not None:
        with store.transaction() as con:
            outbox.mark_sent(con, current.seq)
        try:
            answer = send_write(
                api, current.kind, current.target, current.body, current.key, retry=retry
            )
        except (OfflineError, APIError) as exc:
            if not _unreachable(exc):
                raise
            report.error = str(exc)
            return False
        if answer.transient:
            report.error = answer.message
            return False
        rounds += 1
        current = _record(store, current, answer, me, report, force_ok=rounds < _FORCE_ROUNDS)
    return True


def _push_batch(
    api: ApiClient,
    store: Store,
    run: list[OutboxEntry],
    me: Mapping[str, Any],
    report: PushReport,
    *,
    retry: bool,
) -> int | None:
    """Send ``run`` in one ``POST /inspections/batch`` and record every answer in one
    transaction; how many were done (fewer: the rest must wait), or None when the archive
    refused the batch itself (send them one by one).
    """
    with store.transaction() as con:
        for entry in run:
            outbox.mark_sent(con, entry.seq)
    try:
        answers = send_batch(api, [(e.target, e.body, e.key) for e in run], retry=retry)
    except (OfflineError, APIError) as exc:
        if not _unreachable(exc):
            raise
        report.error = str(exc)
        return 0
    if isinstance(answers, WriteAnswer):
        if answers.transient:
            report.error = answers.message
            return 0
        log.info("the archive refused a batch of inspections (%s); sending one by one",
                 answers.message)  # fmt: skip
        return None
    again: list[OutboxEntry] = []
    done = 0
    with store.transaction():
        for entry, answer in zip(run, answers, strict=True):
            if answer.transient:  # not sent by a well-behaved archive; this one waits
                report.error = answer.message
                break
            forced = _record(store, entry, answer, me, report, force_ok=True)
            if forced is not None:
                again.append(forced)
            done += 1
    for entry in again:  # keep mine: made again on the current version, one by one
        if not _push_one(api, store, entry, me, report, retry=retry):
            return 0
    return done


def _record(
    store: Store,
    entry: OutboxEntry,
    answer: WriteAnswer,
    me: Mapping[str, Any],
    report: PushReport,
    *,
    force_ok: bool,
) -> OutboxEntry | None:
    """Apply one answer in one transaction; the write to send again (a forced one), or None."""
    again: OutboxEntry | None = None
    report.statuses[entry.seq] = answer.status
    report.kinds.add(entry.kind)
    with store.transaction() as con:
        before = store.catalog_version
        if answer.ok:
            touched, version = edits.apply_answer(
                con, entry.kind, entry.target, answer.body, entry.key
            )
            if version is not None:
                outbox.rebase(con, entry, version)
            outbox.remove(con, [entry.seq])
            report.pushed += 1
            report.inspections_taken += entry.kind in NEEDS_INSPECT
            report.replayed += answer.replayed
        elif answer.conflict and entry.payload.get("_force") and force_ok:
            payload = {**entry.payload, "expected_version": answer.body.get("current_version")}
            again = outbox.renew(con, entry.seq, payload)
            touched = set()
        elif answer.conflict:
            outbox.set_state(con, entry.seq, "conflict", error=answer.message, theirs=answer.body)
            touched = edits.apply_theirs(con, entry.kind, entry.target, answer.body)
            touched |= reapply_pending(store, me, entry.target)
            report.conflicts.append(outbox.entries(con, seqs=[entry.seq])[0])
        else:  # refused for good: reported once, and what it replaced comes back
            outbox.set_state(con, entry.seq, "rejected", error=answer.message)
            report.rejected.append(outbox.entries(con, seqs=[entry.seq])[0])
            outbox.remove(con, [entry.seq])
            touched = edits.restore(
                con, entry.kind, entry.target, entry.body, entry.previous, entry.key
            )
            touched |= reapply_pending(store, me, entry.target)
            log.warning(
                "the archive refused %s of %s: %s", entry.kind, entry.target, answer.message
            )
        if touched or answer.ok:
            bumped = store.bump("catalog_version")
            changes.record_objects(con, bumped, touched)  # other processes patch, not rebuild
            report.versions.append((before, bumped))
            report.touched |= touched
    return again


def describe(entry: OutboxEntry) -> dict[str, Any]:
    """A write as plain values: what it is, its state, mine and (for a conflict) theirs.

    Examples
    --------
    >>> describe(entry)["theirs"]["by"]  # doctest: +SKIP
    'Bob Lee'
    """
    out: dict[str, Any] = {
        "seq": entry.seq,
        "kind": entry.kind,
        "target": entry.target,
        "state": entry.state,
        "mine": entry.body,
        "created_at": entry.created_at,
        "error": entry.error,
    }
    if entry.theirs is not None:
        t = entry.theirs
        user = t.get("conflicting_user") or {}
        out["theirs"] = {
            "version": t.get("current_version"),
            "redshift_inspected": t.get("current_redshift_inspected"),
            "redshift_quality": t.get("current_redshift_quality"),
            "dq_flags": t.get("current_dq_flags"),
            "by": user.get("name"),
            "by_id": user.get("id"),
            "at": t.get("last_inspected_at") or t.get("updated_at"),
        }
    return out


def push_before_pull(api: ApiClient, store: Store) -> PushReport:
    """What a sync does first: queue again the writes a rebuilt catalog kept, note who is
    logged in (:func:`campfire.sync.user.refresh_user`), then push the pending writes.

    Examples
    --------
    >>> push_before_pull(api, store).pushed  # doctest: +SKIP
    3
    """
    requeue_kept(store)
    if api.server_info().has(EXTENSION):
        refresh_user(api, store)  # asks whoami only when the login may have changed
    if not outbox.entries(store.conn, states=["pending"]):
        return PushReport()
    return push_outbox(api, store, stored_user(store))


def requeue_kept(store: Store) -> int:
    """Queue again the writes a rebuilt or set-aside catalog kept in side files
    (:func:`campfire.catalog.outbox.keep_aside`); how many were added.
    """
    if not outbox.side_files(store.path):
        return 0
    with store.transaction() as con:
        added, read = outbox.requeue(con, store.path)
    for side in read:
        side.unlink(missing_ok=True)
    if added:
        log.warning("%d unsent write(s) of the previous catalog queued again", added)
    return added


def report_outbox(result: SyncResult, pushed: PushReport, store: Store) -> None:
    """Put what the push did, and the writes still open, into a sync's result."""
    result.pushed = pushed.pushed
    result.push_error = pushed.error
    result.outbox_pending = len(outbox.entries(store.conn, states=["pending"]))
    result.conflicts = [describe(e) for e in outbox.entries(store.conn, states=["conflict"])]
    result.rejected = [describe(e) for e in pushed.rejected]
