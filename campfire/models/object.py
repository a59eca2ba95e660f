"""The dataclass tree users hold: Object → SpectrumCollection → Spectrum → SpectrumData,
with Photometry hanging off Object.

This module defines :class:`Object`; the spectrum level lives in
:mod:`campfire.models.spectrum`, an object's catalog photometry in
:mod:`campfire.models.photometry`, and the tolerant reading of catalog row values they all
share in :mod:`campfire.models.rows`. Import any of them from :mod:`campfire.models`.

Models are built from catalog rows and hold no HTTP: a :class:`Spectrum` opens its file through
an *opener* the client injects (``Callable[[Spectrum], SpectrumData]``), or reads a downloaded
file directly.

Examples
--------
>>> from campfire.models import Object, Photometry
>>> rec = {"catalog_name": "UVCANDELS", "photo_z": 3.51, "photometry": {"flux_unit": "uJy",
...        "bands": {"f444w": {"flux": 2.0, "flux_err": 0.1, "wav": 4.40},
...                  "f150w": {"flux": 1.0, "flux_err": 0.1, "wav": 1.50}}}}
>>> phot = Photometry.from_record(rec)
>>> phot.bands
['f150w', 'f444w']
>>> phot['F444W'].flux
2.0
>>> row = {"object_id": "ember_uds_p4_123456", "field": "cosmos", "redshift": 3.421,
...        "spectra": [{"spectrum_id": "a_prism", "grating": "PRISM", "signal_to_noise": 12.0},
...                    {"spectrum_id": "a_g395m", "grating": "G395M", "signal_to_noise": 4.0}]}
>>> obj = Object.from_dict(row, tags="lrd", photometry=phot)
>>> print(obj)
Object(ember_uds_p4_123456, z=3.4210, cosmos)
  2 spectra (G395M, PRISM)
  tags: lrd
  Photometry(2 bands, UVCANDELS, photo_z=3.51)
>>> obj.spectra[obj.spectra.signal_to_noise > 10].spectrum_id.tolist()
['a_prism']
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

from campfire.models.photometry import Photometry
from campfire.models.rows import (
    as_list,
    given_values,
    require_key,
    to_float,
    to_int,
    to_str,
    truthy,
)
from campfire.models.spectrum import Spectrum, SpectrumCollection, SpectrumOpener

__all__ = ["Object"]

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*$")  # ids that can name a cached file


@dataclass(eq=False)
class Object:
    """A sky object: its inspection state, aggregates, spectra and photometry.

    ``redshift`` is the best value (inspected, else automated; None when graded impossible),
    ``redshift_quality`` 0-4 (see :class:`campfire.flags.RedshiftQuality`). ``target_ids``
    are the ids of its targets (``member_target_ids``); ``products_dir`` is where its
    spectra are downloaded, and ``cutouts/`` beside it holds its cached cutouts.
    """

    object_id: str
    field: str | None = None
    ra: float | None = None
    dec: float | None = None
    redshift: float | None = None
    redshift_auto: float | None = None
    redshift_inspected: float | None = None
    redshift_quality: int = 0
    programs: list[str] = dc_field(default_factory=list)
    tags: list[str] = dc_field(default_factory=list)
    gratings: list[str] = dc_field(default_factory=list)
    observations: list[str] = dc_field(default_factory=list)
    n_spectra: int = 0
    n_targets: int = 0
    max_snr: float | None = None
    max_exposure_time: float | None = None
    has_photometry: bool = False
    photo_z: float | None = None
    photo_z_err_lo: float | None = None
    photo_z_err_hi: float | None = None
    last_inspected_at: str | None = None
    staleness_reason: str | None = None
    spectra: SpectrumCollection = dc_field(default_factory=SpectrumCollection, repr=False)
    photometry: Photometry | None = dc_field(default=None, repr=False)
    target_ids: list[str] = dc_field(default_factory=list)
    products_dir: str | None = dc_field(default=None, repr=False)

    @classmethod
    def from_dict(
        cls,
        row: dict[str, Any],
        *,
        spectra: Iterable[Spectrum | dict[str, Any]] | None = None,
        tags: Iterable[str] | str | None = None,
        photometry: Photometry | dict[str, Any] | None = None,
        opener: SpectrumOpener | None = None,
        products_dir: str | os.PathLike[str] | None = None,
    ) -> Object:
        """Build from an objects row (local store, ``/objects`` or ``/sync/objects``).

        ``spectra``, ``tags`` and ``photometry`` default to the row's own ``spectra``,
        ``tags`` (or ``lists``) and ``photometry`` keys; list columns may be ``;``-joined.
        ``target_ids`` come from ``member_target_ids``, else from the spectra's target ids.
        """
        require_key(row, "object_id")
        quality = to_int(row.get("redshift_quality"))
        auto, inspected = (
            to_float(row.get("redshift_auto")),
            to_float(row.get("redshift_inspected")),
        )
        if "redshift" in row:
            z = to_float(row["redshift"])
        else:  # api-v1 3.2
            z = None if quality == 1 else (inspected if inspected is not None else auto)
        rows = row.get("spectra") if spectra is None else spectra
        inherit = {"object_id": row.get("object_id"), "field": row.get("field")}
        items = [
            s if isinstance(s, Spectrum)
            else Spectrum.from_dict({**inherit, **given_values(s)}, opener=opener,
                                    products_dir=products_dir, redshift=z)
            for s in rows or []
        ]  # fmt: skip
        phot = row.get("photometry") if photometry is None else photometry
        if isinstance(phot, dict):
            phot = Photometry.from_record(phot)
        gratings = as_list(row.get("gratings")) or sorted({s.grating for s in items if s.grating})
        return cls(
            object_id=str(row["object_id"]),
            field=to_str(row.get("field")),
            ra=to_float(row.get("ra")),
            dec=to_float(row.get("dec")),
            redshift=z,
            redshift_auto=auto,
            redshift_inspected=inspected,
            redshift_quality=quality,
            programs=as_list(row.get("programs")),
            tags=as_list(tags if tags is not None else row.get("tags", row.get("lists"))),
            gratings=gratings,
            observations=as_list(row.get("observations")),
            n_spectra=to_int(row.get("n_spectra"), len(items)) or len(items),
            n_targets=to_int(row.get("n_targets")),
            max_snr=to_float(row.get("max_snr")),
            max_exposure_time=to_float(row.get("max_exposure_time")),
            has_photometry=truthy(row.get("has_photometry")) or phot is not None,
            photo_z=to_float(row.get("photo_z")),
            photo_z_err_lo=to_float(row.get("photo_z_err_lo")),
            photo_z_err_hi=to_float(row.get("photo_z_err_hi")),
            last_inspected_at=to_str(row.get("last_inspected_at")),
            staleness_reason=to_str(row.get("staleness_reason")),
            spectra=SpectrumCollection(items),
            photometry=phot,
            target_ids=as_list(row.get("member_target_ids"))
            or sorted({s.target_id for s in items if s.target_id}),
            products_dir=None if products_dir is None else os.fspath(products_dir),
        )

    @property
    def redshift_quality_label(self) -> str:
        """``'none'``, ``'impossible'``, ``'tentative'``, ``'probable'`` or ``'secure'``."""
        from campfire.flags import RedshiftQuality

        return RedshiftQuality.parse(self.redshift_quality).label

    @property
    def cached_cutout(self) -> Path | None:
        """The cached cutout PNG the card shows, or None when none is cached.

        Looks for ``<object_id>_fov*.png`` in ``cutouts/`` next to ``products_dir`` (default
        ``$CAMPFIRE_ROOT/cutouts``), where ``cf.get_cutout`` caches them, and picks the smallest
        field of view, then the smallest size (files that are not PNG are passed over).

        Examples
        --------
        >>> Object("J021737.42-051208.5", products_dir="/nonexistent/products").cached_cutout
        """
        from campfire.views.cards import cutout_key

        if not _SAFE_ID.match(self.object_id):
            return None
        if self.products_dir:
            folder = Path(self.products_dir).parent / "cutouts"
        else:
            from campfire.config import Settings

            folder = Settings.from_env().cutouts_dir
        for path in sorted(folder.glob(f"{self.object_id}_fov*.png"), key=cutout_key):
            try:
                with path.open("rb") as fh:
                    if fh.read(8) == b"\x89PNG\r\n\x1a\n":
                        return path
            except OSError:  # vanished or unreadable: try the next one
                continue
        return None

    def _lines(self) -> list[str]:
        z = "" if self.redshift is None else f", z={self.redshift:.4f}"
        fld = f", {self.field}" if self.field else ""
        n = len(self.spectra) or self.n_spectra
        gratings = self.spectra.gratings or self.gratings
        lines = [
            f"Object({self.object_id}{z}{fld})",
            f"  {n} {'spectrum' if n == 1 else 'spectra'} ({', '.join(gratings)})",
        ]
        if self.tags:
            lines.append(f"  tags: {', '.join(self.tags)}")
        if self.photometry is not None:
            lines.append(f"  {self.photometry!r}")
        return lines

    def __repr__(self) -> str:
        return "\n".join(self._lines())

    def _repr_html_(self) -> str:
        from campfire.views.cards import object_html

        return object_html(self)
