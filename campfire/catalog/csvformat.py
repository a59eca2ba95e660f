"""What the catalog's CSV files hold: their columns, and the order of the photometry's bands.

Shared by the two writers, :mod:`campfire.catalog.export` (Python's ``csv``) and
:mod:`campfire.catalog.duckcsv` (DuckDB), which must write the same bytes.

Examples
--------
>>> band_order(['{"bands": {"f444w": {"wav": 44000}, "f090w": {"wav": 9000}}}'])
['f090w', 'f444w']
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson

__all__ = [
    "OBJECT_CSV_COLUMNS",
    "PHOTOMETRY_CSV_COLUMNS",
    "SPECTRUM_CSV_COLUMNS",
    "band_order",
    "bands",
]

OBJECT_CSV_COLUMNS = (
    "object_id", "field", "ra", "dec", "redshift", "redshift_auto", "redshift_inspected",
    "redshift_quality", "n_targets", "n_spectra", "programs", "gratings", "observations",
    "member_target_ids", "max_snr", "max_exposure_time", "has_photometry", "photo_z",
    "photo_z_err_lo", "photo_z_err_hi", "last_inspected_at", "last_inspected_by",
    "last_data_change_at", "staleness_reason",
)  # fmt: skip
SPECTRUM_CSV_COLUMNS = (
    "spectrum_id", "target_id", "object_id", "grating", "fits_path", "file_hash", "file_size",
    "signal_to_noise", "exposure_time", "reduction_version", "redshift_auto", "dq_flags",
    "program_slug", "observation", "field", "local_path",
)  # fmt: skip
PHOTOMETRY_CSV_COLUMNS = (
    "object_id", "field", "catalog_name", "catalog_id", "match_distance_arcsec", "photo_z",
    "photo_z_err_lo", "photo_z_err_hi",
)  # fmt: skip


def bands(text: str | None) -> dict[str, Any]:
    """The ``bands`` of a stored photometry record ({} for anything unreadable)."""
    try:
        phot = orjson.loads(text or "{}")
    except orjson.JSONDecodeError:
        try:  # what orjson refuses and the standard library reads (huge integers)
            phot = json.loads(text or "{}")
        except ValueError:
            return {}
    bands = phot.get("bands") if isinstance(phot, dict) else None
    return bands if isinstance(bands, dict) else {}


def band_order(records: Iterable[str | None]) -> list[str]:
    """The photometry columns' bands: by the ``wav`` each has in the first of ``records``
    (stored JSON, in the file's order) that names it (bands without one last), then by name.
    """
    waves: dict[str, float | None] = {}
    for text in records:
        for name, band in bands(text).items():
            if name not in waves:
                waves[name] = band.get("wav") if isinstance(band, dict) else None
    return _band_order(waves)


def _band_order(waves: dict[str, float | None]) -> list[str]:
    return sorted(waves, key=lambda b: (waves[b] is None, waves[b] or 0.0, b))
