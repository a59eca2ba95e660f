"""Inspecting from Python: redshifts, quality, DQ flags, comments and tags, written back.

The methods ``Campfire`` binds from here (``cf.inspect``, ``cf.set_dq_flags``, ``cf.comment``,
``cf.get_comments``, ``cf.push``, ``cf.resolve_conflict`` and ``cf.outbox``; the tags are in
:mod:`campfire.client.tags`). Each write is saved in the local catalog at once
and queued in the outbox (:mod:`campfire.client.outbox`), then sent to the archive unless
``CAMPFIRE_OFFLINE=1`` or ``push=False``; what cannot be sent now goes with the next
``cf.sync()``. ``docs/inspecting.md`` tells the whole story.

Examples
--------
>>> obj = cf.inspect("J021737.42-051208.5", redshift=2.31, quality="secure")  # doctest: +SKIP
>>> obj.redshift, obj.redshift_quality  # doctest: +SKIP
(2.31, 4)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from campfire.client.outbox import (
    Outbox,
    Write,
    accept,
    need_catalog,
    open_store,
    push_now,
    update_in_place,
)
from campfire.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from campfire.flags import DQFlags, FlagQuery, RedshiftQuality, as_flag_query, encode_flags

if TYPE_CHECKING:
    from campfire.catalog.outbox import OutboxEntry
    from campfire.client.core import Campfire
    from campfire.models.comment import Comment, CommentList
    from campfire.models.object import Object
    from campfire.sync.outbox import PushReport

__all__ = [
    "COMMENT",
    "GET_COMMENTS",
    "INSPECT",
    "OUTBOX",
    "PUSH",
    "RESOLVE_CONFLICT",
    "SET_DQ_FLAGS",
    "check_redshift",
    "dq_mask",
    "send_checked",
]

Z_RANGE = (-0.1, 30.0)
MAX_COMMENT = 10_000


# -- checking values (before anything is saved) ---------------------------------------------------
def check_redshift(value: Any) -> float:
    """A redshift the archive accepts: a finite number, -0.1 <= z <= 30.

    Examples
    --------
    >>> check_redshift("2.5")
    2.5
    """
    try:
        z = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"redshift must be a number (got {value!r})") from None
    if not math.isfinite(z) or not Z_RANGE[0] <= z <= Z_RANGE[1]:
        raise ValidationError(f"redshift must be between {Z_RANGE[0]} and {Z_RANGE[1]} (got {z})")
    return z


def _comment_text(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("a comment must be non-empty text")
    if len(text) > MAX_COMMENT:
        raise ValidationError(f"a comment holds at most {MAX_COMMENT} characters (got {len(text)})")
    return text


def dq_mask(flags: Any) -> int:
    """The bitmask to set from an int, a ``DQFlags`` member or expression, or flag names.

    Examples
    --------
    >>> dq_mask(DQFlags.CHIP_GAP | DQFlags.LOW_SNR), dq_mask("chip_gap,low_snr"), dq_mask(0)
    (33, 33, 0)
    """
    if isinstance(flags, bool):
        raise ValidationError("DQ flags are an int bitmask, DQFlags or names, not a bool")
    if isinstance(flags, int):
        mask = flags
    elif isinstance(flags, DQFlags):
        mask = flags.value
    elif isinstance(flags, str) and "," in flags:
        mask = encode_flags([n for n in flags.split(",") if n.strip()])
    elif isinstance(flags, FlagQuery | str):
        query = as_flag_query(flags)
        if query is not None and query.exclude:
            raise ValidationError(
                "set_dq_flags takes the flags to set (A | B, or names); ~ (not) has no "
                "meaning here: leave a flag out to clear it"
            )
        mask = 0 if query is None else query.include_any | query.include_all
    elif isinstance(flags, Iterable):
        mask = encode_flags(list(flags))
    else:
        raise ValidationError(f"DQ flags cannot be a {type(flags).__name__}")
    if not 0 <= mask < 2**31:
        raise ValidationError(f"a DQ bitmask is 0 <= n < 2**31 (got {mask})")
    return int(mask)


def _object(cf: Campfire, object_id: Any) -> tuple[str, int]:
    """``(object id, version)`` of an object named by its id or a target id."""
    if not isinstance(object_id, str) or not object_id.strip():
        raise ValidationError(f"object_id must be a non-empty string (got {object_id!r})")
    need_catalog(cf)
    found = cf.reader.object_record(object_id.strip())
    if found is None:
        raise NotFoundError(
            f"no object {object_id!r} in the synced catalog; check the id (an object id or a "
            "target id), or run cf.sync() if it is new"
        )
    row = found["row"]
    return str(row["object_id"]), int(row.get("version") or 1)


# -- answering for what the archive said ----------------------------------------------------------
def _conflict_error(entry: OutboxEntry) -> ConflictError:
    t = entry.theirs or {}
    user = t.get("conflicting_user") or {}
    who = user.get("name") or "someone"
    when = t.get("last_inspected_at") or t.get("updated_at") or "an unknown time"
    if entry.kind == "dq":
        now = f"DQ flags {t.get('current_dq_flags')}"
        mine = f"{entry.body.get('dq_flags')}"
    else:
        now = _values(t.get("current_redshift_inspected"), t.get("current_redshift_quality"))
        mine = _values(
            entry.body.get("redshift_inspected", "unchanged"), entry.body.get("redshift_quality")
        )
    return ConflictError(
        f"{entry.target} was changed by {who} at {when} since your catalog's copy: it now has "
        f"{now}; yours was {mine}. Nothing was overwritten, and yours is kept in cf.outbox as "
        f"a conflict. To keep yours: the same call with force=True, or "
        f"cf.resolve_conflict({entry.target!r}, keep='mine'); to take theirs: keep='theirs'.",
        target=entry.target,
        current_version=t.get("current_version"),
        current_redshift=t.get("current_redshift_inspected"),
        current_quality=t.get("current_redshift_quality"),
        current_dq_flags=t.get("current_dq_flags"),
        changed_by=user.get("name"),
        changed_by_id=user.get("id"),
        changed_at=t.get("last_inspected_at") or t.get("updated_at"),
        mine=entry.body,
        status_code=409,
        response=t,
    )


def _values(z: Any, q: Any) -> str:
    ztext = (
        "no inspected redshift" if z is None else ("z unchanged" if z == "unchanged" else f"z={z}")
    )
    if q is None:
        return ztext
    return f"{ztext}, quality {int(q)} ({RedshiftQuality.parse(int(q)).label})"


def send_checked(cf: Campfire, entries: list[OutboxEntry], push: bool) -> PushReport | None:
    """Push the outbox now (if asked and online) and raise for what the archive said of
    ``entries``: a conflict, or a refusal (whose local change is already undone).
    """
    if not push:
        return None
    report = push_now(cf)
    if report is None:
        return None
    mine = {e.seq for e in entries}
    for entry in report.conflicts:
        if entry.seq in mine:
            raise _conflict_error(entry)
    for entry in report.rejected:
        if entry.seq in mine:
            status = report.statuses.get(entry.seq)
            what = f"The archive refused {entry.kind} of {entry.target}: {entry.error}"
            if status == 403:
                raise AuthenticationError(
                    f"{what}. You may not change it: writing needs the inspect permission "
                    "(an admin runs campfire admin grant-inspect EMAIL).",
                    status_code=status,
                )
            if status == 404:
                raise NotFoundError(f"{what} (not found, or not visible to you)", status_code=404)
            raise ValidationError(what, status_code=status)
    return report


# -- the methods ------------------------------------------------------------------------------
def inspect(
    self: Campfire,
    object_id: str,
    redshift: float | None = None,
    quality: int | str | None = None,
    comment: str | None = None,
    force: bool = False,
    push: bool = True,
    clear_redshift: bool = False,
) -> Object:
    """Record your inspection of an object: its redshift, its quality, a comment.

    Saved in the local catalog at once (queries, the explorer and ``campfire sql`` see it), and
    sent to the archive now unless ``CAMPFIRE_OFFLINE=1``, ``push=False`` or the archive cannot
    be reached: then it waits in ``cf.outbox`` for the next ``cf.sync()``.

    Parameters
    ----------
    object_id
        The object's id, or the id of one of its targets (as :meth:`get_object` takes).
    redshift
        Your redshift (-0.1 to 30); None keeps the current one.
    quality
        0-4 or its name: ``'bad'`` (1, also ``'impossible'``), ``'uncertain'`` (2,
        ``'tentative'``), ``'probable'`` (3), ``'secure'`` (4); None keeps the current one.
    comment
        A comment to add to the object at the same time.
    force
        If someone changed the object since your catalog's copy, apply yours on top of theirs
        instead of raising :class:`~campfire.errors.ConflictError`.
    push
        Send now (default); False only saves and queues it.
    clear_redshift
        Remove your inspected redshift (the automatic one shows again as ``redshift``); not
        together with ``redshift=``.

    Returns
    -------
    Object
        The object as the local catalog now has it.

    Raises
    ------
    ConflictError
        Online, someone changed the object first (their values, who and when are on the
        error); yours is kept in ``cf.outbox`` as a conflict, nothing is overwritten.
    NotFoundError
        The object is not in the synced catalog (or there is no synced catalog).

    Examples
    --------
    >>> obj = cf.inspect("ember_uds_p4_123456", redshift=2.31, quality="secure")  # doctest: +SKIP
    >>> obj.redshift_quality  # doctest: +SKIP
    4
    >>> cf.inspect("ember_uds_p4_123456", clear_redshift=True).redshift_inspected is None
    ... # doctest: +SKIP
    True
    """
    if clear_redshift and redshift is not None:
        raise ValidationError(
            f"pass redshift={redshift!r} or clear_redshift=True, not both (clearing removes "
            "your inspected redshift)"
        )
    if redshift is None and quality is None and comment is None and not clear_redshift:
        raise ValidationError(
            "nothing to save: pass redshift=, quality=, comment= or clear_redshift=True"
        )
    body: dict[str, Any] = {}
    if clear_redshift:
        body["redshift_inspected"] = None
    elif redshift is not None:
        body["redshift_inspected"] = check_redshift(redshift)
    if quality is not None:
        body["redshift_quality"] = int(RedshiftQuality.parse(quality))
    text = None if comment is None else _comment_text(comment)
    oid, version = _object(self, object_id)
    writes = []
    if body:
        writes.append(Write("inspect", oid, {**body, "expected_version": version}, force))
    if text is not None:
        writes.append(Write("comment", oid, {"body": text}))
    send_checked(self, accept(self, writes), push)
    obj = self.get_object(oid)
    assert obj is not None  # it was found just above
    return obj


def set_dq_flags(
    self: Campfire, spectrum_id: str, flags: Any, force: bool = False, push: bool = True
) -> dict[str, Any]:
    """Set a spectrum's data-quality flags (the whole bitmask: flags left out are cleared).

    ``flags`` is an int bitmask, a ``DQFlags`` member or ``|`` expression, a name or a list of
    names (``['CHIP_GAP', 'LOW_SNR']``). Saved and sent like :meth:`inspect`.

    Returns
    -------
    dict
        The spectrum's catalog row as it is now.

    Examples
    --------
    >>> from campfire.flags import DQFlags
    >>> row = cf.set_dq_flags("ember_uds_p4_prism_clear_123456",
    ...                       DQFlags.CONTAMINATION | DQFlags.LOW_SNR)  # doctest: +SKIP
    >>> row["dq_flags"]  # doctest: +SKIP
    34
    """
    mask = dq_mask(flags)
    if not isinstance(spectrum_id, str) or not spectrum_id.strip():
        raise ValidationError(f"spectrum_id must be a non-empty string (got {spectrum_id!r})")
    need_catalog(self)
    row = self.reader.spectrum(spectrum_id)
    if row is None:
        raise NotFoundError(f"no spectrum {spectrum_id!r} in the synced catalog")
    body = {"dq_flags": mask, "expected_version": int(row.get("version") or 1)}
    send_checked(self, accept(self, [Write("dq", spectrum_id, body, force)]), push)
    found = self.reader.spectrum(spectrum_id)
    assert found is not None
    return found


def comment(self: Campfire, object_id: str, text: str, push: bool = True) -> Comment:
    """Add a comment to an object (saved and sent like :meth:`inspect`).

    Examples
    --------
    >>> print(cf.comment("J021737.42-051208.5", "[OIII] doublet clear"))  # doctest: +SKIP
    2026-05-01 12:03 UTC · Alice Smith: [OIII] doublet clear
    """
    body = _comment_text(text)
    oid, _ = _object(self, object_id)
    send_checked(self, accept(self, [Write("comment", oid, {"body": body})]), push)
    return get_comments(self, oid)[-1]


def get_comments(self: Campfire, object_id: str, remote: bool = False) -> CommentList:
    """The comments on an object, oldest first; each prints as its time, author and text.

    From the synced catalog (with your comments not yet sent), or from the archive with
    ``remote=True`` or when there is no synced catalog.

    Examples
    --------
    >>> print(cf.get_comments("J021737.42-051208.5"))  # doctest: +SKIP
    2026-05-01 12:03 UTC · Alice Smith: [OIII] doublet clear
    """
    from campfire.models.comment import Comment, CommentList

    if not isinstance(object_id, str) or not object_id.strip():
        raise ValidationError(f"object_id must be a non-empty string (got {object_id!r})")
    if self._local(remote, "get_comments"):
        oid = self.reader.resolve_objects([object_id]).get(object_id)
        if oid is None:
            raise NotFoundError(f"no object {object_id!r} in the synced catalog")
        return CommentList(Comment.from_row(r) for r in self.reader.comments(oid))
    from campfire.archive.inspections import iter_comments

    api = self._online("get_comments()")
    row = self.remote.object_row(object_id)
    if row is None:
        raise NotFoundError(f"no object {object_id!r} on the archive")
    return CommentList(Comment.from_row(r) for r in iter_comments(api, str(row["object_id"])))


def push_outbox(self: Campfire) -> PushReport | None:
    """Send the outbox now, without pulling (``cf.sync()`` does both); None when offline.

    Examples
    --------
    >>> report = cf.push()  # doctest: +SKIP
    >>> report.pushed, report.waiting  # doctest: +SKIP
    (3, 0)
    """
    return push_now(self)


def resolve_conflict(self: Campfire, target: str, keep: str = "mine") -> Any:
    """Settle a conflict in ``cf.outbox``: ``keep="mine"`` applies your value on top of theirs
    (and sends it), ``keep="theirs"`` drops yours (the catalog already shows theirs).

    ``target`` is the object id (or target id) of an inspection, or the spectrum id of DQ flags.
    Returns the object (or the spectrum's row) as the catalog now has it.

    Examples
    --------
    >>> cf.resolve_conflict("J021737.42-051208.5", keep="theirs").redshift_quality
    ... # doctest: +SKIP
    3
    """
    from campfire.catalog import changes, edits, outbox
    from campfire.sync.outbox import stored_user

    if keep not in ("mine", "theirs"):
        raise ValidationError(f"keep must be 'mine' or 'theirs' (got {keep!r})")
    name = self.reader.resolve_objects([target]).get(target) or target
    conflicts = [e for e in self.reader.outbox(["conflict"]) if e.target == name]
    if not conflicts:
        raise NotFoundError(f"no conflict for {target!r} in cf.outbox")
    with open_store(self) as store:
        me = stored_user(store)
        with store.transaction() as con:
            before = store.catalog_version
            touched: set[str] = set()
            for entry in conflicts:
                if keep == "theirs":
                    outbox.remove(con, [entry.seq])
                    continue
                current = (entry.theirs or {}).get("current_version")
                renewed = outbox.renew(
                    con, entry.seq, {**entry.payload, "expected_version": current}
                )
                touched |= edits.apply_local(
                    con, renewed.kind, renewed.target, renewed.body, me, renewed.key
                )
            after = store.bump("catalog_version")
            changes.record_objects(con, after, touched)  # other processes patch, not rebuild
    update_in_place(self, (before, after), touched, {e.kind for e in conflicts})
    if keep == "mine":
        send_checked(self, conflicts, True)
    if conflicts[0].kind == "dq":
        return self.reader.spectrum(name)
    return self.get_object(name)


def _outbox(self: Campfire) -> Outbox:
    """The writes not yet confirmed by the archive, oldest first (``len(cf.outbox)``).

    Examples
    --------
    >>> len(cf.outbox), cf.outbox.conflicts  # doctest: +SKIP
    """
    return Outbox(self.reader.outbox())


INSPECT = inspect
SET_DQ_FLAGS = set_dq_flags
COMMENT = comment
GET_COMMENTS = get_comments
PUSH = push_outbox
RESOLVE_CONFLICT = resolve_conflict
OUTBOX = property(_outbox)
