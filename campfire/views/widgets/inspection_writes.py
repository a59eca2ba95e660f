"""The client calls the inspection bar makes, in one place: local write, push, other writes.

The bar never talks HTTP or SQL: it calls the client's inspection API (``cf.inspect``,
``cf.set_dq_flags``, ``cf.comment``, ``cf.get_comments``, ``cf.tag``, ``cf.untag``) through
:class:`ClientWrites`, which also turns the client's answers (an updated object, a
``ConflictError``, an offline write left in the outbox) into the steps of a
:class:`~campfire.views.widgets.inspection_state.SaveRecord`.

Examples
--------
>>> writes = ClientWrites(cf)  # doctest: +SKIP
>>> rec = SaveRecord("J021741.00-051017.0", quality=4)  # doctest: +SKIP
>>> writes.inspect_local(rec); rec.local_done(); writes.push(rec); rec.state  # doctest: +SKIP
'saved'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from campfire.errors import CampfireError
from campfire.views.widgets.inspection_state import SaveRecord

if TYPE_CHECKING:
    from campfire.client import Campfire

__all__ = ["ClientWrites", "comment_item", "conflict_info"]

# the 409's keys, and the ConflictError attribute each may come as
_CONFLICT_KEYS = {
    "current_version": "current_version",
    "current_redshift_inspected": "current_redshift",
    "current_redshift_quality": "current_quality",
    "last_inspected_at": "changed_at",
}


def conflict_info(exc: BaseException) -> dict[str, Any]:
    """The 409's fields from a ``ConflictError`` (its attributes, else its response body).

    Examples
    --------
    >>> from campfire.errors import CampfireError
    >>> e = CampfireError("stale", response={"current_redshift_quality": 4})
    >>> conflict_info(e)["current_redshift_quality"]
    4
    """
    body = getattr(exc, "response", None)
    info: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
    for key, attr in _CONFLICT_KEYS.items():
        for name in (attr, key):
            value = getattr(exc, name, None)
            if value is not None:
                info[key] = value
                break
    by = getattr(exc, "changed_by", None)
    if by and not info.get("conflicting_user"):
        info["conflicting_user"] = {"id": getattr(exc, "changed_by_id", None), "name": by}
    info["message"] = info.get("message") or str(exc)
    return info


def comment_item(item: Any) -> dict[str, Any]:
    """A comment as the bar shows it: ``{'id', 'user_name', 'body', 'created_at'}``.

    Takes a comment object (attributes) or a wire dict.

    Examples
    --------
    >>> comment_item({"id": 1, "user_name": "ana", "body": "Hα at 6.1", "created_at": "t"})["body"]
    'Hα at 6.1'
    """

    def get(key: str) -> Any:
        return item.get(key) if isinstance(item, dict) else getattr(item, key, None)

    return {
        "id": get("id"),
        "user_name": get("user_name") or get("author") or "",
        "body": get("body") or get("text") or "",
        "created_at": get("created_at") or "",
        "pending": bool(get("pending")),
    }


class ClientWrites:
    """What the inspection bar asks of the client.

    Parameters
    ----------
    cf
        The client whose ``inspect``, ``push``, ``resolve_conflict``, ``outbox``,
        ``set_dq_flags``, ``comment``, ``get_comments``, ``create_tag``, ``tag`` and ``untag``
        are called.
    """

    def __init__(self, cf: Campfire) -> None:
        self.cf: Any = cf

    def inspect_local(self, rec: SaveRecord) -> None:
        """Apply the write to the local catalog and queue it in the outbox (no network).

        Raises whatever ``cf.inspect`` raises for a write it refuses (a bad value, an object
        not in the catalog): the save then shows as not saved.
        """
        self.cf.inspect(
            rec.object_id, redshift=rec.redshift, quality=rec.quality, force=rec.force, push=False
        )

    def push(self, rec: SaveRecord) -> None:
        """Send the outbox (this write and any before it) and move ``rec`` on by the answer.

        Saved when the archive took it, queued when it could not be reached (offline, down),
        conflict when someone changed the object first, error when the archive refused it. A
        push made for an earlier save may already have sent this one: then its answer is read
        from the outbox (gone: applied; or kept as a conflict or a refusal).
        """
        entry = self._entry(rec.object_id)
        if entry is not None and entry.state == "pending":
            try:
                self.cf.push()
            except CampfireError as exc:  # a login problem: the write stays queued
                rec.offline(str(exc))
                return
            entry = self._entry(rec.object_id, entry.seq)
        self._settle(rec, entry)

    def keep_mine(self, rec: SaveRecord) -> None:
        """Write mine over theirs (``cf.resolve_conflict(keep='mine')``: local, then sent)."""
        try:
            self.cf.resolve_conflict(rec.object_id, keep="mine")
        except CampfireError as exc:
            from campfire.errors import ConflictError

            if isinstance(exc, ConflictError):
                rec.server_conflict(conflict_info(exc))
            else:
                rec.failed(str(exc))
            return
        self._settle(rec, self._entry(rec.object_id))

    def take_theirs(self, rec: SaveRecord) -> None:
        """Drop my write in conflict, so the other person's value stands."""
        self.cf.resolve_conflict(rec.object_id, keep="theirs")

    def _entry(self, object_id: str, seq: int | None = None) -> Any:
        """The newest outbox entry of an object's inspections (or the one numbered ``seq``)."""
        found = [
            e
            for e in self.cf.outbox
            if e.target == object_id and e.kind == "inspect" and seq in (None, e.seq)
        ]
        return found[-1] if found else None

    def waiting(self, object_id: str) -> SaveRecord | None:
        """An inspection of the object still in the outbox, as a save: queued or in conflict."""
        entry = self._entry(object_id)
        if entry is None:
            return None
        body = entry.body
        rec = SaveRecord(object_id, body.get("redshift_inspected"), body.get("redshift_quality"))
        rec.state = "sending"  # it was written locally in an earlier session
        self._settle(rec, entry)
        return rec

    def _settle(self, rec: SaveRecord, entry: Any) -> None:
        """Where ``rec`` is, from its outbox entry after the push (None: the archive has it)."""
        if entry is None:
            rec.server_done()
        elif entry.state == "conflict":
            rec.server_conflict({**(entry.theirs or {}), "message": entry.error or ""})
        elif entry.state == "rejected":
            rec.failed(entry.error or "the archive refused it")
        else:
            rec.offline(entry.error or "offline, or the archive could not be reached")

    def comments(self, object_id: str) -> list[dict[str, Any]]:
        """The object's comments, oldest first (those not yet sent marked pending)."""
        return [comment_item(c) for c in self.cf.get_comments(object_id)]

    def other(self, kind: str, key: str, value: Any) -> Any:
        """A DQ (``key`` a spectrum id), comment, tag or untag write (``key`` an object id).

        Each is saved locally and sent by the client (queued when offline). Returns the
        spectrum's bitmask for ``dq``, the object's tags for ``tag``/``untag``. A tag not known
        yet is created first (private).
        """
        cf = self.cf
        if kind == "dq":
            row = cf.set_dq_flags(key, int(value))
            return int(row.get("dq_flags") or 0)
        if kind == "comment":
            cf.comment(key, value)
            return None
        if kind in ("tag", "untag"):
            if kind == "tag" and value not in {str(s) for s in cf.get_tags()["slug"]}:
                cf.create_tag(value)
            getattr(cf, kind)([key], value)
            obj = cf.get_object(key)
            return list(obj.tags) if obj is not None else []
        raise ValueError(f"unknown write {kind!r}")
