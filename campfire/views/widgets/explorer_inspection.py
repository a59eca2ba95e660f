"""The Explorer's inspection: the bar under the viewer, queue mode, and the table kept current.

:class:`ExplorerInspection` joins an :class:`~campfire.views.widgets.inspection.InspectionBar`
to the Explorer's parts: the viewer's redshift (a dragged line) becomes the bar's proposed
redshift and a typed one moves the viewer's lines; Enter's "next" steps through the queue (or
the table); a saved row is redrawn in the table at once. :class:`InspectionQueue` is the ordered
list of objects a queue mode steps through.

Examples
--------
>>> q = InspectionQueue(["J1", "J2", "J3"], name="mine")
>>> q.after("J1"), q.after("J3"), q.after(None)
('J2', None, 'J1')
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from campfire.errors import ValidationError
from campfire.views.widgets.inspection import InspectionBar
from campfire.views.widgets.object_browser import DEFAULT_COLUMNS

if TYPE_CHECKING:
    from campfire.client import Campfire
    from campfire.models.object import Object
    from campfire.views.widgets.object_browser import ObjectBrowser
    from campfire.views.widgets.spectrum_viewer import SpectrumViewer

__all__ = [
    "EXPLORER_COLUMNS", "QUEUES", "ExplorerInspection", "InspectionQueue", "resolve_queue",
]  # fmt: skip

log = logging.getLogger(__name__)

#: The Explorer's table: the browser's columns with who inspected and when after the quality.
EXPLORER_COLUMNS = [
    c
    for col in DEFAULT_COLUMNS
    for c in (
        (col, "last_inspected_by_name", "last_inspected_at")
        if col == "redshift_quality"
        else (col,)
    )
]

#: Named queues: the query_objects filters each adds to the Explorer's own.
QUEUES: dict[str, dict[str, Any]] = {
    "uninspected": {"inspected_only": False},
    "inspected": {"inspected_only": True},
    "needs_review": {"staleness": True},
    "all": {},
}


class InspectionQueue:
    """Object ids in the order a queue mode visits them.

    Parameters
    ----------
    ids
        The object ids, in order (repeats are dropped).
    name
        What the queue is called in the bar (``'uninspected'``, ``'query'`` …).
    """

    def __init__(self, ids: Iterable[str], name: str = "queue") -> None:
        self.ids: list[str] = list(dict.fromkeys(str(i) for i in ids))
        self.name = name
        self._index = {oid: i for i, oid in enumerate(self.ids)}
        self.last: int | None = None  # the position last shown (kept when off the queue)

    def __len__(self) -> int:
        return len(self.ids)

    def position(self, object_id: str | None) -> int | None:
        """Where an object is in the queue (0-based), or None."""
        return None if object_id is None else self._index.get(object_id)

    def after(self, object_id: str | None) -> str | None:
        """The object after ``object_id`` (the first if it is None); None at the end.

        An object not in the queue continues from the last queue position shown.
        """
        here = self.position(object_id)
        if here is None:
            here = -1 if self.last is None else self.last
        nxt = here + 1
        return self.ids[nxt] if nxt < len(self.ids) else None

    def as_dict(self, object_id: str | None) -> dict[str, Any]:
        """``{'name', 'position', 'total'}`` for the bar."""
        here = self.position(object_id)
        if here is not None:
            self.last = here
        return {"name": self.name, "position": here, "total": len(self.ids)}


def resolve_queue(cf: Campfire, queue: Any, filters: dict[str, Any]) -> InspectionQueue | None:
    """A queue from ``Explorer(queue=...)``: a name, a Table with ``object_id``, or ids.

    Named queues (:data:`QUEUES`) run ``cf.query_objects`` with the Explorer's filters plus
    their own, in object-id order.

    Examples
    --------
    >>> resolve_queue(None, ["J2", "J1"], {}).ids
    ['J2', 'J1']
    >>> resolve_queue(None, None, {}) is None
    True
    """
    if queue is None:
        return None
    if isinstance(queue, str):
        key = queue.strip().lower().replace("-", "_").replace(" ", "_")
        if key not in QUEUES:
            raise ValidationError(
                f"unknown queue {queue!r}: use one of {', '.join(QUEUES)}, a query Table "
                "(cf.query_objects(...)) or a list of object ids"
            )
        table = cf.query_objects(**{**filters, **QUEUES[key]}, sort="object_id")
        return InspectionQueue((str(o) for o in table["object_id"]), name=key)
    colnames = getattr(queue, "colnames", None)
    if colnames is not None:
        if "object_id" not in colnames:
            raise ValidationError(
                f"a queue Table needs an object_id column (it has {', '.join(colnames)})"
            )
        return InspectionQueue((str(o) for o in queue["object_id"]), name="query")
    if isinstance(queue, Sequence | set) or hasattr(queue, "__iter__"):
        ids = [str(o) for o in queue]
        if not all(ids):
            raise ValidationError("a queue of object ids cannot hold empty ids")
        return InspectionQueue(ids, name="list")
    raise ValidationError(
        f"queue must be a name ({', '.join(QUEUES)}), a Table or object ids, not "
        f"{type(queue).__name__}"
    )


class ExplorerInspection:
    """The inspection bar of one Explorer, joined to its table and viewer.

    Parameters
    ----------
    cf
        The client.
    browser, viewer
        The Explorer's table and spectrum viewer.
    queue
        An :class:`InspectionQueue` to step through, or None (Enter moves down the table).
    header
        The Explorer's header, whose summary follows a save of the object shown.
    """

    def __init__(
        self,
        cf: Campfire,
        browser: ObjectBrowser,
        viewer: SpectrumViewer,
        queue: InspectionQueue | None = None,
        header: Any = None,
    ) -> None:
        self.browser, self.viewer, self.queue = browser, viewer, queue
        self.header = header
        self.bar = InspectionBar(cf, on_next=self.next, on_change=self.row_changed)
        self.cf = cf
        self._quiet = False
        try:
            self.bar.known_tags = list(browser.vocab.get("tags", []))
        except Exception:  # a courtesy list for the tag box
            log.debug("no tag vocabulary for the inspection bar", exc_info=True)
        viewer.observe(self._viewer_z, "redshift")
        self.bar.observe(self._bar_z, "redshift")
        if queue is not None:
            self.bar.queue = queue.as_dict(None)

    def show(self, obj: Object | None) -> None:
        """The Explorer chose an object (or one that is unknown: None)."""
        self._quiet = True  # the viewer's redshift is about to follow the object, not the user
        try:
            self.bar.set_object(obj)
        finally:
            self._quiet = False
        if self.queue is not None:
            self.bar.queue = self.queue.as_dict(obj.object_id if obj is not None else None)

    def _viewer_z(self, change: dict[str, Any]) -> None:
        """A line dragged (or a z typed) in the viewer is the proposed redshift."""
        z = change["new"]
        if self._quiet or z is None or not self.bar.object:
            return
        if self.bar.redshift is None or abs(self.bar.redshift - z) > 1e-9:
            self.bar.redshift = z

    def _bar_z(self, change: dict[str, Any]) -> None:
        """A redshift typed in the bar moves the viewer's lines."""
        z = change["new"]
        if self._quiet or z is None or not 0 <= z <= 30:
            return  # a new object's own redshift: the Explorer moves the viewer itself
        if self.viewer.redshift is None or abs(self.viewer.redshift - z) > 1e-9:
            self.viewer.redshift = z

    def next(self) -> str | None:
        """Move to the next object: of the queue in queue mode, else the table's next row."""
        if self.queue is None:
            return self.browser.step(+1)
        nxt = self.queue.after(self.bar.object.get("object_id"))
        if nxt is None:
            self.bar.queue = {**self.queue.as_dict(None), "done": True}
            self.bar.error = f"end of the {self.queue.name} queue ({len(self.queue)} objects)"
            return None
        self.browser.selected = nxt  # the Explorer shows it (and calls show)
        return nxt

    def row_changed(self, object_id: str) -> None:
        """Redraw an object's row in the table (and the header, if shown) from the local
        catalog, after a write.
        """
        obj = self.cf.get_object(object_id)
        found = self.cf.reader.object_record(object_id)
        if obj is None or found is None:
            return
        stored = found["row"]
        row: dict[str, Any] = {"object_id": object_id}
        for col in self.browser.columns:
            if hasattr(obj, col):
                row[col] = getattr(obj, col)
            elif col in stored:
                row[col] = stored[col]
        self.browser.patch_rows([row])
        info = self.header.info if self.header is not None else {}
        if info.get("object_id") == object_id:
            assert self.header is not None
            self.header.info = {
                **info, "redshift": obj.redshift, "quality": obj.redshift_quality,
                "quality_label": obj.redshift_quality_label, "tags": list(obj.tags),
            }  # fmt: skip

    def close(self) -> None:
        """Stop following the viewer and close the bar."""
        self.viewer.unobserve(self._viewer_z, "redshift")
        self.bar.close()
