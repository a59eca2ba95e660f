"""Validating ``query_objects``/``query_spectra`` arguments into a :class:`Filters` set.

One validated, immutable filter set serves both engines: :func:`campfire.catalog.sql.compile_local`
turns it into DuckDB SQL over the synced catalog, :func:`campfire.client.wire.wire_params` into the
archive's query parameters. Validation happens here, once, before either engine runs, so a
typo in a field or tag name is reported (with close matches) whether or not the client is
online.

Examples
--------
>>> from campfire.catalog.filters import make_filters
>>> make_filters("objects", {"fields": ["uds", "cosmos"]}, fields="UDS").fields
('uds',)
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from campfire.errors import ValidationError

__all__ = ["LOCAL_ONLY_SORTS", "OBJECT_SORTS", "SPECTRUM_SORTS", "Filters", "make_filters"]


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
    inspected_by: str | None = None
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


def _programs(
    values: Any, known: Sequence[str] | None, ids: Mapping[int, str] | None
) -> tuple[str, ...]:
    """Slugs, the archive's program ids (``get_programs()['id']``), or JWST program numbers
    that appear as a token of exactly one slug.
    """
    if values is None:
        return ()
    items = [values] if isinstance(values, str | int) else list(values)
    names: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise ValidationError(f"programs must be slugs or program ids (got {item!r})")
        text = str(item).strip()
        if text.isdigit():
            if ids and int(text) in ids:
                names.append(ids[int(text)])
                continue
            hits = [k for k in known or () if text in re.split(r"[-_ ]", k)]
            if len(hits) != 1:
                why = "is no program id" if not hits else f"matches {', '.join(hits)}"
                listed = ", ".join(f"{i} ({n})" for i, n in sorted((ids or {}).items()))
                raise ValidationError(
                    f"program {item!r} {why}; pass a slug or an id of get_programs(). Known "
                    f"programs: {listed or ', '.join(known or ()) or '(none)'}"
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
    bounds: list[float | None] = []
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


_CONE_HELP = (
    "cone_search must be (ra_deg, dec_deg, radius_arcsec), e.g. (150.08, 2.35, 30), or a "
    "position and a radius: ('02:17:40.53 -05:12:28.2', 3.0), (SkyCoord, 3 * u.arcsec)"
)


def _cone(value: Any) -> tuple[float, float, float] | None:
    if value is None:
        return None
    from campfire.catalog.sky import cone_degrees

    try:
        ra, dec, radius = cone_degrees(value)
    except (TypeError, ValueError) as exc:
        why = f" ({exc})" if str(exc) else ""
        raise ValidationError(f"{_CONE_HELP}; got {value!r}{why}") from None
    if not all(map(math.isfinite, (ra, dec, radius))):
        raise ValidationError(f"{_CONE_HELP}; got {value!r}")
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
    program_ids: Mapping[int, str] | None = None,
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
    inspected_by: Any = None,
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
    ``tags`` (None skips the name checks); ``program_ids`` maps the archive's integer program
    ids to slugs. Unknown names, inverted ranges, malformed cone
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
    if inspected_by is not None and (remote or spectra or not isinstance(inspected_by, str)):
        raise ValidationError(
            "inspected_by is a local-only objects filter on last_inspected_by (a user id "
            f"string): sync first and drop remote=True (got {inspected_by!r})"
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
        programs=_programs(programs, known("programs"), program_ids),
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
        inspected_by=inspected_by,
        has_photometry=_flag("has_photometry", has_photometry),
        search=search.strip() or None if isinstance(search, str) else None,
        cone=cone,
        limit=limit,
        offset=int(offset or 0),
        sort=sort_name,
        sort_dir=direction,
    )
