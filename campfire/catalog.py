"""Local queries over the synced catalog, served by DuckDB.

SQLite (``<data_dir>/meta/campfire.db``) is the system of record; DuckDB is the query engine.
DuckDB's SQLite scanner is an extension that would have to be downloaded, so instead the store's
tables are copied into a **Parquet snapshot** (``meta/snapshot/``, written with pyarrow) and
loaded into an in-memory DuckDB database. Snapshots are keyed by the store's ``_meta`` counters:
the catalog tables by ``catalog_version``, the table of downloaded files by ``catalog_version``
and ``files_version``. Each query first reads the two counters (one small SQLite read) and
reloads only what changed, so a query never sees a catalog older than the last sync or download,
and a new process loads the snapshot instead of re-reading SQLite.

In DuckDB the tables keep the store's names with richer types (``docs/python-client.md``):
``objects`` (list columns as ``VARCHAR[]``, ``tags``, ``redshift`` = inspected over auto and
null for quality 1), ``spectra`` (plus the parent object's ``ra``, ``dec``, ``redshift``,
``redshift_quality``, ``tags`` and the local file columns), ``object_photometry``,
``object_lists`` and ``object_list_memberships``.

Examples
--------
>>> from campfire.catalog import Catalog, Filters
>>> cat = Catalog("~/campfire/meta/campfire.db")  # doctest: +SKIP
>>> cat.query("objects", Filters(fields=("uds",), limit=5))  # doctest: +SKIP
>>> cat.sql("SELECT field, count(*) AS n FROM objects GROUP BY field")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import math
import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campfire.errors import SchemaError, ValidationError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from astropy.table import Table

__all__ = [
    "OBJECT_COLUMNS",
    "SPECTRUM_COLUMNS",
    "Catalog",
    "Filters",
    "build_table",
    "compile_local",
    "make_filters",
]

log = logging.getLogger(__name__)

# output columns of query_objects / query_spectra: name -> (kind, unit)
OBJECT_COLUMNS: dict[str, tuple[str, str | None]] = {
    "object_id": ("str", None), "field": ("str", None), "ra": ("float", "deg"),
    "dec": ("float", "deg"), "redshift": ("float", None), "redshift_auto": ("float", None),
    "redshift_inspected": ("float", None), "redshift_quality": ("int", None),
    "n_targets": ("int", None), "n_spectra": ("int", None), "programs": ("list", None),
    "gratings": ("list", None), "observations": ("list", None),
    "member_target_ids": ("list", None), "tags": ("list", None), "max_snr": ("float", None),
    "max_exposure_time": ("float", "s"), "has_photometry": ("bool", None),
    "photo_z": ("float", None), "photo_z_err_lo": ("float", None),
    "photo_z_err_hi": ("float", None), "last_inspected_at": ("str", None),
    "last_inspected_by": ("str", None), "last_data_change_at": ("str", None),
    "staleness_reason": ("str", None),
}  # fmt: skip
SPECTRUM_COLUMNS: dict[str, tuple[str, str | None]] = {
    "spectrum_id": ("str", None), "target_id": ("str", None), "object_id": ("str", None),
    "grating": ("str", None), "fits_path": ("str", None), "signal_to_noise": ("float", None),
    "exposure_time": ("float", "s"), "reduction_version": ("str", None),
    "redshift_auto": ("float", None), "dq_flags": ("int", None), "local_path": ("str", None),
    "program_slug": ("str", None), "observation": ("str", None), "field": ("str", None),
    "file_hash": ("str", None), "file_size": ("int", "byte"), "ra": ("float", "deg"),
    "dec": ("float", "deg"), "redshift": ("float", None), "redshift_quality": ("int", None),
}  # fmt: skip
DISTANCE = ("float", "arcsec")


@dataclass(frozen=True)
class Filters:
    """A validated ``query_objects``/``query_spectra`` filter set (see ``Campfire``).

    Empty tuples and None mean "no filter". ``dq`` is ``(any, all, exclude)`` bitmasks;
    ``cone`` is ``(ra_deg, dec_deg, radius_arcsec)``; ``sort`` is already resolved (a cone
    search sorts by ``distance`` unless told otherwise).
    """

    fields: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    gratings: tuple[str, ...] = ()
    observations: tuple[str, ...] = ()
    redshift_range: tuple[float | None, float | None] | None = None
    redshift_quality: tuple[int, ...] = ()
    max_snr_range: tuple[float | None, float | None] | None = None
    dq: tuple[int, int, int] = (0, 0, 0)
    tags: tuple[str, ...] = ()
    inspected_only: bool | None = None
    staleness: bool | None = None
    has_photometry: bool | None = None
    search: str | None = None
    cone: tuple[float, float, float] | None = None
    limit: int | None = None
    offset: int = 0
    sort: str = "object_id"
    sort_dir: str = "asc"


OBJECT_SORTS = (
    "object_id", "field", "ra", "dec", "redshift", "redshift_quality", "n_targets", "n_spectra",
    "max_snr", "max_exposure_time", "photo_z", "distance",
)  # fmt: skip
SPECTRUM_SORTS = (
    "spectrum_id", "target_id", "field", "observation", "program_slug", "ra", "dec", "redshift",
    "redshift_quality", "redshift_auto", "signal_to_noise", "exposure_time", "grating",
    "distance",
)  # fmt: skip
LOCAL_ONLY_SORTS = {"objects": ("updated_at",), "spectra": ("object_id",)}


def _close_matches(value: str, known: Sequence[str]) -> str:
    near = difflib.get_close_matches(value, list(known), n=3, cutoff=0.6)
    near += [k for k in known if value.lower() in k.lower() and k not in near][: 3 - len(near)]
    return f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""


def _choose(
    what: str, values: Any, known: Sequence[str] | None, case: Callable[[str], str]
) -> tuple[str, ...]:
    """Validate names against ``known`` (case-insensitively), naming close matches if unknown."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    lookup = {k.lower(): k for k in known or ()}
    out: list[str] = []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"{what} must be non-empty strings (got {value!r})")
        name = case(value.strip())
        if known is not None:
            if name.lower() not in lookup:
                shown = ", ".join(known[:25]) + (" …" if len(known) > 25 else "")
                raise ValidationError(
                    f"unknown {what[:-1]} {value!r}{_close_matches(name, known)} "
                    f"Known {what}: {shown or '(none)'}"
                )
            name = lookup[name.lower()]
        out.append(name)
    return tuple(dict.fromkeys(out))


def _programs(values: Any, known: Sequence[str] | None) -> tuple[str, ...]:
    """Slugs, or JWST program numbers that appear as a token of exactly one slug."""
    if values is None:
        return ()
    items = [values] if isinstance(values, str | int) else list(values)
    names: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise ValidationError(f"programs must be slugs or program numbers (got {item!r})")
        text = str(item).strip()
        if text.isdigit():
            hits = [k for k in known or () if text in re.split(r"[-_ ]", k)]
            if len(hits) != 1:
                why = "matches no program slug" if not hits else f"matches {', '.join(hits)}"
                raise ValidationError(
                    f"program {item!r} {why}; pass a slug. Known programs: "
                    f"{', '.join(known or ()) or '(none)'}"
                )
            text = hits[0]
        names.append(text)
    return _choose("programs", names, known, str.upper)


def _range(what: str, value: Any) -> tuple[float | None, float | None] | None:
    if value is None:
        return None
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise ValidationError(
            f"{what} must be a (min, max) pair, e.g. (2.0, 4.0); got {value!r}"
        ) from None
    bounds = []
    for v in (lo, hi):
        if v is None:
            bounds.append(None)
            continue
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValidationError(f"{what} bounds must be finite numbers or None; got {v!r}")
        bounds.append(float(v))
    if bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]:
        raise ValidationError(f"{what} {tuple(value)!r} is inverted: pass (min, max)")
    return (bounds[0], bounds[1])


def _cone(value: Any) -> tuple[float, float, float] | None:
    if value is None:
        return None
    try:
        ra, dec, radius = (float(v) for v in value)
        ok = all(not isinstance(v, bool | str) for v in value)
    except (TypeError, ValueError):
        ok = False
    if not ok or not all(map(math.isfinite, (ra, dec, radius))):
        raise ValidationError(
            f"cone_search must be (ra_deg, dec_deg, radius_arcsec), e.g. (150.08, 2.35, 30); "
            f"got {value!r}"
        )
    if not 0.0 <= ra <= 360.0 or not -90.0 <= dec <= 90.0:
        raise ValidationError(
            f"cone_search centre ({ra}, {dec}) is off the sky: 0 ≤ ra ≤ 360, -90 ≤ dec ≤ 90"
        )
    if not 0.0 < radius <= 648_000.0:
        raise ValidationError(f"cone_search radius must be in (0, 648000] arcsec; got {radius}")
    return (ra % 360.0, dec, radius)


def _flag(what: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValidationError(f"{what} must be True, False or None; got {value!r}")


def make_filters(
    kind: str,
    vocab: Mapping[str, Sequence[str]] | None,
    *,
    remote: bool = False,
    fields: Any = None,
    programs: Any = None,
    gratings: Any = None,
    observations: Any = None,
    redshift_range: Any = None,
    redshift_quality: Any = None,
    max_snr_range: Any = None,
    dq_flags: Any = None,
    tags: Any = None,
    inspected_only: Any = None,
    staleness: Any = None,
    has_photometry: Any = None,
    search: Any = None,
    cone_search: Any = None,
    limit: Any = None,
    offset: Any = 0,
    sort: Any = None,
    sort_dir: Any = "asc",
) -> Filters:
    """Validate ``query_objects``/``query_spectra`` arguments into :class:`Filters`.

    ``vocab`` holds the known ``fields``, ``gratings``, ``observations``, ``programs`` and
    ``tags`` (None skips the name checks). Unknown names, inverted ranges, malformed cone
    searches and unknown sort columns raise :class:`ValidationError` naming what to do.

    Examples
    --------
    >>> f = make_filters("objects", {"gratings": ["PRISM"]}, gratings=["prism"])
    >>> f.gratings
    ('PRISM',)
    >>> make_filters("objects", None, redshift_range=(5, 2))
    Traceback (most recent call last):
    ...
    campfire.errors.ValidationError: redshift_range (5, 2) is inverted: pass (min, max)
    """
    from campfire.flags import as_flag_query, parse_redshift_qualities

    def known(name: str) -> Sequence[str] | None:
        return None if vocab is None else vocab.get(name)

    spectra = kind == "spectra"
    query = as_flag_query(dq_flags)
    if staleness is not None and remote:
        raise ValidationError(
            "staleness is a local-only filter: sync first (cf.sync()) and drop remote=True"
        )
    if search is not None and not isinstance(search, str):
        raise ValidationError(f"search must be a string; got {search!r}")
    for what, v, floor in (("limit", limit, 0), ("offset", offset, 0)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < floor):
            raise ValidationError(f"{what} must be an integer ≥ {floor} (got {v!r})")
    cone = _cone(cone_search)
    sorts = SPECTRUM_SORTS if spectra else OBJECT_SORTS
    allowed = sorts if remote else (*sorts, *LOCAL_ONLY_SORTS[kind])
    default = "spectrum_id" if spectra else "object_id"
    sort_name = default if sort is None else sort
    if not isinstance(sort_name, str) or sort_name not in allowed:
        extra = " (only locally)" if sort_name in LOCAL_ONLY_SORTS[kind] else ""
        raise ValidationError(
            f"cannot sort {kind} by {sort_name!r}{extra}{_close_matches(str(sort_name), allowed)} "
            f"Sort columns: {', '.join(allowed)}"
        )
    if sort_name == "distance" and cone is None:
        raise ValidationError("sort='distance' needs a cone_search=(ra, dec, radius_arcsec)")
    direction = str(sort_dir).lower()
    if direction not in ("asc", "desc"):
        raise ValidationError(f"sort_dir must be 'asc' or 'desc' (got {sort_dir!r})")
    switch = ("spectrum_id", "target_id") if spectra else ("object_id",)
    if cone is not None and sort_name in switch and direction == "asc":
        sort_name = "distance"  # as the archive does: a cone search sorts nearest first
    return Filters(
        fields=_choose("fields", fields, known("fields"), str.lower),
        programs=_programs(programs, known("programs")),
        gratings=_choose("gratings", gratings, known("gratings"), str.upper),
        observations=_choose("observations", observations, known("observations"), str.lower),
        redshift_range=_range("redshift_range", redshift_range),
        redshift_quality=tuple(parse_redshift_qualities(redshift_quality))
        if redshift_quality is not None
        else (),
        max_snr_range=_range("max_snr_range", max_snr_range),
        dq=query.masks if query is not None else (0, 0, 0),
        tags=_choose("tags", tags, known("tags"), str.lower),
        inspected_only=_flag("inspected_only", inspected_only),
        staleness=_flag("staleness", staleness),
        has_photometry=_flag("has_photometry", has_photometry),
        search=search.strip() or None if isinstance(search, str) else None,
        cone=cone,
        limit=limit,
        offset=int(offset or 0),
        sort=sort_name,
        sort_dir=direction,
    )


_STALE = (
    "(last_data_change_at IS NOT NULL AND "
    "(last_inspected_at IS NULL OR last_inspected_at < last_data_change_at))"
)
# haversine great-circle distance in arcsec (exact at any RA, across 0/360 and at the poles)
_HAVERSINE = (
    "7200 * degrees(asin(least(1, sqrt(pow(sin(radians(dec - $cdec) / 2), 2) + "
    "cos(radians(dec)) * cos(radians($cdec)) * pow(sin(radians(ra - $cra) / 2), 2)))))"
)


def compile_local(kind: str, flt: Filters, joined: bool = False) -> tuple[str, dict[str, Any]]:
    """The DuckDB SQL and parameters for a filter set over ``objects`` or ``spectra``.

    Examples
    --------
    >>> sql, params = compile_local("objects", Filters(fields=("uds",)))
    >>> "list_contains($fields, field)" in sql, params["fields"]
    (True, ['uds'])
    """
    spectra = kind == "spectra"
    where = ["parent_active" if spectra else "is_active"]
    p: dict[str, Any] = {}

    def member(name: str, values: tuple[Any, ...], column: str, is_list: bool = False) -> None:
        if not values:
            return
        if not is_list:
            p[name] = list(values)
            where.append(f"list_contains(${name}, {column})")
            return
        tests = []  # one list_contains per value: much faster than list_has_any in DuckDB
        for i, value in enumerate(values):
            p[f"{name}{i}"] = value
            tests.append(f"list_contains({column}, ${name}{i})")
        where.append(f"({' OR '.join(tests)})")

    def between(name: str, rng: tuple[float | None, float | None] | None, column: str) -> None:
        lo, hi = rng or (None, None)
        if lo is not None:
            p[f"{name}_lo"] = float(lo)
            where.append(f"{column} >= ${name}_lo")
        if hi is not None:
            p[f"{name}_hi"] = float(hi)
            where.append(f"{column} <= ${name}_hi")

    member("fields", flt.fields, "field")
    if spectra:
        member("programs", flt.programs, "program_slug")
        member("gratings", flt.gratings, "grating")
        member("observations", flt.observations, "observation")
    else:
        member("programs", flt.programs, "programs", True)
        member("gratings", flt.gratings, "gratings", True)
        member("observations", flt.observations, "observations", True)
    member("tags", flt.tags, "tags", True)
    member("quality", flt.redshift_quality, "redshift_quality")
    between("z", flt.redshift_range, "redshift")
    between("snr", flt.max_snr_range, "signal_to_noise" if spectra else "max_snr")
    if flt.inspected_only is not None:
        where.append("redshift_quality > 0" if flt.inspected_only else "redshift_quality = 0")
    if flt.has_photometry is not None:
        p["phot"] = bool(flt.has_photometry)
        where.append("has_photometry = $phot")
    if flt.staleness is not None:
        where.append(_STALE if flt.staleness else f"NOT coalesce({_STALE}, false)")
    if flt.search:
        p["search"] = flt.search.lower()
        where.append("contains(search_text, $search)")
    any_, all_, exclude = flt.dq
    for name, mask, test in (
        ("dq_any", any_, "(dq_flags & $dq_any) <> 0"),
        ("dq_all", all_, "(dq_flags & $dq_all) = $dq_all"),
        ("dq_ex", exclude, "(dq_flags & $dq_ex) <> 0"),
    ):
        if not mask:
            continue
        p[name] = int(mask)
        if spectra:
            where.append(f"NOT ({test})" if name == "dq_ex" else test)
        else:  # objects: evaluated through their spectra, each mode on its own (api-v1 8.3)
            sub = f"SELECT object_id FROM spectra WHERE {test} AND object_id IS NOT NULL"
            where.append(f"object_id {'NOT IN' if name == 'dq_ex' else 'IN'} ({sub})")

    columns = SPECTRUM_COLUMNS if spectra else OBJECT_COLUMNS
    select = ", ".join(  # joined: list columns as ';'-text (cheaper to stream to Python)
        f"array_to_string({c}, ';') AS {c}" if joined and k == "list" else c
        for c, (k, _) in columns.items()
    )
    source = "spectra" if spectra else "objects"
    if flt.cone is not None:
        import math

        ra, dec, radius = flt.cone
        r_deg = radius / 3600.0
        p.update(cra=float(ra), cdec=float(dec), radius=float(radius))
        p.update(dlo=dec - r_deg - 1e-9, dhi=dec + r_deg + 1e-9)
        box = "dec BETWEEN $dlo AND $dhi"
        if abs(dec) + r_deg < 89.0:  # the circle's RA half-width, exact on the sphere
            half = math.degrees(math.asin(min(1.0, math.sin(math.radians(r_deg)) /
                                              math.cos(math.radians(dec)))))  # fmt: skip
            p["rhalf"] = half + 1e-9
            box += " AND abs(((ra - $cra + 540) % 360) - 180) <= $rhalf"
        source = f"(SELECT *, {_HAVERSINE} AS distance FROM {source} WHERE {box})"
        where.append("distance <= $radius")
        select += ", distance"
    direction = "DESC" if flt.sort_dir.lower() == "desc" else "ASC"
    ties = "target_id ASC, grating ASC, spectrum_id ASC" if spectra else "object_id ASC"
    sql = (
        f"SELECT {select} FROM {source} WHERE {' AND '.join(where)} "
        f'ORDER BY "{flt.sort}" {direction} NULLS LAST, {ties}'
    )
    if flt.limit is not None:
        p["limit"] = int(flt.limit)
        sql += " LIMIT $limit"
    if flt.offset:
        p["offset"] = int(flt.offset)
        sql += " OFFSET $offset"
    return sql, p


def build_table(
    data: Mapping[str, Any], columns: Mapping[str, tuple[str, str | None]], distance: bool = False
) -> Table:
    """An astropy Table of ``columns`` from column data (lists or numpy/masked arrays).

    Nulls become masked entries; ``ra``/``dec`` carry ``deg``, exposure times ``s`` and
    ``distance`` ``arcsec``; list columns hold Python lists.

    Examples
    --------
    >>> t = build_table({"ra": [1.0, None]}, {"ra": ("float", "deg")})
    >>> str(t["ra"].unit), t["ra"].mask.tolist()
    ('deg', [False, True])
    """
    import numpy as np
    from astropy.table import Column, MaskedColumn, Table

    spec = dict(columns)
    if distance:
        spec["distance"] = DISTANCE
    n = len(next(iter(data.values()))) if data else 0
    fills: dict[str, Any] = {"float": np.nan, "int": 0, "bool": False, "str": ""}
    dtypes: dict[str, Any] = {"float": float, "int": np.int64, "bool": bool, "str": str}
    cols = []
    for name, (kind, unit) in spec.items():
        raw = data.get(name)
        if raw is None:
            raw = [None] * n
        if isinstance(raw, np.ma.MaskedArray):
            values, mask = raw.data, np.ma.getmaskarray(raw)
        else:
            values = raw if isinstance(raw, np.ndarray) else np.array(raw, dtype=object)
            if values.dtype == object:
                mask = np.fromiter((v is None for v in values), dtype=bool, count=n)
            else:
                mask = np.zeros(n, dtype=bool)
        if kind == "list":
            arr = np.empty(n, dtype=object)
            arr[:] = [[] if m or v is None else list(v) for v, m in zip(values, mask, strict=True)]
            cols.append(Column(arr, name=name, copy=False))
            continue
        if mask.any():
            values = np.where(mask, fills[kind], values)
        arr = np.asarray(values).astype(dtypes[kind]) if n else np.array([], dtypes[kind])
        if kind == "float":
            mask = mask | np.isnan(arr)
        if mask.any():
            cols.append(MaskedColumn(arr, name=name, unit=unit, mask=mask, copy=False))
        else:
            cols.append(Column(arr, name=name, unit=unit, copy=False))
    return Table(cols, copy=False)


# store table -> the columns we copy and the Arrow type each must have (SQLite is untyped)
_T, _R, _I = "string", "float64", "int64"
_RAW: dict[str, dict[str, str]] = {
    "objects": {
        "id": _I, "object_id": _T, "field": _T, "ra": _R, "dec": _R, "n_targets": _I,
        "n_spectra": _I, "programs": _T, "gratings": _T, "observations": _T,
        "member_target_ids": _T, "max_snr": _R, "max_exposure_time": _R, "redshift": _R,
        "redshift_auto": _R, "redshift_inspected": _R, "redshift_quality": _I,
        "last_inspected_at": _T, "last_inspected_by": _T, "last_data_change_at": _T,
        "staleness_reason": _T, "version": _I, "is_active": _I, "has_photometry": _I,
        "photo_z": _R, "photo_z_err_lo": _R, "photo_z_err_hi": _R, "created_at": _T,
        "updated_at": _T,
    },
    "spectra": {
        "id": _I, "spectrum_id": _T, "target_id": _T, "object_id": _T, "grating": _T,
        "fits_path": _T, "file_hash": _T, "file_size": _I, "signal_to_noise": _R,
        "exposure_time": _R, "reduction_version": _T, "redshift_auto": _R, "dq_flags": _I,
        "program_slug": _T, "observation": _T, "field": _T, "created_at": _T, "updated_at": _T,
    },
    "object_photometry": {
        "id": _I, "object_id": _T, "field": _T, "catalog_name": _T, "catalog_id": _T,
        "match_distance_arcsec": _R, "photometry": _T, "photo_z": _R, "photo_z_err_lo": _R,
        "photo_z_err_hi": _R, "has_pz": _I, "created_at": _T, "updated_at": _T,
    },
    "object_lists": {
        "id": _I, "slug": _T, "name": _T, "description": _T, "visibility": _T, "is_system": _I,
        "member_count": _I, "created_at": _T, "updated_at": _T,
    },
    "object_list_memberships": {"object_id": _T, "list_slug": _T},
    "local_files": {
        "spectrum_id": _T, "local_path": _T, "local_file_hash": _T, "local_file_mtime": _R,
        "local_file_size": _I, "synced_at": _T,
    },
}  # fmt: skip
_META = ("objects", "spectra", "object_photometry", "object_lists", "object_list_memberships")

_LIST = "CASE WHEN coalesce({c}, '') = '' THEN []::VARCHAR[] ELSE string_split({c}, ';') END"
_DERIVE_META = [  # from the raw_* copies of the store's tables (rows sorted by dec: cone
    # searches then skip most of each column through DuckDB's zone maps)
    f"""CREATE OR REPLACE TABLE objects AS
    WITH t AS (SELECT object_id, list_sort(list(DISTINCT list_slug)) AS tags
               FROM raw_object_list_memberships GROUP BY object_id),
         s AS (SELECT object_id, list_sort(list(DISTINCT observation)) AS obs
               FROM raw_spectra WHERE observation IS NOT NULL GROUP BY object_id)
    SELECT o.id, o.object_id, o.field, o.ra, o.dec, coalesce(o.n_targets, 0) AS n_targets,
        coalesce(o.n_spectra, 0) AS n_spectra, {_LIST.format(c="o.programs")} AS programs,
        {_LIST.format(c="o.gratings")} AS gratings,
        CASE WHEN coalesce(o.observations, '') = '' THEN coalesce(s.obs, []::VARCHAR[])
             ELSE string_split(o.observations, ';') END AS observations,
        {_LIST.format(c="o.member_target_ids")} AS member_target_ids,
        coalesce(t.tags, []::VARCHAR[]) AS tags, o.max_snr, o.max_exposure_time,
        CASE WHEN o.redshift_quality = 1 THEN NULL
             ELSE coalesce(o.redshift_inspected, o.redshift_auto, o.redshift) END AS redshift,
        o.redshift_auto, o.redshift_inspected, coalesce(o.redshift_quality, 0) AS redshift_quality,
        o.last_inspected_at, o.last_inspected_by, o.last_data_change_at, o.staleness_reason,
        o.version, coalesce(o.is_active, 1) <> 0 AS is_active,
        coalesce(o.has_photometry, 0) <> 0 AS has_photometry, o.photo_z, o.photo_z_err_lo,
        o.photo_z_err_hi, o.created_at, o.updated_at,
        lower(o.object_id || chr(10) || replace(coalesce(o.member_target_ids, ''), ';', chr(10)))
            AS search_text
    FROM raw_objects o LEFT JOIN t USING (object_id) LEFT JOIN s USING (object_id)
    ORDER BY o.dec""",
    """CREATE OR REPLACE TABLE spectra AS
    SELECT s.id, s.spectrum_id, s.target_id, s.object_id, s.grating, s.fits_path, s.file_hash,
        s.file_size, s.signal_to_noise, s.exposure_time, s.reduction_version, s.redshift_auto,
        coalesce(s.dq_flags, 0) AS dq_flags, s.program_slug, s.observation, s.field,
        NULL::VARCHAR AS local_path, NULL::VARCHAR AS local_file_hash,
        NULL::DOUBLE AS local_file_mtime, NULL::BIGINT AS local_file_size,
        NULL::VARCHAR AS synced_at, s.created_at, s.updated_at, o.ra, o.dec, o.redshift,
        coalesce(o.redshift_quality, 0) AS redshift_quality,
        coalesce(o.has_photometry, false) AS has_photometry,
        coalesce(o.tags, []::VARCHAR[]) AS tags, o.last_inspected_at, o.last_data_change_at,
        coalesce(o.is_active, true) AS parent_active,
        lower(s.spectrum_id || chr(10) || coalesce(s.target_id, '')) AS search_text
    FROM raw_spectra s LEFT JOIN objects o ON o.object_id = s.object_id
    ORDER BY o.dec""",
    *(
        f"CREATE OR REPLACE TABLE {t} AS SELECT * FROM raw_{t}"
        for t in ("object_photometry", "object_lists", "object_list_memberships")
    ),
    *(f"DROP TABLE IF EXISTS raw_{t}" for t in _RAW if t != "local_files"),
]
_LOCAL_COLS = ("local_path", "local_file_hash", "local_file_mtime", "local_file_size", "synced_at")
_APPLY_FILES = [  # downloaded-file columns, updated in place (only rows that change)
    f"UPDATE spectra SET {', '.join(f'{c} = NULL' for c in _LOCAL_COLS)} "
    "WHERE local_path IS NOT NULL",
    f"UPDATE spectra SET {', '.join(f'{c} = f.{c}' for c in _LOCAL_COLS)} "
    "FROM local_files f WHERE spectra.spectrum_id = f.spectrum_id",
]
SQL_TABLES = ("objects", "spectra", "object_photometry", "object_lists", "object_list_memberships")


class Catalog:
    """The synced catalog as DuckDB tables, kept current with the SQLite store.

    Parameters
    ----------
    db_path
        The SQLite store, ``<data_dir>/meta/campfire.db``.
    snapshot_dir
        Where Parquet snapshots are kept (default ``meta/snapshot`` beside the store); if it
        cannot be written, snapshots live in memory only.

    Examples
    --------
    >>> cat = Catalog(settings.db_path)  # doctest: +SKIP
    >>> for row in cat.iter_rows("objects", Filters(tags=("lrd",))):  # doctest: +SKIP
    ...     print(row["object_id"])
    """

    def __init__(self, db_path: str | os.PathLike[str], snapshot_dir: Path | None = None) -> None:
        self.db_path = Path(db_path).expanduser()
        if not self.db_path.is_file():
            raise SchemaError(f"no local catalog at {self.db_path}; run `campfire sync` first")
        self.snapshot_dir = snapshot_dir or self.db_path.parent / "snapshot"
        self._lock = threading.RLock()
        self._sqlite: sqlite3.Connection | None = None
        self._duck: duckdb.DuckDBPyConnection | None = None
        self._loaded: dict[str, str] = {}  # part -> key it was loaded at
        self._vocab: dict[str, list[str]] | None = None

    @property
    def sqlite(self) -> sqlite3.Connection:
        """A read-only connection to the store (shared; use under the catalog's lock)."""
        if self._sqlite is None:
            uri = f"file:{self.db_path.as_posix()}?mode=ro"
            con = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            con.row_factory = sqlite3.Row
            self._sqlite = con
        return self._sqlite

    def versions(self) -> tuple[str, str]:
        """The store's ``(catalog_version, files_version)``; a file fingerprint without them."""
        with self._lock:
            try:
                rows = dict(
                    self.sqlite.execute(
                        "SELECT key, value FROM _meta "
                        "WHERE key IN ('catalog_version', 'files_version')"
                    ).fetchall()
                )
            except sqlite3.DatabaseError as exc:
                raise SchemaError(f"{self.db_path} is not a campfire catalog ({exc})") from exc
        if "catalog_version" in rows:
            return str(rows["catalog_version"]), str(rows.get("files_version", "0"))
        stamp = []
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                st = os.stat(f"{self.db_path}{suffix}")
                stamp.append(f"{st.st_mtime_ns}.{st.st_size}")
        return "fp" + "-".join(stamp), "fp"

    def _read_sqlite(self, table: str, chunk: int = 50_000) -> pa.Table:
        """One store table as Arrow, typed by :data:`_RAW`, read in chunks of plain tuples."""
        import pyarrow as pa

        types = _RAW[table]
        source, where = (
            ("spectra", "WHERE local_path IS NOT NULL") if table == "local_files" else (table, "")
        )
        present = {r[1] for r in self.sqlite.execute(f"PRAGMA table_info({source})")}
        cols = [c for c in types if c in present]
        schema = pa.schema([(name, getattr(pa, typ)()) for name, typ in types.items()])
        batches = []
        if cols:
            cursor = self.sqlite.cursor()
            cursor.row_factory = None  # tuples: much cheaper than sqlite3.Row
            sel = ", ".join(f'"{c}"' for c in cols)
            cursor.execute(f"SELECT {sel} FROM {source} {where}")
            while rows := cursor.fetchmany(chunk):
                by_col = dict(zip(cols, zip(*rows, strict=True), strict=True))
                arrays = [
                    pa.array(by_col.get(f.name, [None] * len(rows)), type=f.type) for f in schema
                ]
                batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
        return pa.Table.from_batches(batches, schema=schema)

    def _load(self, part: str, key: str, tables: Sequence[str]) -> bool:
        """Load ``tables`` from the Parquet snapshot for ``key``; False if there is none."""
        import duckdb

        files = {t: self.snapshot_dir / f"{part}-{key}.{t}.parquet" for t in tables}
        if key.startswith("fp") or not all(f.is_file() for f in files.values()):
            return False
        try:
            for table, path in files.items():
                literal = str(path).replace("'", "''")
                self._duckdb().execute(
                    f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_parquet('{literal}')"
                )
        except duckdb.Error as exc:  # torn or foreign file: rebuild it from SQLite
            log.info("catalog snapshot %s-%s unreadable (%s); rebuilding", part, key, exc)
            return False
        return True

    def _keep(self, part: str, key: str, tables: Sequence[str]) -> None:
        """Write ``tables`` as the Parquet snapshot for ``key`` and drop older ones."""
        import duckdb

        if key.startswith("fp"):
            return  # no version counters: nothing stable to name the files by
        try:
            self.snapshot_dir.mkdir(parents=True, exist_ok=True)
            for table in tables:
                final = self.snapshot_dir / f"{part}-{key}.{table}.parquet"
                tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
                literal = str(tmp).replace("'", "''")
                self._duckdb().execute(f"COPY {table} TO '{literal}' (FORMAT parquet)")
                os.replace(tmp, final)
            for old in self.snapshot_dir.glob(f"{part}-*.parquet"):
                if not old.name.startswith(f"{part}-{key}."):
                    old.unlink(missing_ok=True)
        except (OSError, duckdb.Error) as exc:
            log.info("no catalog snapshot kept in %s (%s)", self.snapshot_dir, exc)

    def _copy(self, table: str, name: str) -> None:
        duck = self._duckdb()
        duck.register("_incoming", self._read_sqlite(table))
        try:
            duck.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _incoming")
        finally:
            duck.unregister("_incoming")

    def _duckdb(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        if self._duck is None:  # never fetch an extension at run time
            config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
            self._duck = duckdb.connect(":memory:", config=config)
        return self._duck

    def refresh(self, force: bool = False) -> bool:
        """Reload what the store changed since the last call; True if anything was reloaded.

        Examples
        --------
        >>> cat.refresh()  # doctest: +SKIP
        False
        """
        with self._lock:
            cv, fv = self.versions()
            if not force and self._loaded == {"meta": f"c{cv}", "files": f"c{cv}-f{fv}"}:
                return False
            con = self.sqlite
            con.execute("BEGIN")  # one consistent read of the counters and the tables
            try:
                cv, fv = self.versions()
                meta, files = f"c{cv}", f"c{cv}-f{fv}"
                if force or self._loaded.get("meta") != meta:
                    self._loaded.clear()
                    if not self._load("meta", meta, _META):
                        for table in _RAW:
                            if table != "local_files":
                                self._copy(table, f"raw_{table}")
                        for statement in _DERIVE_META:
                            self._duckdb().execute(statement)
                        self._keep("meta", meta, _META)
                    self._vocab = None
                if not self._load("files", files, ("local_files",)):
                    self._copy("local_files", "local_files")
                    self._keep("files", files, ("local_files",))
            finally:
                con.execute("COMMIT")
            for statement in _APPLY_FILES:
                self._duckdb().execute(statement)
            self._loaded = {"meta": meta, "files": files}
            return True

    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, refreshed to the store's current version."""
        with self._lock:
            self.refresh()
            return self._duckdb()

    def close(self) -> None:
        """Close both connections (they reopen on next use)."""
        with self._lock:
            for con in (self._duck, self._sqlite):
                if con is not None:
                    con.close()
            self._duck = self._sqlite = None
            self._loaded.clear()

    def vocabulary(self) -> dict[str, list[str]]:
        """Known ``fields``, ``gratings``, ``observations``, ``programs`` and ``tags``."""
        queries = {
            "fields": "SELECT field FROM objects UNION SELECT field FROM spectra",
            "gratings": "SELECT unnest(gratings) FROM objects UNION SELECT grating FROM spectra",
            "observations": "SELECT unnest(observations) FROM objects "
            "UNION SELECT observation FROM spectra",
            "programs": "SELECT unnest(programs) FROM objects "
            "UNION SELECT program_slug FROM spectra",
            "tags": "SELECT slug FROM object_lists "
            "UNION SELECT list_slug FROM object_list_memberships",
        }
        with self._lock:
            duck = self.connection()
            if self._vocab is None:
                self._vocab = {
                    k: sorted(str(r[0]) for r in duck.execute(q).fetchall() if r[0] is not None)
                    for k, q in queries.items()
                }
            return self._vocab

    def query(self, kind: str, flt: Filters) -> Table:
        """Rows of ``objects`` or ``spectra`` matching ``flt``, as an astropy Table."""
        sql, params = compile_local(kind, flt)
        with self._lock:
            data = self.connection().sql(sql, params=params).fetchnumpy()
        columns = SPECTRUM_COLUMNS if kind == "spectra" else OBJECT_COLUMNS
        return build_table(data, columns, distance=flt.cone is not None)

    def iter_rows(self, kind: str, flt: Filters, batch: int = 20_000) -> Iterator[dict[str, Any]]:
        """Stream the matching rows as dicts, reading ``batch`` rows at a time from DuckDB."""
        sql, params = compile_local(kind, flt, joined=True)
        columns = SPECTRUM_COLUMNS if kind == "spectra" else OBJECT_COLUMNS
        lists = [c for c, (k, _) in columns.items() if k == "list"]
        with self._lock:
            cursor = self.connection().cursor()
        try:
            relation = cursor.sql(sql, params=params)
            reader = (
                relation.to_arrow_reader(batch)
                if hasattr(relation, "to_arrow_reader")
                else relation.fetch_record_batch(batch)  # DuckDB < 1.4
            )
            for record_batch in reader:
                cols = record_batch.to_pydict()
                names = list(cols)
                # lists are made row by row, so each row's containers are freed as the caller
                # moves on: a whole batch of them alive at once keeps the cyclic GC busy
                for values in zip(*cols.values(), strict=True):
                    row = dict(zip(names, values, strict=True))
                    for c in lists:  # most lists hold one item: no split() for those
                        v = row[c]
                        row[c] = (v.split(";") if ";" in v else [v]) if v else []
                    yield row
        finally:
            cursor.close()

    def sql(self, query: str, params: Any = None) -> Table:
        """Run one read-only SQL ``SELECT`` over the catalog tables; an astropy Table.

        Examples
        --------
        >>> cat.sql("SELECT grating, count(*) AS n FROM spectra GROUP BY 1")  # doctest: +SKIP
        """
        import duckdb
        from astropy.table import Table

        tables = ", ".join(SQL_TABLES)
        try:
            statements = duckdb.extract_statements(query)
        except duckdb.Error as exc:
            raise ValidationError(f"SQL syntax error: {exc}") from exc
        if len(statements) != 1:
            raise ValidationError(f"pass exactly one SQL statement (got {len(statements)})")
        if statements[0].type != duckdb.StatementType.SELECT:
            kind = statements[0].type.name
            raise ValidationError(f"only SELECT reads the catalog (got {kind}); tables: {tables}")
        with self._lock:
            try:
                data = self.connection().sql(query, params=params).fetchnumpy()
            except duckdb.Error as exc:
                raise ValidationError(f"SQL error: {exc} (tables: {tables})") from exc
        return Table(data)
