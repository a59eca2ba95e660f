"""SQL for the filtered, paginated queries ``/objects`` and ``/spectra/list`` (contract 2.12-2.13).

:func:`object_filter` and :func:`spectrum_filter` turn the query vocabulary into a WHERE clause
and an ORDER BY. Where the contract lists a quirk we take the stricter behaviour: a program or
list filter that matches nothing returns nothing, ``dq_flags`` filters ``/objects`` through the
object's spectra, every DQ mode applies on ``/spectra/list``, and ``%``/``_`` in ``search`` are
literal.

A filter applies to exactly what the caller may see, never to what is hidden from them:
``search`` matches target ids only of targets in their programs, ``observations`` only
observations of their programs, and ``lists`` only lists they can see (public ones and their
own), so another user's private list or a hidden target id matches nothing.

Examples
--------
>>> from starlette.datastructures import QueryParams
>>> from campfire.server.http.replies import Params
>>> q = QueryParams("redshift_min=2&sort=redshift&sort_dir=desc")
>>> f = object_filter(Params(q), {"A"}, ["A"])
>>> f.where[-1], f.args[-1], f.order
('o.redshift >= ?', 2.0, 'o.redshift IS NULL, o.redshift DESC, o.object_id ASC')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from campfire.server.catalog.visibility import partial_keys, visible_column, visible_spectra
from campfire.server.http.replies import Params

__all__ = ["SqlFilter", "object_filter", "spectrum_filter"]

OBJECT_SORTS = {
    "object_id",
    "ra",
    "dec",
    "redshift",
    "redshift_quality",
    "field",
    "n_targets",
    "n_spectra",
    "max_snr",
    "max_exposure_time",
    "photo_z",
    "distance",
}
SPECTRUM_SORTS = {
    "target_id": "t.target_id",
    "spectrum_id": "s.spectrum_id",
    "field": "t.field",
    "observation": "t.observation",
    "program_slug": "s.program_slug",
    "ra": "t.ra",
    "dec": "t.dec",
    "redshift": "o.redshift",
    "redshift_quality": "o.redshift_quality",
    "redshift_auto": "s.redshift_auto",
    "signal_to_noise": "s.signal_to_noise",
    "exposure_time": "s.exposure_time",
    "grating": "s.grating",
    "distance": "distance",
}

#: sort keys that are never NULL (no "NULLs last" term, so an index can give the order)
_NOT_NULL = {"object_id", "spectrum_id", "target_id", "grating", "n_targets", "n_spectra"}


@dataclass
class SqlFilter:
    """A WHERE clause (ANDed parts), its arguments, the ORDER BY and the cone, if any."""

    where: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)
    order: str = ""
    cone: tuple[float, float, float] | None = None
    programs: frozenset[str] = frozenset()
    empty: bool = False
    distance_sql: str = "NULL"
    #: the arguments of :attr:`distance_sql` (the cone's centre) and of :attr:`order`
    distance_args: list[Any] = field(default_factory=list)
    order_args: list[Any] = field(default_factory=list)

    def add(self, clause: str, *args: Any) -> None:
        """AND a clause with its arguments."""
        self.where.append(clause)
        self.args.extend(args)

    def sql(self) -> str:
        """The WHERE text (``1 = 1`` when there is nothing)."""
        return " AND ".join(self.where) or "1 = 1"


def _marks(values: list[Any] | set[Any] | frozenset[Any]) -> str:
    return ",".join("?" * len(values))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _programs(p: Params, accessible: set[str] | frozenset[str], f: SqlFilter) -> frozenset[str]:
    wanted = p.csv("programs")
    progs = frozenset(accessible) if wanted is None else frozenset(accessible) & set(wanted)
    if not progs:
        f.empty = True
    f.programs = progs
    return progs


def _ranges(p: Params, f: SqlFilter, pairs: dict[str, str | tuple[str, list[Any]]]) -> None:
    """``name_min``/``name_max`` bounds on a column (or an expression with its arguments)."""
    for name, col in pairs.items():
        sql, args = (col, []) if isinstance(col, str) else col
        lo, hi = p.float(f"{name}_min"), p.float(f"{name}_max")
        if lo is not None:
            f.add(f"{sql} >= ?", *args, lo)
        if hi is not None:
            f.add(f"{sql} <= ?", *args, hi)


def _gratings(p: Params, f: SqlFilter, partial: list[str], accessible: frozenset[str]) -> None:
    """The ``gratings`` filter on the gratings the caller sees (visible spectra for objects
    seen in part, the stored list for the others).
    """
    gratings = p.csv("gratings")
    if gratings is None:
        return
    mode = (p.str("gratings_mode") or "any").lower()

    def test(sub: str, col: str, args: list[Any]) -> tuple[str, list[Any]]:
        if mode == "all":
            return f"(SELECT count(DISTINCT {col}) {sub}) = ?", [*args, len(set(gratings))]
        if mode == "none":
            return f"NOT EXISTS (SELECT 1 {sub})", args
        return f"EXISTS (SELECT 1 {sub})", args

    sql, args = test(f"FROM json_each(o.gratings) WHERE value IN ({_marks(gratings)})", "value",
                     list(gratings))  # fmt: skip
    if not partial:
        f.add(sql, *args)
        return
    spectra, progs = visible_spectra(accessible)
    vsql, vargs = test(f"{spectra} AND s.grating IN ({_marks(gratings)})", "s.grating",
                       [*progs, *gratings])  # fmt: skip
    f.add(f"(CASE WHEN o.programs_key IN ({_marks(partial)}) THEN {vsql} ELSE {sql} END)",
          *partial, *vargs, *args)  # fmt: skip


def _cone(p: Params, f: SqlFilter, ra_col: str, dec_col: str) -> str:
    """Add a cone search when ra, dec and radius (arcsec) are all given; return the distance SQL."""
    ra, dec, radius = p.float("ra"), p.float("dec"), p.float("radius")
    if ra is None or dec is None or radius is None:
        return "NULL"
    if radius < 0:
        from campfire.server.http.replies import data_error

        raise data_error(400, "Invalid parameter: radius must be >= 0 (arcsec)")
    r = radius / 3600.0
    f.cone = (ra, dec, radius)
    f.add(f"{dec_col} BETWEEN ? AND ?", dec - r, dec + r)
    cosd = math.cos(math.radians(min(89.999, abs(dec) + r)))
    dra = r / cosd if cosd > 0 else 360.0
    if dra < 180.0:
        lo, hi = (ra - dra) % 360.0, (ra + dra) % 360.0
        if lo <= hi:
            f.add(f"{ra_col} BETWEEN ? AND ?", lo, hi)
        else:
            f.add(f"({ra_col} >= ? OR {ra_col} <= ?)", lo, hi)
    dist = f"ang_dist({ra_col}, {dec_col}, ?, ?)"
    f.add(f"{dist} <= ?", ra, dec, r)
    f.distance_args = [ra, dec]
    return dist


def _inspection(p: Params, f: SqlFilter, o: str, null_is_zero: bool = False) -> None:
    q = f"COALESCE({o}.redshift_quality, 0)" if null_is_zero else f"{o}.redshift_quality"
    quals = p.ints("redshift_quality")
    if quals is not None:
        f.add(f"{q} IN ({_marks(quals)})", *quals) if quals else f.add("1 = 0")
    inspected = p.bool("inspected_only")
    if inspected is not None:
        f.add(f"{q} > 0" if inspected else f"{q} = 0")
    review = p.bool("needs_review")
    if review is not None:
        cond = (
            f"({o}.staleness_reason IS NOT NULL AND {o}.last_inspected_at IS NOT NULL AND "
            f"({o}.last_data_change_at IS NULL OR {o}.last_data_change_at > "
            f"{o}.last_inspected_at))"
        )
        f.add(cond if review else f"NOT COALESCE({cond}, FALSE)")
    phot = p.bool("has_photometry")
    if phot is not None:
        f.add(f"{o}.has_photometry = ?", int(phot))


def _lists(p: Params, f: SqlFilter, obj_col: str, user_id: str | None) -> None:
    """Members of the named lists the caller can see (public ones and their own)."""
    slugs = p.csv("lists")
    if slugs is None:
        return
    f.add(
        f"{obj_col} IN (SELECT m.object_pk FROM list_members m JOIN lists l ON l.id = m.list_id "
        f"WHERE l.slug IN ({_marks(slugs)}) AND (l.visibility != 'private' OR "
        "l.created_by = ?))",
        *slugs,
        user_id,
    )


def _dq(p: Params) -> list[tuple[str, int]]:
    modes = []
    for name, mode in (
        ("dq_flags_include_all", "all"),
        ("dq_flags_exclude", "exclude"),
        ("dq_flags_include_any", "any"),
        ("dq_flags", "any"),
    ):
        mask = p.mask(name)
        if mask:
            modes.append((mode, mask))
    return modes


def _dq_clause(mode: str, col: str) -> str:
    return {
        "any": f"(COALESCE({col}, 0) & ?) != 0",
        "all": f"(COALESCE({col}, 0) & ?) = ?",
        "exclude": f"(COALESCE({col}, 0) & ?) = 0",
    }[mode]


def _sort_dir(p: Params) -> str:
    return "DESC" if (p.str("sort_dir") or "").lower() == "desc" else "ASC"


def object_filter(
    p: Params,
    accessible: set[str] | frozenset[str],
    program_keys: list[str],
    user_id: str | None = None,
) -> SqlFilter:
    """WHERE/ORDER for ``/objects`` over ``objects o``.

    ``program_keys`` (the distinct ``objects.programs_key`` values) turns the access check into
    an indexed ``IN`` and says which objects the caller sees only in part: their aggregates in
    filters and sorts are computed over the caller's visible spectra
    (:func:`~campfire.server.catalog.visibility.visible_column`). ``user_id`` is the caller's
    (their private lists count for ``lists``; None: public lists only).
    """
    f = SqlFilter()
    progs = _programs(p, accessible, f)
    f.add("o.is_active = 1")
    # the ``objects.programs_key`` values that involve an allowed program (indexed)
    keys = [k for k in program_keys if k and not progs.isdisjoint(k.split(";"))]
    f.add(f"o.programs_key IN ({_marks(keys)})", *keys)
    fields = p.csv("fields")
    if fields is not None:
        f.add(f"o.field IN ({_marks(fields)})", *fields)
    # aggregates (gratings, S/N, exposure, redshift, counts) over what the caller may see
    partial = partial_keys(keys, accessible)
    seen = frozenset(accessible)
    _gratings(p, f, partial, seen)
    observations = p.csv("observations")
    if observations is not None:
        f.add(
            f"EXISTS (SELECT 1 FROM json_each(o.observations) WHERE value IN "
            f"({_marks(observations)}) AND value IN (SELECT observation FROM observations "
            f"WHERE program_slug IN ({_marks(progs)})))",
            *observations,
            *sorted(progs),
        )
    _inspection(p, f, "o")
    _ranges(
        p,
        f,
        {
            "redshift": visible_column("redshift", partial, seen),
            "max_snr": visible_column("max_snr", partial, seen),
            "max_exposure_time": visible_column("max_exposure_time", partial, seen),
            "photo_z": "o.photo_z",
        },
    )
    search = p.str("search")
    if search is not None:
        like = _like(search)
        f.add(
            "(o.object_id LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM targets t WHERE "
            "t.object_pk = o.id AND t.target_id LIKE ? ESCAPE '\\' AND t.program_slug IN "
            f"({_marks(progs)})))",
            like,
            like,
            *sorted(progs),
        )
    _lists(p, f, "o.id", user_id)
    for mode, mask in _dq(p):
        inner = (
            f"SELECT 1 FROM spectra s WHERE s.object_pk = o.id AND s.program_slug IN "
            f"({_marks(progs)})"
        )
        if mode == "exclude":
            f.add(
                f"NOT EXISTS ({inner} AND {_dq_clause('any', 's.dq_flags')})", *sorted(progs), mask
            )
        else:
            extra = (mask, mask) if mode == "all" else (mask,)
            f.add(f"EXISTS ({inner} AND {_dq_clause(mode, 's.dq_flags')})", *sorted(progs), *extra)
    dist = _cone(p, f, "o.ra", "o.dec")
    sort = p.str("sort") or "object_id"
    sort = sort if sort in OBJECT_SORTS else "object_id"
    direction = _sort_dir(p)
    if f.cone is not None and sort == "object_id" and direction == "ASC":
        sort = "distance"
    if sort == "distance" and f.cone is None:
        sort = "object_id"
    # "distance" orders by the selected column (never NULL in a cone), computed once a row
    col, args = ("distance", []) if sort == "distance" else visible_column(sort, partial, seen)
    nulls = "" if sort in _NOT_NULL or sort == "distance" else f"{col} IS NULL, "  # NULLs last
    tie = "" if sort == "object_id" else ", o.object_id ASC"
    f.order = f"{nulls}{col} {direction}{tie}"
    f.order_args = [*args, *args] if nulls else args
    f.distance_sql = dist
    return f


def spectrum_filter(
    p: Params, accessible: set[str] | frozenset[str], user_id: str | None = None
) -> SqlFilter:
    """WHERE/ORDER for ``/spectra/list`` over ``spectra s JOIN targets t LEFT JOIN objects o``.

    ``user_id`` is the caller's (their private lists count for ``lists``).
    """
    f = SqlFilter()
    progs = _programs(p, accessible, f)
    f.add(f"s.program_slug IN ({_marks(progs)})", *sorted(progs))
    # parent object active (or none): the few inactive objects, not a join per row
    f.add(
        "(s.object_pk IS NULL OR s.object_pk NOT IN (SELECT id FROM objects WHERE is_active = 0))"
    )
    for name, col in (
        ("fields", "s.field"),  # the spectrum row carries its target's field and observation
        ("observations", "s.observation"),
        ("gratings", "s.grating"),
    ):
        values = p.csv(name)
        if values is not None:
            f.add(f"{col} IN ({_marks(values)})", *values)
    _inspection(p, f, "o", null_is_zero=True)
    _ranges(
        p,
        f,
        {
            "redshift": "o.redshift",
            "max_snr": "s.signal_to_noise",
            "max_exposure_time": "s.exposure_time",
        },
    )
    search = p.str("search")
    if search is not None:
        like = _like(search)
        f.add(  # the parent object's name too (a superset of the contract, as query_objects)
            "(t.target_id LIKE ? ESCAPE '\\' OR s.spectrum_id LIKE ? ESCAPE '\\' "
            "OR o.object_id LIKE ? ESCAPE '\\')",
            like, like, like,
        )  # fmt: skip
    _lists(p, f, "s.object_pk", user_id)
    for mode, mask in _dq(p):
        f.add(_dq_clause(mode, "s.dq_flags"), *((mask, mask) if mode == "all" else (mask,)))
    dist = _cone(p, f, "t.ra", "t.dec")
    sort = p.str("sort") or "spectrum_id"
    sort = sort if sort in SPECTRUM_SORTS else "spectrum_id"
    direction = _sort_dir(p)
    if f.cone is not None and sort in ("target_id", "spectrum_id") and direction == "ASC":
        sort = "distance"
    if sort == "distance" and f.cone is None:
        sort = "spectrum_id"
    col = SPECTRUM_SORTS[sort]  # "distance": the selected column, never NULL in a cone
    nulls = "" if sort in _NOT_NULL or sort == "distance" else f"{col} IS NULL, "
    tie = "" if sort == "spectrum_id" else ", t.target_id ASC, s.grating ASC"  # unique already
    f.order = f"{nulls}{col} {direction}{tie}"
    f.distance_sql = dist
    return f
