"""The archive's side of a remote query: filter sets as wire parameters, wire rows as local rows.

``remote=True`` queries (and any query without a synced catalog) ask ``/objects`` and
``/spectra/list``; these helpers keep the answer indistinguishable from a local one: the same
validated :class:`~campfire.catalog.filters.Filters` becomes the contract's query parameters
(:func:`wire_params`, api-v1 6.1), each row is renamed and typed into the local column layout
(:func:`object_row`, :func:`spectrum_row`; distances arrive in degrees and leave in arcsec),
and :func:`page_window` works around the contract's page-aligned offsets.

Examples
--------
>>> from campfire.catalog.filters import Filters
>>> from campfire.client.wire import wire_params
>>> wire_params(Filters(fields=("uds",), redshift_range=(2.0, None)))["redshift_min"]
'2.0'
"""

from __future__ import annotations

from typing import Any

from campfire.catalog.columns import OBJECT_COLUMNS, SPECTRUM_COLUMNS, best_redshift
from campfire.catalog.filters import Filters

__all__ = ["DEFAULT_LIMIT", "object_row", "page_window", "spectrum_row", "wire_params"]

DEFAULT_LIMIT = 1000  # remote page size (the contract's default)


def object_row(row: dict[str, Any]) -> dict[str, Any]:
    """An ``/objects`` row in the local column layout (``docs/python-client.md``)."""
    members = [m for m in row.get("member_targets") or [] if isinstance(m, dict)]
    out = {c: row.get(c) for c in OBJECT_COLUMNS}
    out["member_target_ids"] = row.get("member_target_ids") or sorted(
        str(m["target_id"]) for m in members if m.get("target_id")
    )
    out["observations"] = row.get("observations") or sorted(
        {str(m["observation"]) for m in members if m.get("observation")}
    )
    out["tags"] = sorted(
        {str(t["slug"]) if isinstance(t, dict) else str(t) for t in row.get("lists") or []}
    )
    out["programs"] = list(row.get("programs") or [])
    out["gratings"] = list(row.get("gratings") or [])
    out["redshift"] = best_redshift(row)
    out["redshift_quality"] = int(row.get("redshift_quality") or 0)
    if row.get("distance") is not None:
        out["distance"] = float(row["distance"]) * 3600.0  # degrees on the wire
    return out


def spectrum_row(row: dict[str, Any]) -> dict[str, Any]:
    """A ``/spectra/list`` row in the local column layout."""
    out = {c: row.get(c) for c in SPECTRUM_COLUMNS}
    out["object_id"] = row.get("object_id") or row.get("parent_object_id")
    out["dq_flags"] = int(row.get("dq_flags") or 0)
    out["redshift_quality"] = quality = int(row.get("redshift_quality") or 0)
    # the parent object's best redshift (the row's redshift_auto is the spectrum's own)
    out["redshift"] = None if quality == 1 else row.get("redshift")
    out["local_path"] = None
    if row.get("distance") is not None:
        out["distance"] = float(row["distance"]) * 3600.0
    return out


def wire_params(flt: Filters) -> dict[str, str]:
    """Query parameters of ``/objects`` and ``/spectra/list`` for a filter set (api-v1 6.1)."""
    p: dict[str, str] = {}
    for key in ("fields", "programs", "gratings", "observations"):
        if getattr(flt, key):
            p[key] = ",".join(getattr(flt, key))
    if flt.tags:
        p["lists"] = ",".join(flt.tags)
    if flt.redshift_quality:
        p["redshift_quality"] = ",".join(str(q) for q in flt.redshift_quality)
    for stem, rng in (("redshift", flt.redshift_range), ("max_snr", flt.max_snr_range)):
        lo, hi = rng or (None, None)
        if lo is not None:
            p[f"{stem}_min"] = repr(lo)
        if hi is not None:
            p[f"{stem}_max"] = repr(hi)
    for key, mask in zip(("include_any", "include_all", "exclude"), flt.dq, strict=True):
        if mask:
            p[f"dq_flags_{key}"] = str(mask)
    for key in ("inspected_only", "has_photometry"):
        if getattr(flt, key) is not None:
            p[key] = "true" if getattr(flt, key) else "false"
    if flt.search:
        p["search"] = flt.search
    if flt.cone is not None:
        p["ra"], p["dec"], p["radius"] = (repr(v) for v in flt.cone)
    p["sort"], p["sort_dir"] = flt.sort, flt.sort_dir
    return p


def page_window(offset: int, limit: int) -> tuple[int, int]:
    """A page size and page-aligned offset whose page holds rows ``[offset, offset+limit)``.

    ``/objects`` and ``/spectra/list`` round offsets down to a multiple of the page size
    (api-v1 quirk 6), so an arbitrary window is fetched as one aligned, larger page.

    Examples
    --------
    >>> page_window(2000, 1000), page_window(5, 10)
    ((1000, 2000), (15, 0))
    """
    size = max(limit, 1)
    while (offset % size) + limit > size:
        size += 1
    return size, offset - offset % size
