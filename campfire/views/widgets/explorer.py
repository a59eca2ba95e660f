"""Explorer: the object browser, spectrum viewer and cutout panel, linked.

Choosing an object in the table (click, arrow keys, or the header's ◀ ▶) shows its details in
the header, then loads its spectra and cutout on a worker thread: downloaded spectra open from
disk, the others are fetched through :meth:`Campfire.open_spectrum` (verified, kept in
``products/``), with progress in the header. Spectra appear one by one as they arrive; choosing
another object meanwhile drops the rest. The viewer's *hold rest zoom* (on by default) keeps a
rest-frame window (say Hα + [NII]) while flipping through objects.

Under the viewer, the :class:`SciencePanel` shows the object's SED with the spectra's
synthetic photometry over it, its photo-z, the redshift fit's χ²(z) with the viewer's redshift
marked (live while dragging) and the objects within 1′ (click one to go there).

Layout, top to bottom: header; table and cutout; viewer; then any bars added under the viewer
(:attr:`Explorer.under_viewer`, the place for the inspection bar); the science panel.

Examples
--------
>>> from campfire import Campfire  # doctest: +SKIP
>>> from campfire.widgets import Explorer  # doctest: +SKIP
>>> ex = Explorer(Campfire(), tags=["lrd"])  # doctest: +SKIP
>>> ex  # doctest: +SKIP
>>> ex.show("J021741.00-051017.0"); ex.wait()  # doctest: +SKIP
>>> ex.viewer.zoom_rest(6400, 6700)  # doctest: +SKIP
"""

from __future__ import annotations

import html
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets
import traitlets as t

from campfire.errors import CampfireError
from campfire.views.widgets._assets import asset
from campfire.views.widgets._base import (
    LIVE_CLASS,
    CampfireWidget,
    display_with_picture,
    png_html,
)
from campfire.views.widgets.cutout_panel import CutoutPanel
from campfire.views.widgets.explorer_inspection import (
    EXPLORER_COLUMNS,
    ExplorerInspection,
    resolve_queue,
)
from campfire.views.widgets.object_browser import ObjectBrowser
from campfire.views.widgets.science_panel import SciencePanel
from campfire.views.widgets.spectrum_cache import SpectrumCache, open_1d
from campfire.views.widgets.spectrum_viewer import SpectrumViewer

if TYPE_CHECKING:
    from campfire.client import Campfire
    from campfire.models.object import Object

__all__ = ["Explorer", "ExplorerHeader"]

log = logging.getLogger(__name__)
#: Spectra kept read 1D-only (the visible page's, read ahead: small, a few ms each to read).
QUICK_KEEP = 256


class ExplorerHeader(CampfireWidget):
    """The Explorer's header: the chosen object, loading progress, errors, ◀ ▶ buttons."""

    _esm = asset("explorer.js")
    _css = asset("explorer.css")

    info = t.Dict().tag(sync=True)
    progress = t.Dict().tag(sync=True)
    errors = t.List(t.Unicode()).tag(sync=True)


def _object_info(obj: Object) -> dict[str, Any]:
    return {
        "object_id": obj.object_id,
        "field": obj.field,
        "ra": obj.ra,
        "dec": obj.dec,
        "redshift": obj.redshift,
        "quality": obj.redshift_quality,
        "quality_label": obj.redshift_quality_label,
        "tags": list(obj.tags),
        "gratings": obj.spectra.gratings or list(obj.gratings),
        "n_spectra": len(obj.spectra),
    }


class Explorer(ipywidgets.VBox):  # type: ignore[misc]
    """The catalog, an object's spectra and its cutout, linked, for one client.

    Parameters
    ----------
    cf
        A client with a synced catalog.
    object_id
        Object to show first (default: none until one is chosen).
    page_size
        Rows per page of the table.
    fov
        Cutout field of view in arcsec.
    science
        Show the science panel (SED, photo-z, χ²(z), neighbours) under the viewer.
    queue
        Step through these objects with Enter: ``'uninspected'``, ``'needs_review'``,
        ``'inspected'`` or ``'all'`` (the table's filters apply), a query Table or object ids.
    **filters
        Initial table filters, as in :meth:`Campfire.query_objects`.

    Attributes
    ----------
    browser, viewer, cutout, header, science
        The :class:`ObjectBrowser`, :class:`SpectrumViewer`, :class:`CutoutPanel`, header and
        :class:`SciencePanel`.
    under_viewer
        Widgets shown between the viewer and the science panel (the inspection bar first).
    inspection
        The :class:`~campfire.views.widgets.inspection.InspectionBar`, the first of
        ``under_viewer``.
    object
        The :class:`~campfire.models.object.Object` shown, or None.

    Examples
    --------
    >>> ex = Explorer(cf, fields=["uds"], redshift_range=(4, 10))  # doctest: +SKIP
    >>> ex.browser.step(+1); ex.wait()  # the next object, spectra loaded  # doctest: +SKIP
    """

    def __init__(
        self,
        cf: Campfire,
        *,
        object_id: str | None = None,
        page_size: int = 15,
        fov: float = 5.0,
        science: bool = True,
        queue: Any = None,
        **filters: Any,
    ) -> None:
        self.cf = cf
        self.browser = ObjectBrowser(cf, page_size=page_size, columns=EXPLORER_COLUMNS, **filters)
        todo = resolve_queue(cf, queue, filters)
        self.viewer = SpectrumViewer(hold_rest_zoom=True)
        self.cutout = CutoutPanel(cf=cf, fov=fov)
        self.header = ExplorerHeader()
        self.science = SciencePanel()
        self.viewer.channel = self.science.channel
        self.under_viewer: list[Any] = []
        self._inspect = ExplorerInspection(cf, self.browser, self.viewer, todo, self.header)
        self.inspection = self._inspect.bar
        self.under_viewer.append(self.inspection)
        self.object: Object | None = None
        self._lock = threading.Lock()
        self._generation = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="campfire-explorer")
        self._cache = SpectrumCache()  # decoded spectra, the neighbours' read ahead
        self._quick = SpectrumCache(keep=QUICK_KEEP)  # 1D alone, the visible page's read ahead
        self._future: Future[None] | None = None
        self.browser.layout = ipywidgets.Layout(flex="1 1 auto", min_width="0")
        self.cutout.layout = ipywidgets.Layout(margin="0 0 0 12px", flex="0 0 auto")
        self._row = ipywidgets.HBox(
            [self.browser, self.cutout], layout=ipywidgets.Layout(width="100%")
        )
        if not science:
            self.science.layout = ipywidgets.Layout(display="none")
        super().__init__(self._layout(), layout=ipywidgets.Layout(width="100%"))
        self.add_class("cf-explorer")
        self.add_class(LIVE_CLASS)
        self.browser.observe(self._chosen, "selected")
        self.header.on_msg(self._header_msg)
        self.science.on_goto(self._goto)
        self.viewer.observe(self._viewer_z, "redshift")
        if object_id is None and todo is not None and len(todo):
            object_id = todo.ids[0]
        if object_id is not None:
            self.browser.selected = object_id

    def _layout(self) -> list[Any]:
        """The children, top to bottom (see the module's docstring)."""
        return [self.header, self._row, self.viewer, *self.under_viewer, self.science]

    def add_under_viewer(self, widget: Any) -> None:
        """Show a widget between the viewer and the science panel (e.g. an inspection bar)."""
        self.under_viewer.append(widget)
        self.children = self._layout()

    def _viewer_z(self, change: dict[str, Any]) -> None:
        self.science.redshift = change["new"]

    def _goto(self, object_id: str) -> None:
        if object_id:
            self.show(object_id)

    def _chosen(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.show(change["new"])

    def _header_msg(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        if isinstance(content, dict) and content.get("type") == "step":
            try:
                self.browser.step(int(content.get("delta", 1)))
            except (CampfireError, ValueError) as exc:
                self.header.errors = [str(exc)]

    def show(self, object_id: str) -> None:
        """Show an object: header at once, spectra and cutout as they load (on a thread)."""
        if self.browser.selected != object_id:
            self.browser.selected = object_id  # comes back here through the observer
            return
        try:
            obj = self.cf.get_object(object_id)
        except CampfireError as exc:
            obj, why = None, str(exc)
        else:
            why = f"{object_id} is not in the synced catalog"
        with self._lock:
            self._generation += 1
            gen = self._generation
            self._inspect.show(obj)
            if obj is None:
                self.object = None
                self.header.info = {"object_id": object_id}
                self.header.errors = [why]
                self.viewer.clear(title=object_id)
                self.science.clear()
                return
            self.object = obj
            self.header.info = _object_info(obj)
            self.header.errors = []
            self.header.progress = {"done": 0, "total": len(obj.spectra), "state": "loading"}
            self.viewer.set_spectra([], redshift=obj.redshift)
            self.viewer.title = object_id
            self.viewer.message = "" if len(obj.spectra) else "this object has no spectra"
            self.science.show_object(obj)  # neighbours and the fit come after the spectra
        self._future = self._pool.submit(self._load, gen, obj)
        nearby = self._neighbours(object_id)
        wanted = lambda: self._current(gen)  # noqa: E731
        self._pool.submit(self._cache.prefetch, self.cf, nearby, wanted)
        page = [str(r.get("object_id")) for r in self.browser.rows if r.get("object_id")]
        self._pool.submit(self._quick.prefetch, self.cf, page, wanted, open_1d)

    def _neighbours(self, object_id: str) -> list[str]:
        """The rows after and before ``object_id`` in the table (next first), to read ahead."""
        try:
            here = self.browser.position(object_id)
            if here is None:
                return []
            rows = self.browser.page(max(here - 1, 0), 3 if here else 2)
        except CampfireError:
            return []
        ids = [str(r["object_id"]) for r in rows if r["object_id"] != object_id]
        return ids[::-1] if here else ids  # the next row first

    def _read_1d(self, spectrum_id: str) -> Any:
        """A downloaded spectrum's 1D alone (fast), or None (not on disk, or unreadable: the
        full read reports why).
        """
        try:
            return open_1d(self.cf, spectrum_id)
        except Exception as exc:
            log.debug("explorer: no quick 1D read of %s: %s", spectrum_id, exc)
            return None

    def _current(self, gen: int) -> bool:
        return gen == self._generation

    def _load(self, gen: int, obj: Object) -> None:
        """Worker: the spectra, then the cutout, dropping out if superseded.

        Spectra read ahead, or else downloaded ones read 1D-only (a few ms each), are drawn in
        one message; their 2D strips follow in a second once the full files are read. Spectra
        to fetch are shown one by one (PRISM first) as they arrive.
        """
        errors: list[str] = []
        if not self._current(gen):
            return
        spectra = sorted(
            obj.spectra, key=lambda s: (s.grating != "PRISM", s.grating, s.spectrum_id)
        )
        total = len(spectra)
        shown: list[Any] = []
        kept = [self._cache.get(sp.spectrum_id) for sp in spectra]
        quick: set[str] = set()  # read 1D-only to draw at once (ms each); in full after
        for k, sp in enumerate(spectra if None in kept else []):
            if kept[k] is None:
                kept[k] = self._quick.get(sp.spectrum_id) or self._read_1d(sp.spectrum_id)
                quick |= {sp.spectrum_id} if kept[k] is not None else set()
        if spectra and all(d is not None for d in kept):  # read ahead, or 1D: one message
            with self._lock:
                if not self._current(gen):
                    return
                self.viewer.add_spectrum(kept)
                shown = kept
        full: list[Any] = []  # the 2D products of those drawn from their 1D alone
        drawn = bool(shown)  # all drawn at once: only the 1D-only ones are read in full below
        todo = [sp for sp in spectra if not drawn or sp.spectrum_id in quick]
        for i, sp in enumerate(todo):
            if not self._current(gen):
                return
            if not drawn:
                action = "opening" if sp.downloaded else "fetching"
                self.header.progress = {
                    "done": i, "total": total, "state": "loading", "action": action,
                    "current": sp.spectrum_id,
                }  # fmt: skip
            try:
                data = self._cache.open(self.cf, sp.spectrum_id)
            except Exception as exc:  # shown in the header; the explorer carries on
                unexpected = not isinstance(exc, CampfireError)
                log.info("explorer: %s not shown: %s", sp.spectrum_id, exc, exc_info=unexpected)
                errors.append(f"{sp.spectrum_id}: {exc}")
                with self._lock:
                    if self._current(gen):
                        self.header.errors = list(errors)
                continue
            if drawn:
                full.append(data)
                continue
            with self._lock:
                if not self._current(gen):
                    return
                self.viewer.add_spectrum(data)
                shown.append(data)
        if full:
            with self._lock:
                if not self._current(gen):
                    return
                self.viewer.replace_spectra(full)
        with self._lock:
            if self._current(gen):
                state = "error" if errors and len(errors) == total else "done"
                self.header.progress = {"done": total, "total": total, "state": state}
        if self._current(gen):
            self.cutout.load(obj.object_id)  # after the spectra: a fetch must not hold them up
        self._load_science(gen, shown, spectra)

    def _load_science(self, gen: int, shown: list[Any], spectra: list[Any]) -> None:
        """Worker, after the spectra: neighbours, synthetic photometry, first spectrum's χ²(z)."""
        if not self._current(gen) or self.object is None:
            return
        self.science.add_neighbours(self.cf, self.object)
        self.science.add_spectra(shown)
        if spectra and self._current(gen):
            self.science.load_fit(self.cf, spectra[0].spectrum_id)

    def to_html(self, path: str | os.PathLike[str], **options: Any) -> Path:
        """Write what the explorer shows as a standalone HTML page (see ``cf.export_html``).

        The page holds every object the table selects (its filters, in its order).
        ``options`` go to :meth:`Campfire.export_html`
        (``max_objects``, ``title``, ``fov``, ``max_bins``).

        Examples
        --------
        >>> ex.to_html("lrds.html", title="Little red dots")  # doctest: +SKIP
        PosixPath('lrds.html')
        """
        return self.cf.export_html(self.browser.to_table(), path, **options)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current object to finish loading; True when it has.

        Examples
        --------
        >>> ex.show("J021741.00-051017.0"); ex.wait(30)  # doctest: +SKIP
        True
        """
        future = self._future
        if future is None:
            return True
        try:
            future.result(timeout=timeout)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        """Close the widgets and stop the worker."""
        # also reached from __del__, of a half-built explorer or after an explicit close
        if hasattr(self, "_pool") and not getattr(self, "_closed", False):
            self._closed = True
            with self._lock:
                self._generation += 1
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._inspect.close()
            for w in (self.header, self.browser, self.viewer, self.cutout, self.science):
                w.close()
        super().close()

    _ipython_display_ = display_with_picture  # the live view, and a picture beside it

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
        if data is None:
            return None
        try:
            info = self.header.info or {}
            title = html.escape(str(info.get("object_id") or "CAMPFIRE explorer"))
            table = self.browser._static_bundle()["text/html"]
            spec = png_html(self.viewer.to_png(), "spectra") if self.viewer.traces else ""
            cut = png_html(self.cutout.to_png(), "cutout", 300)
            data["text/html"] = (
                f"<div class='cf-static'><h4>{title}</h4><div style='display:flex;gap:12px'>"
                f"{table}{cut}</div>{spec}</div>"
            )
        except Exception as exc:  # a picture is a courtesy: never break the live widget
            log.warning("no static picture for the explorer: %s", exc)
        return data, meta
