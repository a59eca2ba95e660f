"""What the ObjectBrowser does with its rows beyond the catalog query: the widget's own
filters, and downloading or exporting a selection.

Filters the catalog query does not take (``photo_z_range``, ``exposure_time_range`` and
``all_gratings``) are applied to the query's Arrow table here, after the SQL, so the table,
its pages, ``to_table()`` and the exports all agree; the SQL the browser shows says so in a
comment. A download fetches each spectrum of the chosen objects that is not on disk yet
through :meth:`Campfire.download` (synced first, parallel, verified by SHA-256, kept under
``products/``), reporting files as they finish.

Examples
--------
>>> split_filters({"fields": ["uds"], "photo_z_range": [4, None]})
({'fields': ['uds']}, {'photo_z_range': (4.0, None)})
"""

from __future__ import annotations

import io
import logging
import math
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from campfire.errors import CampfireError, ValidationError

if TYPE_CHECKING:
    import pyarrow as pa
    from astropy.table import Table

    from campfire.client import Campfire

log = logging.getLogger("campfire.views.widgets.object_browser")

__all__ = [
    "MAX_DOWNLOAD_OBJECTS",
    "WIDGET_FILTERS",
    "apply_widget_filters",
    "describe",
    "download_job",
    "download_objects",
    "export_csv",
    "needed_columns",
    "split_filters",
]

#: Filters the browser applies itself (the catalog query has no such arguments).
WIDGET_FILTERS = ("photo_z_range", "exposure_time_range", "all_gratings")
#: The most objects one "download these" fetches (more: use ``campfire download``).
MAX_DOWNLOAD_OBJECTS = 2000
_RANGE_COLUMN = {"photo_z_range": "photo_z", "exposure_time_range": "max_exposure_time"}


def _range(name: str, value: Any) -> tuple[float | None, float | None] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValidationError(f"{name} is (min, max), either may be None (got {value!r})")
    lo, hi = (None if v is None else float(v) for v in value)
    if any(v is not None and not math.isfinite(v) for v in (lo, hi)):
        raise ValidationError(f"{name} takes finite numbers (got {value!r})")
    if lo is not None and hi is not None and lo > hi:
        raise ValidationError(f"{name} ({lo}, {hi}) is inverted: pass (min, max)")
    return None if lo is None and hi is None else (lo, hi)


def split_filters(given: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The catalog query's filters and the widget's own, the latter validated.

    Raises
    ------
    ValidationError
        For a malformed range, a non-boolean ``all_gratings``, or ``all_gratings`` without
        ``gratings``.
    """
    query = {k: v for k, v in given.items() if k not in WIDGET_FILTERS}
    extra: dict[str, Any] = {}
    for name in ("photo_z_range", "exposure_time_range"):
        rng = _range(name, given.get(name))
        if rng is not None:
            extra[name] = rng
    flag = given.get("all_gratings")
    if flag is not None and not isinstance(flag, bool):
        raise ValidationError(f"all_gratings is True or False (got {flag!r})")
    if flag:
        if not query.get("gratings"):
            raise ValidationError("all_gratings needs gratings: tick the gratings to require")
        extra["all_gratings"] = [str(g).upper() for g in query["gratings"]]
    return query, extra


def needed_columns(extra: dict[str, Any]) -> list[str]:
    """The columns the widget's filters read (fetched even when not shown)."""
    cols = [_RANGE_COLUMN[k] for k in ("photo_z_range", "exposure_time_range") if k in extra]
    return cols + (["gratings"] if "all_gratings" in extra else [])


def apply_widget_filters(table: pa.Table, extra: dict[str, Any]) -> pa.Table:
    """The rows of ``table`` that pass the widget's filters (order kept).

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"photo_z": [1.0, 5.0, None], "gratings": [["PRISM"], ["PRISM", "G395M"], []]})
    >>> apply_widget_filters(t, {"photo_z_range": (4.0, None)}).num_rows
    1
    >>> apply_widget_filters(t, {"all_gratings": ["PRISM", "G395M"]})["photo_z"].to_pylist()
    [5.0]
    """
    if not extra or table.num_rows == 0:
        return table  # (before importing pyarrow.compute: half a second of a fresh kernel)
    import pyarrow as pa
    import pyarrow.compute as pc

    mask = pa.array([True] * table.num_rows)
    for name in ("photo_z_range", "exposure_time_range"):
        if name in extra:
            lo, hi = extra[name]
            col = table[_RANGE_COLUMN[name]]
            if lo is not None:
                mask = pc.and_(mask, pc.fill_null(pc.greater_equal(col, lo), False))
            if hi is not None:
                mask = pc.and_(mask, pc.fill_null(pc.less_equal(col, hi), False))
    if "all_gratings" in extra:
        wanted = set(extra["all_gratings"])
        have = [
            wanted <= {str(g).upper() for g in (v or [])} for v in table["gratings"].to_pylist()
        ]
        mask = pc.and_(mask, pa.array(have))
    return table.filter(mask)


def describe(extra: dict[str, Any]) -> str:
    """The widget's filters as an SQL comment under the query the browser shows."""
    parts = []
    for name in ("photo_z_range", "exposure_time_range"):
        if name in extra:
            lo, hi = extra[name]
            col = _RANGE_COLUMN[name]
            parts += [f"{col} >= {lo}"] if lo is not None else []
            parts += [f"{col} <= {hi}"] if hi is not None else []
    if "all_gratings" in extra:
        parts.append(f"gratings contain all of {', '.join(extra['all_gratings'])}")
    return f"\n-- then, in the widget: {' AND '.join(parts)}" if parts else ""


def export_csv(table: Table) -> bytes:
    """The rows as CSV (lists joined with ``;``), as ``campfire query --format csv`` writes.

    Examples
    --------
    >>> from astropy.table import Table
    >>> export_csv(Table({"object_id": ["a"], "tags": [["x", "y"]]})).decode().splitlines()
    ['object_id,tags', 'a,x;y']
    """
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.colnames)
    for row in table:
        cells = []
        for name in table.colnames:
            v = row[name]
            if hasattr(v, "mask") and bool(getattr(v, "mask", False)) is True:
                cells.append("")
            elif isinstance(v, list | tuple) or (
                hasattr(v, "tolist") and isinstance(v.tolist(), list)
            ):
                cells.append(";".join(str(x) for x in (v.tolist() if hasattr(v, "tolist") else v)))
            else:
                cells.append(str(v))
        writer.writerow(cells)
    return buf.getvalue().encode()


def download_objects(
    cf: Campfire, object_ids: list[str], progress: Callable[[int, int, str], None] | None = None
) -> dict[str, Any]:
    """Fetch the spectra of ``object_ids`` that are not on disk yet, verified, into products/,
    with :meth:`Campfire.download` (its sync, plan and parallel transfers).

    ``progress(done, total, observation)`` is called as files finish (files already here count
    as done). Returns ``{"downloaded", "present", "failed": [messages], "total", "bytes"}``.

    Raises
    ------
    ValidationError
        For more than :data:`MAX_DOWNLOAD_OBJECTS` objects.
    """
    if len(object_ids) > MAX_DOWNLOAD_OBJECTS:
        raise ValidationError(
            f"{len(object_ids):,} objects is more than one click downloads "
            f"({MAX_DOWNLOAD_OBJECTS:,}); narrow the filters, or run `campfire download`"
        )
    wanted = set(object_ids)
    spectra = cf.query_spectra()
    total = sum(str(o) in wanted for o in spectra["object_id"])
    planned: dict[str, int] = {}  # files to fetch, by observation
    finished: dict[str, int] = {}
    lock = threading.Lock()

    def report(kind: str, observation: str, amount: int, _total: int) -> None:
        if progress is None or kind not in ("observation", "file"):
            return
        with lock:
            (planned if kind == "observation" else finished)[observation] = amount
            present = total - sum(planned.values())
            done = present + sum(finished.values())
        progress(min(done, total), total, observation)

    if progress is not None:
        progress(0, total, "")
    res = cf.download(object_ids=list(object_ids), progress=report) if object_ids else None
    fetched = sum(planned.values())
    failed = [f"{f.local_path}: {f.reason}" for f in res.failures] if res else []
    if progress is not None:
        progress(total, total, "")
    return {
        "downloaded": res.downloaded if res else 0,
        "present": max(total - fetched, 0),
        "failed": failed,
        "total": total,
        "bytes": res.bytes if res else 0,
    }


def download_job(cf: Campfire, ids: list[str], set_job: Callable[[dict[str, Any]], None]) -> bool:
    """Run :func:`download_objects` for the browser's Download button, reporting its progress
    and outcome as the widget's ``job`` dicts through ``set_job``; True if it ran to the end.

    Never raises: a failed download is a ``job`` in state ``'error'`` with its message.
    """
    job = {"kind": "download", "state": "running", "unit": "files"}

    def progress(done: int, total: int, current: str) -> None:
        set_job({**job, "done": done, "total": total, "current": current})

    try:
        res = download_objects(cf, ids, progress)
    except CampfireError as exc:
        set_job({"kind": "download", "state": "error", "message": str(exc)})
        return False
    except Exception as exc:  # a failed download never takes the widget with it
        log.warning("download from the browser failed", exc_info=True)
        set_job({"kind": "download", "state": "error", "message": repr(exc)})
        return False
    msg = f"{res['downloaded']} files downloaded, {res['present']} already here"
    if res["failed"]:
        msg += f"; {len(res['failed'])} failed: {res['failed'][0]}"
    state = "error" if res["failed"] and not res["downloaded"] else "done"
    set_job({"kind": "download", "state": state, "message": msg, "done": res["total"],
             "total": res["total"], "bytes": res["bytes"]})  # fmt: skip
    return True
