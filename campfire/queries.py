"""Catalog queries for :class:`~campfire.client.Campfire`: ``query_*`` and ``iter_*``.

Arguments are validated once (:func:`campfire.catalog.filters.make_filters`, against the local
or the
archive's vocabulary), then answered by DuckDB over the synced catalog
(:class:`campfire.catalog.engine.Catalog`) or, without one or with ``remote=True``, by paging the
archive's ``/objects`` and ``/spectra/list`` (:mod:`campfire.archive.wire`). :class:`Queries` is one
of the classes ``Campfire`` is assembled from (see :mod:`campfire.connection`).

Examples
--------
>>> cf.query_objects(fields=["uds"], redshift_range=(4, 8), limit=5)  # doctest: +SKIP
>>> sum(1 for _ in cf.iter_spectra(gratings=["PRISM"]))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from campfire.archive.wire import DEFAULT_LIMIT, object_row, page_window, spectrum_row, wire_params
from campfire.catalog.columns import OBJECT_COLUMNS, SPECTRUM_COLUMNS, build_table
from campfire.catalog.engine import Catalog
from campfire.catalog.filters import Filters, make_filters
from campfire.errors import ValidationError
from campfire.records import Records

if TYPE_CHECKING:
    from astropy.table import Table

__all__ = ["FILTER_NAMES", "Queries"]

log = logging.getLogger("campfire.client")

FILTER_NAMES = (
    "fields", "programs", "gratings", "observations", "redshift_range", "redshift_quality",
    "max_snr_range", "dq_flags", "tags", "inspected_only", "staleness", "has_photometry",
    "search", "cone_search", "limit", "offset", "sort", "sort_dir",
)  # fmt: skip


def _query_method(kind: str, default_sort: str, doc: str) -> Callable[..., Table]:
    """The ``query_<kind>`` method: the filter arguments :data:`FILTER_NAMES` (plus ``remote``)
    as an explicit signature, shared by objects and spectra, answered by ``Queries._query``.
    """

    def query(
        self: Queries,
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
    query.__qualname__ = f"Queries.query_{kind}"
    query.__doc__ = doc
    return query


class Queries(Records):
    """Filtered catalog queries, as Tables or streams of dicts, local first.

    Examples
    --------
    >>> cf.query_spectra(gratings=["PRISM"], limit=10)  # doctest: +SKIP
    """

    def _vocab(self, cat: Catalog | None) -> dict[str, list[str]]:
        if cat is not None:
            return cat.vocabulary()
        if self._remote_vocab is None:
            meta = self.get_metadata(remote=True)
            api = self._online("checking tag names")
            self._remote_vocab = {
                "fields": list(meta.get("fields") or []),
                "gratings": list(meta.get("gratings") or []),
                "observations": list(meta.get("observations") or []),
                "programs": [p["slug"] for p in meta.get("programs") or []],
                "tags": sorted(str(t["slug"]) for t in api.fetch_tags()),
            }
        return self._remote_vocab

    # -- querying ------------------------------------------------------------------------------
    query_objects = _query_method(
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
    query_spectra = _query_method(
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

    def iter_objects(self, remote: bool = False, **filters: Any) -> Iterator[dict[str, Any]]:
        """Stream matching objects as dicts (same filters as :meth:`query_objects`).

        Locally rows come from DuckDB in batches; remotely ``/objects`` is paged for you.

        Examples
        --------
        >>> for row in cf.iter_objects(redshift_range=(2.0, 4.0)):  # doctest: +SKIP
        ...     print(row["object_id"], row["redshift"])
        """
        return self._iter("objects", {**filters, "remote": remote})

    def iter_spectra(self, remote: bool = False, **filters: Any) -> Iterator[dict[str, Any]]:
        """Stream matching spectra as dicts (same filters as :meth:`query_spectra`).

        Examples
        --------
        >>> n = sum(1 for _ in cf.iter_spectra(gratings=["PRISM"]))  # doctest: +SKIP
        """
        return self._iter("spectra", {**filters, "remote": remote})

    def _filters(self, kind: str, kw: dict[str, Any]) -> tuple[Catalog | None, Filters]:
        remote = bool(kw.pop("remote", False))
        cat = self._local(remote, f"query_{kind}")
        if cat is None and kw.get("staleness") is not None and not remote:
            raise ValidationError("staleness needs the synced catalog: run cf.sync() first")
        unknown = set(kw) - set(FILTER_NAMES)
        if unknown:
            raise TypeError(
                f"unknown filter(s) {', '.join(sorted(unknown))}; "
                f"filters: {', '.join(FILTER_NAMES)}"
            )
        return cat, make_filters(kind, self._vocab(cat), remote=cat is None, **kw)

    def _query(self, kind: str, kw: dict[str, Any]) -> Table:
        cat, flt = self._filters(kind, kw)
        if cat is not None:
            return cat.query(kind, flt)
        limit = DEFAULT_LIMIT if flt.limit is None else flt.limit  # the contract's default
        info: dict[str, int] = {}
        rows = list(self._iter_remote(kind, replace(flt, limit=limit), info))
        total = info.get("total", 0)
        if flt.limit is None and total > flt.offset + len(rows):
            log.warning(
                "query_%s: the archive has %d matching rows; returned %d (pass limit= or use "
                "iter_%s to get them all)",
                kind,
                total,
                len(rows),
                kind,
            )
        columns = SPECTRUM_COLUMNS if kind == "spectra" else OBJECT_COLUMNS
        cols = {c: [r.get(c) for r in rows] for c in [*columns, "distance"]}
        return build_table(cols, columns, distance=flt.cone is not None)

    def _remote_page(
        self, kind: str, flt: Filters, size: int, offset: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        api = self._online(f"query_{kind}(remote)")
        params = {**wire_params(flt), "limit": str(size), "offset": str(offset)}
        path = "/spectra/list" if kind == "spectra" else "/objects"
        body = api.get_json(path, params=params)
        convert = spectrum_row if kind == "spectra" else object_row
        rows = [convert(r) for r in body.get("data") or []]
        if kind == "spectra" and rows and self.catalog is not None:
            self._fill_local_paths(rows)
        return rows, dict(body.get("pagination") or {})

    def _fill_local_paths(self, rows: list[dict[str, Any]]) -> None:
        cat = self.catalog
        assert cat is not None
        ids = [r["spectrum_id"] for r in rows]
        with cat._lock:
            marks = ",".join("?" * len(ids))
            found = dict(
                cat.sqlite.execute(
                    f"SELECT spectrum_id, local_path FROM spectra WHERE spectrum_id IN ({marks})",
                    ids,
                ).fetchall()
            )
        for r in rows:
            r["local_path"] = found.get(r["spectrum_id"])

    def _iter(self, kind: str, kw: dict[str, Any]) -> Iterator[dict[str, Any]]:
        cat, flt = self._filters(kind, kw)  # validated now, not at the first next()
        return cat.iter_rows(kind, flt) if cat is not None else self._iter_remote(kind, flt)

    def _iter_remote(
        self, kind: str, flt: Filters, info: dict[str, int] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Rows of ``/objects`` or ``/spectra/list``, paged; ``info['total']`` is the count."""
        offset, left = flt.offset, flt.limit
        per_page = max(1, int(self.page_size))
        size = min(left or per_page, per_page)
        if self._online(f"query_{kind}(remote)").server_info().server == "campfire":
            start = offset  # our server pages by exact offsets
        else:  # the contract rounds offsets down to a page (quirk 6): fetch an aligned window
            size, start = page_window(offset, size)
        skip = offset - start
        while left is None or left > 0:
            rows, page = self._remote_page(kind, flt, size, start)
            if info is not None:
                info["total"] = int(page.get("total") or 0)
            chunk = rows[skip:]
            if left is not None:
                chunk = chunk[:left]
                left -= len(chunk)
            yield from chunk
            start += len(rows)
            skip = 0
            if not rows or start >= int(page.get("total") or 0):
                return
