"""InspectionBar: redshift, quality, DQ flags, comments and tags of the object shown, written back.

The bar sits under the Explorer's SpectrumViewer. The redshift typed in it, or set by dragging a
line in the viewer, is the proposed ``redshift_inspected``; the buttons (or keys) 0-4 choose the
quality; Enter saves and moves to the next object. Saving is local-first: the write goes to the
local catalog and the outbox on the kernel's thread (that is the on-screen confirmation, in a
few milliseconds), and the server round trip runs on a worker thread; the bar (and the table
row) update when the answer comes. Each save's state follows
:mod:`campfire.views.widgets.inspection_state`: saved, queued offline, or in conflict with both
values and who wrote the other, with *keep mine* and *take theirs*.

Every write is a call of the client (``cf.inspect``, ``cf.set_dq_flags``, ``cf.comment``,
``cf.tag``, ``cf.untag``); the bar never talks HTTP or SQL.

Examples
--------
>>> from campfire.widgets import Explorer  # doctest: +SKIP
>>> ex = Explorer(cf, queue="uninspected")  # doctest: +SKIP
>>> ex.inspection.redshift = 2.315; ex.inspection.quality = 4  # doctest: +SKIP
>>> ex.inspection.save(next=True)  # local write now, the archive after  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import traitlets as t

from campfire.errors import CampfireError, ValidationError
from campfire.flags import DQFlags, RedshiftQuality
from campfire.views.widgets._assets import asset
from campfire.views.widgets._base import CampfireWidget
from campfire.views.widgets.inspection_state import (
    SaveRecord,
    check_redshift,
    draft_changes,
    quality_text,
)
from campfire.views.widgets.inspection_writes import ClientWrites

if TYPE_CHECKING:
    from campfire.client import Campfire
    from campfire.models.object import Object

__all__ = ["FLAG_CHOICES", "InspectionBar", "object_row"]

log = logging.getLogger(__name__)

#: The DQ flags offered as toggles, lowest bit first.
FLAG_CHOICES = [
    {"name": f.name, "value": int(f.value), "description": f.description} for f in DQFlags
]
QUALITIES = [
    {"value": int(q), "label": q.label} for q in RedshiftQuality if q.name != "NOT_INSPECTED"
]
MAX_RECENT = 8


def object_row(obj: Object) -> dict[str, Any]:
    """The stored inspection values of an object, as the bar compares a draft with them.

    Examples
    --------
    >>> from campfire.models import Object
    >>> object_row(Object("J1", redshift=2.3, redshift_auto=2.3))["redshift_quality"]
    0
    """
    return {
        "object_id": obj.object_id,
        "redshift": obj.redshift,
        "redshift_auto": obj.redshift_auto,
        "redshift_inspected": obj.redshift_inspected,
        "redshift_quality": int(obj.redshift_quality or 0),
        "quality_text": quality_text(obj.redshift_quality or 0),
        "last_inspected_at": obj.last_inspected_at,
        "last_inspected_by": getattr(obj, "last_inspected_by_name", None)
        or getattr(obj, "last_inspected_by", None),
    }


class InspectionBar(CampfireWidget):
    """The inspection controls of one object: redshift, quality, DQ flags, comments, tags.

    Parameters
    ----------
    cf
        The client that writes (``cf.inspect`` and friends).
    on_next
        Called with no argument after a save that asks to move on (Enter); the Explorer steps
        to the next object of its queue or table.

    Attributes
    ----------
    redshift, quality
        The draft: the proposed ``redshift_inspected`` and quality (0-4).
    status
        The current object's last save (``state``: saving, sending, saved, queued, conflict,
        error, discarded; ``text``: one line), or ``{}``.
    saves
        Recent saves, newest first, each as ``status``.

    Examples
    --------
    >>> bar = InspectionBar(cf)  # doctest: +SKIP
    >>> bar.set_object(cf.get_object("J021741.00-051017.0"))  # doctest: +SKIP
    >>> bar.quality = 4; bar.save()  # doctest: +SKIP
    >>> bar.wait(); bar.status["state"]  # doctest: +SKIP
    'saved'
    """

    _esm = asset("inspection_bar.js")
    _css = asset("inspection_bar.css")

    object = t.Dict().tag(sync=True)
    redshift = t.Float(None, allow_none=True).tag(sync=True)
    quality = t.Int(None, allow_none=True).tag(sync=True)
    changes = t.Dict().tag(sync=True)
    status = t.Dict().tag(sync=True)
    saves = t.List(t.Dict()).tag(sync=True)
    spectra = t.List(t.Dict()).tag(sync=True)
    flags = t.List(t.Dict()).tag(sync=True)
    qualities = t.List(t.Dict()).tag(sync=True)
    comments = t.List(t.Dict()).tag(sync=True)
    tags = t.List(t.Unicode()).tag(sync=True)
    known_tags = t.List(t.Unicode()).tag(sync=True)
    queue = t.Dict().tag(sync=True)
    error = t.Unicode("").tag(sync=True)

    def __init__(
        self,
        cf: Campfire,
        *,
        on_next: Callable[[], Any] | None = None,
        on_change: Callable[[str], Any] | None = None,
    ) -> None:
        super().__init__()
        self.cf = cf
        self.writes = ClientWrites(cf)
        self.on_next = on_next
        self.on_change = on_change
        self.flags = list(FLAG_CHOICES)
        self.qualities = list(QUALITIES)
        self._lock = threading.RLock()
        self._seq = 0
        self._records: dict[str, SaveRecord] = {}  # the latest save of each object
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="campfire-inspect")
        self._future: Future[Any] | None = None
        self.on_msg(self._on_msg)

    # -- the object shown ------------------------------------------------------------------------
    def set_object(self, obj: Object | None) -> None:
        """Show an object: its stored values become the draft, its save state the status."""
        with self._lock, self.hold_sync():
            if obj is None:
                self.object, self.spectra, self.tags, self.comments = {}, [], [], []
                self.redshift, self.quality, self.status = None, None, {}
                self.set_trait("changes", {})
                return
            row = object_row(obj)
            self.object = row
            self.spectra = [
                {"spectrum_id": s.spectrum_id, "grating": s.grating, "dq_flags": int(s.dq_flags)}
                for s in obj.spectra
            ]
            self.tags = list(obj.tags)
            self.redshift = row["redshift"]
            self.quality = row["redshift_quality"]
            rec = self._records.get(obj.object_id)
            self.status = rec.as_dict() if rec is not None else {}
            self.error = ""
            self.comments = []
        self._submit(self._load_details, obj.object_id)

    def _load_details(self, object_id: str) -> None:
        """Worker: the object's comments, and a write of it waiting in the outbox (a save of
        an earlier session, or a conflict found by ``campfire sync``) when the bar has none.
        """
        try:
            items, why = self.writes.comments(object_id), ""
        except CampfireError as exc:
            items, why = [], f"comments not loaded: {exc}"
        waiting = None if object_id in self._records else self.writes.waiting(object_id)
        with self._lock:
            if self.object.get("object_id") != object_id:
                return
            self.comments = items
            if why:
                self.error = why
            if waiting is not None and object_id not in self._records:
                self._seq += 1
                waiting.seq = self._seq
                self._records[object_id] = waiting
                self.status = waiting.as_dict()

    @t.observe("redshift", "quality", "object")
    def _draft_changed(self, _change: Any) -> None:
        try:
            changes = draft_changes(self.object, self.redshift, self.quality) if self.object else {}
        except ValidationError as exc:
            self.error = str(exc)
            changes = {}
        self.set_trait("changes", changes)

    @t.validate("redshift")
    def _check_z(self, proposal: Any) -> float | None:
        return check_redshift(proposal["value"])

    @t.validate("quality")
    def _check_quality(self, proposal: Any) -> int | None:
        q = proposal["value"]
        return None if q is None else int(RedshiftQuality.parse(q))

    # -- saving ----------------------------------------------------------------------------------
    def save(self, next: bool = False, force: bool = False) -> SaveRecord | None:
        """Save the draft: locally now, to the archive on the worker thread.

        Parameters
        ----------
        next
            Then move on (the ``on_next`` callback), as Enter does.
        force
            Write over someone else's newer value (what *keep mine* does).

        Returns
        -------
        SaveRecord or None
            The save (its ``state`` moves on as the archive answers), or None when the draft
            changes nothing (then ``next`` still moves on).

        Examples
        --------
        >>> bar.quality = 3; bar.save(next=True).state  # doctest: +SKIP
        'sending'
        """
        oid = self.object.get("object_id")
        changes = dict(self.changes)
        rec = None
        if oid and changes:
            rec = SaveRecord(oid, changes.get("redshift"), changes.get("quality"), force=force)
            self._start(rec)
        elif oid and not next:
            self.error = "nothing to save: change the redshift or choose a quality first"
        if next and self.on_next is not None:
            self.on_next()
        return rec

    def _start(self, rec: SaveRecord) -> None:
        """The local write (this thread), the confirmation, then the push (worker thread)."""
        with self._lock:
            self._seq += 1
            rec.seq = self._seq
            self._records[rec.object_id] = rec
        try:
            self.writes.inspect_local(rec)
        except CampfireError as exc:
            rec.failed(str(exc))
            self._publish(rec)
            return
        rec.local_done()
        self._publish(rec, local=True)
        self._submit(self._push, rec)

    def _push(self, rec: SaveRecord) -> None:
        self.writes.push(rec)  # moves rec to saved, queued, conflict or error
        self._publish(rec, answered=True)

    def _keep_mine(self, rec: SaveRecord) -> None:
        self.writes.keep_mine(rec)  # local write and push in one call (the user asked for it)
        self._publish(rec, answered=True)

    def resolve(self, object_id: str, choice: str) -> SaveRecord:
        """Settle a conflict: ``'mine'`` writes mine over theirs, ``'theirs'`` drops mine.

        Examples
        --------
        >>> bar.resolve("J021741.00-051017.0", "theirs").state  # doctest: +SKIP
        'discarded'
        """
        rec = self._records.get(object_id)
        if rec is None or rec.state not in ("conflict", "error"):
            raise ValidationError(f"{object_id} has no save in conflict to resolve")
        if choice == "mine":
            rec.keep_mine()
            self._publish(rec)
            self._submit(self._keep_mine, rec)
        elif choice == "theirs":
            self.writes.take_theirs(rec)
            rec.take_theirs()
            self._publish(rec, answered=True)
        else:
            raise ValidationError(f"choose 'mine' or 'theirs' (got {choice!r})")
        return rec

    def _publish(self, rec: SaveRecord, local: bool = False, answered: bool = False) -> None:
        """Show a save's state: in the recent list, and as the status of its object if shown."""
        with self._lock:
            item = rec.as_dict()
            others = [s for s in self.saves if s.get("seq") != rec.seq]
            with self.hold_sync():
                self.saves = [item, *others][:MAX_RECENT]
                if self.object.get("object_id") == rec.object_id:
                    self.status = item
                    if (local or answered) and rec.state in ("sending", "saved", "queued"):
                        self._adopt(rec)
        if local or answered:
            self._changed(rec.object_id)

    def _adopt(self, rec: SaveRecord) -> None:
        """The object's stored values now include the save (so the draft shows no change)."""
        row = dict(self.object)
        if rec.redshift is not None:
            row["redshift_inspected"] = row["redshift"] = rec.redshift
        if rec.quality is not None:
            row["redshift_quality"] = rec.quality
            row["quality_text"] = quality_text(rec.quality)
        self.object = row

    # -- DQ flags, comments, tags ------------------------------------------------------------------
    def set_dq(self, spectrum_id: str, flags: int) -> None:
        """Set a spectrum's DQ bitmask (on the worker thread); the toggles follow the answer."""
        self._submit(self._write, "dq", spectrum_id, int(flags))

    def add_comment(self, text: str) -> None:
        """Comment on the object shown (on the worker thread); the list reloads after."""
        if not text.strip():
            raise ValidationError("a comment needs some text")
        self._submit(self._write, "comment", self.object["object_id"], text)

    def add_tag(self, slug: str) -> None:
        """Tag the object shown."""
        self._submit(self._write, "tag", self.object["object_id"], slug.strip())

    def remove_tag(self, slug: str) -> None:
        """Untag the object shown."""
        self._submit(self._write, "untag", self.object["object_id"], slug)

    def _write(self, kind: str, key: str, value: Any) -> None:
        try:
            result = self.writes.other(kind, key, value)
        except CampfireError as exc:
            self.error = f"{kind} not saved: {exc}"
            return
        with self._lock:
            oid = self.object.get("object_id")
            if kind == "dq":
                self.spectra = [
                    {**s, "dq_flags": int(result)} if s["spectrum_id"] == key else s
                    for s in self.spectra
                ]
            elif kind == "comment" and oid == key:
                self.comments = self.writes.comments(key)
            elif kind in ("tag", "untag") and oid == key:
                self.tags = list(result)
            self.error = ""
        self._changed(self.object.get("object_id") if kind == "dq" else key)

    def _changed(self, object_id: str | None) -> None:
        """Tell the owner (the Explorer's table) that an object's row changed."""
        if object_id and self.on_change is not None:
            try:
                self.on_change(object_id)
            except Exception:  # the table is a courtesy here: the save itself stands
                log.warning("inspection bar: row update of %s failed", object_id, exc_info=True)

    # -- plumbing --------------------------------------------------------------------------------
    def _submit(self, fn: Callable[..., Any], *args: Any) -> None:
        self._future = self._pool.submit(self._guarded, fn, *args)

    def _guarded(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:  # shown in the bar; the explorer carries on
            log.warning("inspection bar: %s failed", getattr(fn, "__name__", fn), exc_info=True)
            self.error = f"{exc}"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the writes asked for so far are answered; True when they are."""
        done = self._pool.submit(lambda: None)
        try:
            done.result(timeout=timeout)
        except TimeoutError:
            return False
        return True

    def _on_msg(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        try:
            if kind == "save":
                with self.hold_trait_notifications():
                    if "redshift" in content:
                        self.redshift = content["redshift"]
                    if "quality" in content:
                        self.quality = content["quality"]
                self.save(next=bool(content.get("next")))
            elif kind == "resolve":
                self.resolve(str(content.get("object_id")), str(content.get("choice")))
            elif kind == "dq":
                self.set_dq(str(content["spectrum_id"]), int(content["flags"]))
            elif kind == "comment":
                self.add_comment(str(content.get("text", "")))
            elif kind == "tag":
                self.add_tag(str(content.get("slug", "")))
            elif kind == "untag":
                self.remove_tag(str(content.get("slug", "")))
            elif kind == "next" and self.on_next is not None:
                self.on_next()
        except (CampfireError, KeyError, TypeError, ValueError) as exc:
            self.error = str(exc)

    def close(self) -> None:
        """Close the widget and stop its worker (writes already sent finish in the outbox)."""
        if hasattr(self, "_pool"):
            self._pool.shutdown(wait=False)
        super().close()
