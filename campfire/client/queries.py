"""The ``query_*`` methods of :class:`~campfire.client.Campfire`: one signature, two tables.

``query_objects`` and ``query_spectra`` take the same filter arguments (:data:`FILTER_NAMES`,
plus ``remote``) as an explicit signature, so help() and IDEs show them; both are made by
:func:`query_method` and answered by ``Campfire._query``, which validates the arguments once
and asks the local catalog or the archive.

Examples
--------
>>> "cone_search" in FILTER_NAMES
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from astropy.table import Table

__all__ = ["FILTER_NAMES", "QUERY_OBJECTS", "QUERY_SPECTRA", "query_method"]

FILTER_NAMES = (
    "fields", "programs", "gratings", "observations", "redshift_range", "redshift_quality",
    "max_snr_range", "dq_flags", "tags", "inspected_only", "staleness", "has_photometry",
    "search", "cone_search", "limit", "offset", "sort", "sort_dir",
)  # fmt: skip


def query_method(kind: str, default_sort: str, doc: str) -> Callable[..., Table]:
    """The ``query_<kind>`` method: the filter arguments :data:`FILTER_NAMES` (plus ``remote``)
    as an explicit signature, shared by objects and spectra, answered by ``Campfire._query``.

    Examples
    --------
    >>> query_method("objects", "object_id", "Objects.").__name__
    'query_objects'
    """

    def query(
        self: Any,
        fields: list[str] | None = None,
        programs: list[int | str] | None = None,
        gratings: list[str] | None = None,
        observations: list[str] | None = None,
        redshift_range: tuple[float, float] | None = None,
        redshift_quality: list[int | str] | None = None,
        max_snr_range: tuple[float, float] | None = None,
        dq_flags: Any = None,
        tags: list[str] | None = None,
        inspected_only: bool | None = None,
        staleness: bool | None = None,
        has_photometry: bool | None = None,
        search: str | None = None,
        cone_search: tuple[float, float, float] | None = None,
        limit: int | None = None,
        offset: int = 0,
        sort: str = default_sort,
        sort_dir: str = "asc",
        remote: bool = False,
    ) -> Table:
        given = locals()
        return self._query(kind, {name: given[name] for name in (*FILTER_NAMES, "remote")})

    query.__name__ = f"query_{kind}"
    query.__qualname__ = f"Campfire.query_{kind}"
    query.__doc__ = doc
    return query


QUERY_OBJECTS = query_method(
    "objects",
    "object_id",
    """Objects (one row per sky position) matching every given filter; an astropy Table.

    Lists match any of their values; ranges are inclusive ``(min, max)``;
    ``redshift_quality`` takes 0-4 or names (``'secure'``); ``dq_flags`` (``DQFlags``
    expressions) is evaluated through each object's spectra; ``cone_search`` is
    ``(ra_deg, dec_deg, radius_arcsec)`` on the sphere and adds a ``distance`` column
    (arcsec, the default sort). Locally there is no limit unless given; remotely it is 1000.
    Columns: see ``docs/python-client.md``.

    Examples
    --------
    >>> cf.query_objects(fields=["cosmos"], redshift_range=(4.0, 8.0),
    ...                  redshift_quality=[3, 4], inspected_only=True)  # doctest: +SKIP
    >>> cf.query_objects(cone_search=(150.0832, 2.3511, 30.0))  # doctest: +SKIP
    """,
)
QUERY_SPECTRA = query_method(
    "spectra",
    "spectrum_id",
    """Spectra (one row each) matching every given filter; an astropy Table.

    Same vocabulary as :meth:`query_objects`; the inspection filters (``redshift_*``,
    ``inspected_only``, ``tags``, ``has_photometry``, ``staleness``) apply to the parent
    object, ``max_snr_range`` to each spectrum's ``signal_to_noise`` and ``dq_flags`` to
    each spectrum's bitmask.

    Examples
    --------
    >>> from campfire.flags import DQFlags
    >>> clean = ~DQFlags.CONTAMINATION & ~DQFlags.LOW_SNR
    >>> good = cf.query_spectra(gratings=["PRISM"], dq_flags=clean)  # doctest: +SKIP
    """,
)
