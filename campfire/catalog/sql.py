"""Compiling a :class:`~campfire.catalog.filters.Filters` set into DuckDB SQL over the catalog.

The SQL reads the tables :class:`campfire.catalog.engine.Catalog` derives from the store
(``objects`` and ``spectra``, see :mod:`campfire.catalog.snapshot`): list columns are matched with
``list_contains``, a cone search is a declination band and RA window (cheap, through DuckDB's
zone maps on the dec-sorted rows) refined by the haversine distance, and ties are broken by id
so that every page of a sorted query is stable.

Examples
--------
>>> from campfire.catalog.filters import Filters
>>> from campfire.catalog.sql import compile_local
>>> sql, params = compile_local("spectra", Filters(gratings=("PRISM",)))
>>> params
{'gratings': ['PRISM']}
"""

from __future__ import annotations

import math
import re
from typing import Any

from campfire.catalog.columns import OBJECT_COLUMNS, SPECTRUM_COLUMNS
from campfire.catalog.filters import Filters

__all__ = ["compile_local", "inline_sql"]

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
    if flt.inspected_by is not None:
        p["inspected_by"] = flt.inspected_by
        where.append("last_inspected_by = $inspected_by")
    if flt.search:
        p["search"] = flt.search.lower()
        test = "contains(search_text, $search)"
        if spectra:  # the same vocabulary as objects: the parent object's name matches too
            test = f"({test} OR contains(lower(coalesce(object_id, '')), $search))"
        where.append(test)
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


def inline_sql(sql: str, params: dict[str, Any]) -> str:
    """The SQL with each ``$name`` parameter written as a literal (for reading or ``cf.sql``).

    Examples
    --------
    >>> inline_sql("SELECT * FROM objects WHERE field = $f AND z > $z", {"f": "o'k", "z": 2.0})
    "SELECT * FROM objects WHERE field = 'o''k' AND z > 2.0"
    """

    def literal(value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, list | tuple):
            return "[" + ", ".join(literal(v) for v in value) + "]"
        return "'" + str(value).replace("'", "''") + "'"

    def swap(m: re.Match[str]) -> str:
        return literal(params[m.group(1)]) if m.group(1) in params else m.group(0)

    return re.sub(r"\$([A-Za-z_]\w*)", swap, sql)
