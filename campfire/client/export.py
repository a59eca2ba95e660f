"""``Campfire.export_html``: a standalone HTML explorer of a selection, for sharing.

The page (built by :mod:`campfire.views.htmlpage`) holds the objects' catalog values, their
spectra binned to display resolution, cached cutouts and shutters, and an inspection form;
BokehJS is inline, so the file opens from disk, e-mail or a web folder with no kernel and no
network. Spectra not downloaded are fetched (and kept) as :meth:`Campfire.open_spectrum` does.

Examples
--------
>>> from campfire import Campfire  # doctest: +SKIP
>>> cf = Campfire()  # doctest: +SKIP
>>> cf.export_html(cf.query_objects(tags=["lrd"]), "lrds.html")  # doctest: +SKIP
PosixPath('lrds.html')
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campfire.errors import CampfireError, NotFoundError, ValidationError

if TYPE_CHECKING:
    from campfire.client.core import Campfire
    from campfire.models.data import SpectrumData
    from campfire.views.htmlpage import PageObject

__all__ = ["DEFAULT_MAX_OBJECTS", "EXPORT_HTML", "export_html", "selected_ids"]

log = logging.getLogger("campfire.client")

#: Objects a page holds unless told otherwise (500 PRISM objects make about 4 MB).
DEFAULT_MAX_OBJECTS = 500


def selected_ids(selection: Any) -> list[str]:
    """The object ids of a selection: a query result Table, one id, or an iterable of ids.

    Examples
    --------
    >>> selected_ids(["b", "a", "b"])
    ['b', 'a']
    """
    if isinstance(selection, str):
        values: Iterable[Any] = [selection]
    elif hasattr(selection, "colnames"):  # an astropy Table (query_objects, sql)
        if "object_id" not in selection.colnames:
            raise ValidationError(
                "the selection table has no object_id column: pass cf.query_objects(...) or a "
                f"SQL result that selects object_id (its columns: {', '.join(selection.colnames)})"
            )
        values = selection["object_id"]
    elif isinstance(selection, Iterable):
        values = selection
    else:
        raise ValidationError(
            f"selection must be a query result Table or object ids, not {type(selection).__name__}"
        )
    ids: list[str] = []
    for v in values:
        if not isinstance(v, str) or not v.strip():
            raise ValidationError(f"object ids must be non-empty strings (got {v!r})")
        ids.append(v.strip())
    return list(dict.fromkeys(ids))


def _imaging(cf: Campfire, object_id: str, fov: float) -> tuple[bytes | None, Any]:
    """The cached cutout PNG and shutters of ``fov`` (None each when not cached)."""
    png = shutters = None
    try:
        cut = cf.cutouts.cache_file(object_id, f"{object_id}_fov{fov:g}.png")
        shut = cf.cutouts.cache_file(object_id, f"{object_id}_fov{fov:g}_shutters.json")
    except ValidationError:
        return None, None
    if cut.is_file():
        png = cut.read_bytes()
    if shut.is_file():
        try:
            shutters = json.loads(shut.read_text())
        except (OSError, ValueError):
            log.info("export_html: cached shutters %s unreadable; not drawn", shut)
    return png, shutters


def _open_1d(cf: Campfire, spectrum_id: str) -> SpectrumData:
    """A downloaded spectrum's 1D data alone (the page shows no 2D products), else
    :meth:`Campfire.open_spectrum` (which fetches the file).
    """
    from campfire.io.fits import read_spectrum

    row = cf.reader.spectrum_to_open(spectrum_id)
    path = None if row is None else cf.downloads.local_file(row)
    if row is None or path is None:
        return cf.open_spectrum(spectrum_id)
    spec = read_spectrum(path, spectrum_id=spectrum_id, products="1d")
    spec.object_id = spec.object_id or row.get("object_id")
    if spec.redshift is None and row.get("_redshift") is not None:
        spec.redshift = row["_redshift"]
    return spec


def _gather(cf: Campfire, object_id: str, fov: float) -> PageObject:
    from campfire.views.htmlpage import PageObject

    obj = cf.get_object(object_id)
    if obj is None:
        raise NotFoundError(object_id)
    page = PageObject(obj=obj, fov=fov)
    for sp in obj.spectra:
        try:
            page.spectra.append(_open_1d(cf, sp.spectrum_id))
        except CampfireError as exc:  # shown on the page; the others still go in
            page.problems.append(f"{sp.spectrum_id} not shown: {exc}")
    if not len(obj.spectra):
        page.problems.append("no spectra in the catalog")
    page.cutout_png, page.shutters = _imaging(cf, object_id, fov)
    return page


def export_html(
    self: Campfire,
    selection: Any,
    path: str | os.PathLike[str],
    *,
    max_objects: int = DEFAULT_MAX_OBJECTS,
    title: str | None = None,
    fov: float = 5.0,
    max_bins: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write a standalone HTML explorer of the selected objects: one file, no kernel needed.

    The page links a sky plot, redshift against S/N and a sortable table (selecting in one
    selects in all); shows the chosen object's spectra (fν or fλ, errors, smoothing, emission
    lines that follow a redshift box and slider), its cached cutout with shutters, and an
    inspection form whose answers stay in the browser and export as CSV for
    ``campfire inspect --import``. BokehJS and the data are inline: opened from disk with the
    network off, the page makes no request.

    Parameters
    ----------
    selection
        A query result :class:`~astropy.table.Table` (``cf.query_objects(...)``, or
        ``cf.sql(...)`` selecting ``object_id``), one object id, or an iterable of ids (object
        names or target ids, as :meth:`Campfire.get_object` takes).
    path
        The HTML file to write (replaced if it exists).
    max_objects
        Refuse selections larger than this (a page is 2 MB of Bokeh plus ~3.5 kB a PRISM object).
    title
        The page's title (default: ``campfire: N objects``). Inspections in the browser are
        kept per title and selection.
    fov
        Field of view (arcsec) of the cached cutouts and shutters to include.
    max_bins
        Most points per spectrum (default 400, about a plot's width in pixels).
    progress
        ``progress(done, total)`` after each object is gathered.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValidationError
        The selection is empty, malformed, or larger than ``max_objects``.
    NotFoundError
        An object id is not in the catalog.

    Examples
    --------
    >>> cf.export_html(cf.query_objects(tags=["lrd"]), "lrds.html")  # doctest: +SKIP
    PosixPath('lrds.html')
    >>> cf.export_html(["J021740.53-051228.1"], "one.html", title="hero")  # doctest: +SKIP
    PosixPath('one.html')
    """
    try:
        from campfire.views.htmlpage import MAX_BINS, page_html
    except ImportError as exc:  # bokeh is in the plotting extra
        raise ValidationError(
            f"export_html needs bokeh 3.4 or later ({exc}): pip install 'campfire[plotting]'"
        ) from exc

    ids = selected_ids(selection)
    if isinstance(max_objects, bool) or not isinstance(max_objects, int) or max_objects < 1:
        raise ValidationError(f"max_objects must be a positive integer (got {max_objects!r})")
    if not ids:
        raise ValidationError("the selection is empty: no object to put on the page")
    if len(ids) > max_objects:
        raise ValidationError(
            f"{len(ids)} objects selected, more than the page's limit of {max_objects}: narrow "
            f"the selection, or raise the limit with --max-objects {len(ids)} "
            f"(max_objects={len(ids)} in Python); each PRISM object adds about 3.5 kB"
        )
    bins = MAX_BINS if max_bins is None else max_bins
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 10:
        raise ValidationError(f"max_bins must be an integer of at least 10 (got {max_bins!r})")
    pages: list[PageObject] = []
    unknown: list[str] = []
    seen: set[str] = set()
    for i, object_id in enumerate(ids):
        try:
            page = _gather(self, object_id, fov)  # a target id names its object
        except NotFoundError:
            unknown.append(object_id)
        else:
            if page.obj.object_id not in seen:  # one object named twice is shown once
                seen.add(page.obj.object_id)
                pages.append(page)
        if progress is not None:
            progress(i + 1, len(ids))
    if unknown:
        more = f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else ""
        raise NotFoundError(
            f"not in the catalog: {', '.join(unknown[:5])}{more}. Check the ids, or run "
            "campfire sync if they are new."
        )
    from campfire._version import __version__

    footer = (
        f"<p style='color:#777;font-size:small'>Made by campfire {__version__} from the "
        f"catalog synced {self.last_synced or 'never (archive records)'}.</p>"
    )
    text = page_html(
        pages, title or f"campfire: {len(pages)} objects", max_bins=bins, fov=fov, footer=footer
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.part")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


#: ``Campfire.export_html`` (bound in the class).
EXPORT_HTML = export_html
