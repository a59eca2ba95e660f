"""ObjectBrowser: the synced catalog as a table that pages on demand from DuckDB.

Only the visible page travels to the browser. The first page is part of the widget's state, so
it is on screen as soon as the widget renders; further pages are answered from DuckDB through
custom messages (``{"type": "page", "offset", "limit", "seq"}`` → rows). Filters, sort and the
shown columns are synced traits: the browser edits them, the kernel validates them with the
same rules as :meth:`Campfire.query_objects` and, on a bad value, keeps the last good table and
says what was wrong in :attr:`ObjectBrowser.error`. Besides ``query_objects``' filters the
table takes ``photo_z_range``, ``exposure_time_range`` and ``all_gratings`` (applied by the
widget: :mod:`campfire.views.widgets.selection`).

Rows can be checked (:attr:`ObjectBrowser.checked`); "Download" fetches the spectra of the
checked objects (or of every row) with a progress bar (:meth:`ObjectBrowser.download`), and
"CSV of" / "HTML of" save them (:meth:`ObjectBrowser.export`).

Examples
--------
>>> from campfire import Campfire  # doctest: +SKIP
>>> from campfire.widgets import ObjectBrowser  # doctest: +SKIP
>>> browser = ObjectBrowser(Campfire(), fields=["uds"], redshift_range=(4, 8))  # doctest: +SKIP
>>> browser.selected  # the object_id clicked or reached with the arrow keys  # doctest: +SKIP
>>> cf.sql(browser.sql)  # the same rows, from the SQL the table runs  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import traitlets as t

from campfire.catalog.columns import OBJECT_COLUMNS
from campfire.catalog.filters import make_filters
from campfire.catalog.sql import inline_sql
from campfire.errors import CampfireError, NotFoundError, ValidationError
from campfire.views.widgets._assets import asset, esm
from campfire.views.widgets._base import CampfireWidget, static_table
from campfire.views.widgets.first_page import Opening, load_page, page_key, save_page
from campfire.views.widgets.selection import (
    WIDGET_FILTERS,
    apply_widget_filters,
    describe,
    needed_columns,
    split_filters,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from astropy.table import Table

    from campfire.catalog.engine import Catalog
    from campfire.catalog.filters import Filters
    from campfire.client import Campfire

__all__ = ["DEFAULT_COLUMNS", "FILTER_KEYS", "ObjectBrowser", "inline_sql"]

DEFAULT_COLUMNS = [
    "object_id", "field", "ra", "dec", "redshift", "redshift_quality", "n_spectra", "gratings",
    "max_snr", "tags",
]  # fmt: skip
#: The filters the table understands (the names of :meth:`Campfire.query_objects`).
FILTER_KEYS = (
    "fields", "programs", "gratings", "observations", "redshift_range", "redshift_quality",
    "max_snr_range", "tags", "inspected_only", "has_photometry", "search", "cone_search",
    "staleness", "inspected_by", *WIDGET_FILTERS,
)  # fmt: skip
MAX_PAGE = 500
log = logging.getLogger(__name__)


def _plain(filters: dict[str, Any]) -> dict[str, Any]:
    """Filters as JSON-able values (tuples become lists) for the synced trait."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in filters.items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


class ObjectBrowser(CampfireWidget):
    """The synced catalog as a paged, sortable, filterable table; click or arrow to select.

    Parameters
    ----------
    cf
        A client with a synced catalog (``cf.sync()`` first).
    page_size
        Rows per page (1-500).
    columns
        Columns shown (default :data:`DEFAULT_COLUMNS`); any of ``query_objects``' columns.
    sort, sort_dir
        Initial order: any shown column (``'distance'`` with a cone search), ``'asc'``/``'desc'``.
    **filters
        Initial filters, named as in :meth:`Campfire.query_objects` (``fields=['uds']``,
        ``redshift_range=(4, 8)``, ``cone_search=(ra, dec, radius_arcsec)`` …).

    Examples
    --------
    >>> b = ObjectBrowser(cf, tags=["lrd"], sort="redshift", sort_dir="desc")  # doctest: +SKIP
    >>> b.total, b.rows[0]["object_id"]  # doctest: +SKIP
    >>> b.to_table()  # every row the filters select, as an astropy Table  # doctest: +SKIP
    """

    _esm = esm("object_browser.js")
    _css = asset("object_browser.css")

    columns = t.List(t.Unicode()).tag(sync=True)
    all_columns = t.List(t.Unicode(), read_only=True).tag(sync=True)
    filters = t.Dict().tag(sync=True)
    sort = t.Unicode("object_id").tag(sync=True)
    sort_dir = t.Unicode("asc").tag(sync=True)
    page_size = t.Int(25).tag(sync=True)
    total = t.Int(0, read_only=True).tag(sync=True)
    offset = t.Int(0).tag(sync=True)
    rows = t.List(t.Dict(), read_only=True).tag(sync=True)
    query_id = t.Int(0, read_only=True).tag(sync=True)
    selected = t.Unicode(None, allow_none=True).tag(sync=True)
    vocab = t.Dict(read_only=True).tag(sync=True)
    error = t.Unicode("", read_only=True).tag(sync=True)
    sql = t.Unicode("", read_only=True).tag(sync=True)
    checked = t.List(t.Unicode()).tag(sync=True)
    job = t.Dict(read_only=True).tag(sync=True)
    can_export_html = t.Bool(False, read_only=True).tag(sync=True)

    def __init__(
        self,
        cf: Campfire,
        *,
        page_size: int = 25,
        columns: list[str] | None = None,
        sort: str = "object_id",
        sort_dir: str = "asc",
        selected: str | None = None,
        **filters: Any,
    ) -> None:
        unknown = sorted(set(filters) - set(FILTER_KEYS))
        if unknown:
            raise TypeError(
                f"ObjectBrowser got unknown filter(s) {', '.join(unknown)}; "
                f"filters: {', '.join(FILTER_KEYS)}"
            )
        cat = cf.catalog
        if cat is None:
            raise NotFoundError(
                f"the object browser reads the synced catalog, and there is none at "
                f"{cf.settings.db_path}: run cf.sync() (or `campfire sync`) first"
            )
        self._cf = cf
        self._cat: Catalog = cat
        self._applied: Filters | None = None
        self._extra: dict[str, Any] = {}
        self._pending_extra: dict[str, Any] = {}
        self._job: threading.Thread | None = None
        self._table: pa.Table | None = None
        self._version: tuple[str, str] | None = None
        self._ready = False
        #: who ``inspected_by="me"`` means: a user id, or a function returning it (default:
        #: the user the catalog was synced or written as)
        self.me: str | Callable[[], str | None] | None = lambda: cf.reader.user().get("id")
        super().__init__()
        self._warm: Opening | None = None  # the opening page, while the table is built
        self.set_trait("all_columns", list(OBJECT_COLUMNS))
        self.page_size = page_size
        self.columns = list(columns or DEFAULT_COLUMNS)
        self.sort, self.sort_dir = sort, sort_dir
        self.filters = _plain(filters)
        self._ready = True
        self.opened_from = "query"  # or "kept" (a page kept from the last kernel) or "duckdb"
        key = self._page_key()
        kept = load_page(self._cat.db_path.parent, key) if key else None
        if kept is not None:
            self.opened_from = "kept"
        else:
            kept = self._first_page()
            if kept is not None and key:
                save_page(self._cat.db_path.parent, key, kept)
        if kept is not None:  # rows at once; pyarrow and the whole table later, on a thread
            self._show_kept(kept)
        else:  # the widget's own filters need the whole table
            self._requery()
            if self.error:
                self.close()  # no half-made widget left registered with the kernel
                raise ValidationError(self.error)
            if key:
                save_page(self._cat.db_path.parent, key, self._opening_page())
        self.selected = selected
        self.set_trait("can_export_html", callable(getattr(cf, "export_html", None)))
        self.on_msg(self._on_msg)
        if kept is not None:  # the table behind it: later, or when needed (first_page.py)
            rows, total, versions = kept["rows"], kept["total"], self._cat.versions()
            self._warm = Opening(rows, total, versions, lambda: self._warm_up(kept))

    # -- the opening page, kept for the next kernel ----------------------------------------------
    def _page_key(self) -> str | None:
        """The opening page's cache key; None for a query that depends on who is asking."""
        if "inspected_by" in self.filters:
            return None
        query = {"filters": self.filters, "sort": [self.sort, self.sort_dir],
                 "columns": self.columns, "page_size": self.page_size}  # fmt: skip
        return page_key(self._cat.versions(), query)

    def _opening_page(self) -> dict[str, Any]:
        return {"rows": self.rows, "total": self.total, "vocab": self.vocab, "sql": self.sql}

    def _first_page(self) -> dict[str, Any] | None:
        """The opening page from DuckDB without pyarrow or numpy (:meth:`Catalog.first_page`);
        None when the widget's own filters need the whole table. Raises ValidationError.
        """
        self._load_vocab()
        try:
            flt = self._filters()
        except ValidationError:
            self.close()  # no half-made widget left registered with the kernel
            raise
        if self._pending_extra:
            return None
        cols = [c for c in self.columns if c != "distance" or flt.cone is not None]
        rows, total = self._cat.first_page("objects", flt, cols, self.page_size)
        self.opened_from = "duckdb"
        return {
            "rows": [{c: _json_value(v) for c, v in r.items()} for r in rows],
            "total": total,
            "vocab": self.vocab,
            "sql": self._cat.readable_sql("objects", flt),
        }

    def _show_kept(self, kept: dict[str, Any]) -> None:
        with self.hold_sync():
            self.set_trait("vocab", kept["vocab"])
            self.set_trait("sql", str(kept.get("sql", "")))
            self.set_trait("query_id", self.query_id + 1)
            self.set_trait("total", kept["total"])
            self.set_trait("rows", kept["rows"])

    def _warm_up(self, kept: dict[str, Any]) -> None:
        """Thread: load the catalog into DuckDB and run the query; the rows shown are checked
        against it (they differ only if the kept page was wrong) and replaced if they differ.
        """
        try:
            self._load_vocab()
            flt = self._filters()
            self._applied, self._extra = flt, self._pending_extra
            self._materialize()
            rows = self._rows(0, self.page_size)
        except Exception as exc:  # shown in the table's error line, never a traceback
            log.warning("the object browser could not query the catalog", exc_info=True)
            self.set_trait("error", f"could not query the catalog: {exc}")
            return
        if rows != kept["rows"] or self.offset != 0:
            self.set_trait("rows", self._rows(self.offset, self.page_size))

    def _settle(self) -> None:
        """Build the table behind the opening page now (if not yet) and wait for it."""
        warm = self._warm
        if warm is not None:
            warm.wait()
            if warm.thread is not threading.current_thread():
                self._warm = None

    def _from_kept(self, offset: int, limit: int) -> list[dict[str, Any]] | None:
        """Rows of the opening page while the table is built behind it (see ``Opening``)."""
        warm = self._warm
        if warm is None or self._table is not None:
            return None
        return warm.rows_for(offset, limit, self._cat.versions())

    def _load_vocab(self) -> None:
        vocab = self._cat.vocabulary()
        self.set_trait(
            "vocab", {k: vocab.get(k, []) for k in ("fields", "programs", "gratings", "tags")}
        )

    # -- validation ----------------------------------------------------------------------------
    @t.validate("page_size")
    def _check_page_size(self, proposal: Any) -> int:
        size = int(proposal["value"])
        if not 1 <= size <= MAX_PAGE:
            raise ValidationError(f"page_size must be 1-{MAX_PAGE} rows (got {size})")
        return size

    @t.validate("columns")
    def _check_columns(self, proposal: Any) -> list[str]:
        cols = list(dict.fromkeys(proposal["value"]))
        bad = [c for c in cols if c not in OBJECT_COLUMNS and c != "distance"]
        if bad:
            raise ValidationError(
                f"unknown column(s) {', '.join(bad)}; columns: {', '.join(OBJECT_COLUMNS)}"
            )
        return ["object_id", *[c for c in cols if c != "object_id"]]

    # -- the query -----------------------------------------------------------------------------
    def _filters(self) -> Filters:
        """Validate the filter and sort traits into catalog Filters (raises ValidationError)."""
        given = {k: v for k, v in (self.filters or {}).items() if v not in (None, "", [])}
        unknown = sorted(set(given) - set(FILTER_KEYS))
        if unknown:
            raise ValidationError(
                f"unknown filter(s) {', '.join(unknown)}; filters: {', '.join(FILTER_KEYS)}"
            )
        given, self._pending_extra = split_filters(given)
        for key in ("redshift_range", "max_snr_range", "cone_search"):
            if isinstance(given.get(key), list):
                given[key] = tuple(given[key])
        if given.get("inspected_by") == "me":
            me = self.me() if callable(self.me) else self.me
            if not me:
                raise ValidationError(
                    "'inspected by me' needs to know who you are: log in (campfire login) "
                    "and sync once online"
                )
            given["inspected_by"] = me
        flt = make_filters("objects", self._cat.vocabulary(), sort=None, **given)
        sort, direction = self.sort, self.sort_dir.lower()
        if sort not in OBJECT_COLUMNS and sort != "distance":
            raise ValidationError(f"cannot sort by {sort!r}; columns: {', '.join(OBJECT_COLUMNS)}")
        if sort == "distance" and flt.cone is None:
            raise ValidationError("sorting by distance needs a cone search (RA, Dec, radius)")
        if direction not in ("asc", "desc"):
            raise ValidationError(f"sort_dir must be 'asc' or 'desc' (got {self.sort_dir!r})")
        return dataclasses.replace(flt, sort=sort, sort_dir=direction, limit=None, offset=0)

    @t.observe("filters", "sort", "sort_dir", "page_size", "columns")
    def _requery(self, change: Any = None) -> None:
        if not self._ready:
            return
        self._settle()
        try:
            flt = self._filters()
        except ValidationError as exc:
            self.set_trait("error", str(exc))  # the last good table stays
            return
        self._applied, self._extra = flt, self._pending_extra
        self._materialize()
        with self.hold_sync():
            self.set_trait("error", "")
            self.set_trait("sql", self._cat.readable_sql("objects", flt) + describe(self._extra))
            self.set_trait("query_id", self.query_id + 1)
            self.offset = 0
            self.set_trait("rows", self.page(0))

    def _materialize(self) -> None:
        """Run the query once into an Arrow table of the shown columns, in the table's order.

        Every page is then a slice of it (well under a millisecond at 100,000 rows), and
        ``total`` is its length. It is rebuilt when the query changes, and when a sync or
        download changed the catalog since (checked on each page).
        """
        assert self._applied is not None
        flt = self._applied
        cols = [c for c in self.columns if c != "distance" or flt.cone is not None]
        extra_cols = [c for c in needed_columns(self._extra) if c not in cols]
        self._version = self._cat.versions()
        table = self._cat.arrow_table("objects", flt, cols + extra_cols)
        self._table = apply_widget_filters(table, self._extra).select(cols)
        self.set_trait("total", self._table.num_rows)

    def page(self, offset: int, limit: int | None = None) -> list[dict[str, Any]]:
        """Rows ``offset`` … ``offset + limit`` of the current table, shown columns only.

        Examples
        --------
        >>> [r["object_id"] for r in browser.page(50, 2)]  # doctest: +SKIP
        ['J021741.00-051017.0', 'J021741.12-051101.3']
        """
        limit = self.page_size if limit is None else limit
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValidationError(f"offset must be an integer ≥ 0 (got {offset!r})")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_PAGE:
            raise ValidationError(f"limit must be 0-{MAX_PAGE} rows (got {limit!r})")
        kept = self._from_kept(offset, limit)
        if kept is not None:
            return kept
        self._settle()
        if self._applied is None or self._table is None:
            raise ValidationError(f"the table has no valid query: {self.error}")
        return self._rows(offset, limit)

    def _rows(self, offset: int, limit: int) -> list[dict[str, Any]]:
        if self._cat.versions() != self._version:
            self._materialize()
        assert self._table is not None
        rows = self._table.slice(offset, limit).to_pylist()
        return [{c: _json_value(v) for c, v in r.items()} for r in rows]

    def position(self, object_id: str) -> int | None:
        """Row number (0-based) of an object in the current table, or None if not in it."""
        ids = [r["object_id"] for r in self._from_kept(0, self.page_size) or []]
        if object_id in ids:
            return ids.index(object_id)
        self._settle()
        if self._table is None:
            return None
        import pyarrow.compute as pc

        index = pc.index(self._table["object_id"], object_id).as_py()
        return None if index < 0 else int(index)

    def step(self, delta: int) -> str | None:
        """Select the object ``delta`` rows after (or before) the selected one; return its id.

        Examples
        --------
        >>> browser.step(+1)  # the next object in the table's order  # doctest: +SKIP
        """
        here = None if self.selected is None else self.position(self.selected)
        target = 0 if here is None else min(max(here + int(delta), 0), max(self.total - 1, 0))
        if self.total == 0:
            return None
        rows = self.page(target, 1)
        if rows:
            self.selected = rows[0]["object_id"]
        return self.selected

    def to_table(self) -> Table:
        """Every row the current filters select, in the table's order, as an astropy Table."""
        self._settle()
        if self._applied is None:
            raise ValidationError(f"the table has no valid query: {self.error}")
        table = self._cat.query("objects", self._applied)
        if self._extra and len(table):
            import pyarrow as pa

            cols = needed_columns(self._extra)
            probe = pa.table({c: [_json_value(v) for v in table[c].tolist()] for c in cols})
            keep = apply_widget_filters(
                probe.append_column("_row", pa.array(range(len(table)))), self._extra
            )
            table = table[keep["_row"].to_pylist()]
        return table

    def refresh(self) -> None:
        """Run the query again (after a sync, say)."""
        self._settle()
        self._load_vocab()
        self._requery()

    def set_filters(self, **filters: Any) -> None:
        """Replace the filters (names as in :meth:`Campfire.query_objects`); raises if invalid.

        Examples
        --------
        >>> browser.set_filters(fields=["uds"], redshift_quality=[3, 4])  # doctest: +SKIP
        """
        unknown = sorted(set(filters) - set(FILTER_KEYS))
        if unknown:
            raise TypeError(
                f"unknown filter(s) {', '.join(unknown)}; filters: {', '.join(FILTER_KEYS)}"
            )
        self.filters = _plain(filters)
        if self.error:
            raise ValidationError(self.error)

    # -- the checked rows: download and export -------------------------------------------------
    def chosen_ids(self) -> list[str]:
        """The checked objects, or with none checked every row of the table, in its order."""
        if self.checked:
            return list(self.checked)
        self._settle()
        if self._table is None:
            return []
        return [str(v) for v in self._table["object_id"].to_pylist()]

    def download(self, object_ids: list[str] | None = None, *, wait: bool = False) -> None:
        """Fetch the spectra of the checked objects (or ``object_ids``, or every row) that are
        not on disk yet, on a thread, with progress in :attr:`job` (the widget's bar).

        Examples
        --------
        >>> browser.checked = ["J021741.00-051017.0"]; browser.download(wait=True)  # doctest: +SKIP
        >>> browser.job["state"], browser.job["message"]  # doctest: +SKIP
        ('done', '3 files downloaded, 0 already here')
        """
        from campfire.views.widgets.selection import download_job

        if self._job is not None and self._job.is_alive():
            raise ValidationError("a download is already running: wait for it to finish")
        ids = self.chosen_ids() if object_ids is None else list(object_ids)

        def run() -> None:
            if download_job(self._cf, ids, lambda job: self.set_trait("job", job)):
                self.refresh()  # the table's n_downloaded and the catalog changed

        self.set_trait("job", {"kind": "download", "state": "running", "unit": "files",
                               "done": 0, "total": 0, "current": ""})  # fmt: skip
        self._job = threading.Thread(target=run, name="campfire-browser-download", daemon=True)
        self._job.start()
        if wait:
            self._job.join()

    def export(self, fmt: str = "csv") -> bytes:
        """The checked objects (or every row) as ``'csv'`` bytes, or ``'html'`` (a standalone
        page, when the client has ``export_html``).

        Examples
        --------
        >>> open("uds.csv", "wb").write(browser.export("csv"))  # doctest: +SKIP
        """
        from campfire.views.widgets.selection import export_csv

        table = self.to_table()
        if self.checked:
            keep = set(self.checked)
            table = table[[str(o) in keep for o in table["object_id"]]]
        if fmt == "csv":
            return export_csv(table)
        exporter = getattr(self._cf, "export_html", None)  # issue #11's cf.export_html, if there
        if fmt == "html" and callable(exporter):
            import tempfile
            from pathlib import Path

            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "objects.html"
                exporter([str(o) for o in table["object_id"]], path)
                return path.read_bytes()
        raise ValidationError(f"the table exports as 'csv' or 'html' (got {fmt!r})")

    def patch_rows(self, rows: list[dict[str, Any]]) -> None:
        """Redraw rows the kernel changed (an inspection saved), wherever they are cached.

        Each row is ``{'object_id': ..., column: value, ...}``; the browser updates the rows it
        holds (shown or prefetched) without asking for the page again.

        Examples
        --------
        >>> browser.patch_rows([{"object_id": "J1", "redshift_quality": 4}])  # doctest: +SKIP
        """
        clean = [{c: _json_value(v) for c, v in r.items()} for r in rows if r.get("object_id")]
        if clean:
            self.send({"type": "patch", "rows": clean})

    # -- messages from the browser -------------------------------------------------------------
    def _on_msg(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        reply: dict[str, Any] = {"type": kind, "seq": content.get("seq"), "query_id": self.query_id}
        try:
            if kind == "page":
                offset = int(content.get("offset", 0))
                limit = int(content.get("limit", self.page_size))
                reply.update(offset=offset, rows=self.page(max(offset, 0), min(limit, MAX_PAGE)))
            elif kind == "step":
                reply.update(selected=self.step(int(content.get("delta", 1))))
            elif kind == "download":
                self.download()
                return
            elif kind == "export":
                fmt = str(content.get("format", "csv"))
                data = self.export(fmt)
                mime = "text/csv" if fmt == "csv" else "text/html"
                self.send({"type": "export", "format": fmt, "filename": f"objects.{fmt}",
                           "mime": mime}, buffers=[data])  # fmt: skip
                return
            else:
                return
        except (CampfireError, ValueError, TypeError) as exc:
            reply = {"type": "error", "seq": content.get("seq"), "message": str(exc)}
        self.send(reply)

    def close(self) -> None:
        """Close the widget (the table is then not built behind its opening page)."""
        warm = getattr(self, "_warm", None)
        if warm is not None:
            warm.cancel()
        super().close()

    # -- static picture ------------------------------------------------------------------------
    def _static_bundle(self) -> dict[str, Any]:
        html = static_table(list(self.columns), self.rows, self.offset, self.total, self.selected)
        return {"text/html": html}
