"""The columns of catalog query results, and the astropy Table built from them.

``OBJECT_COLUMNS`` and ``SPECTRUM_COLUMNS`` name the columns ``query_objects`` and
``query_spectra`` return, local or remote, with each column's kind (``str``, ``float``,
``int``, ``bool``, ``list``) and unit; :func:`build_table` turns column data from either source
(DuckDB's numpy arrays, or lists of remote values) into the same astropy Table.

Examples
--------
>>> from campfire.catalog.columns import OBJECT_COLUMNS, build_table
>>> OBJECT_COLUMNS["ra"]
('float', 'deg')
>>> len(build_table({"ra": [1.0, 2.0]}, {"ra": ("float", "deg")}))
2
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from astropy.table import Table

__all__ = ["DISTANCE", "OBJECT_COLUMNS", "SPECTRUM_COLUMNS", "best_redshift", "build_table"]

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
    "last_inspected_by": ("str", None), "last_inspected_by_name": ("str", None),
    "last_data_change_at": ("str", None),
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


def best_redshift(row: Mapping[str, Any]) -> float | None:
    """The ``redshift`` column (api-v1 3.2): None for quality 1, else inspected, else auto.

    Examples
    --------
    >>> best_redshift({"redshift_quality": 3, "redshift_inspected": 2.5, "redshift_auto": 2.4})
    2.5
    >>> best_redshift({"redshift_quality": 1, "redshift_auto": 2.4}) is None
    True
    """
    if row.get("redshift_quality") == 1:
        return None
    for key in ("redshift_inspected", "redshift_auto", "redshift"):
        if row.get(key) is not None:
            return float(row[key])
    return None


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
