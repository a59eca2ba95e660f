"""The dataclass tree users hold: Object → SpectrumCollection → Spectrum → SpectrumData,
with Photometry hanging off Object.

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

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from campfire.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from astropy.table import Table

    from campfire.spectrum import SpectrumData

__all__ = ["BandFlux", "Object", "Photometry", "Spectrum", "SpectrumCollection", "SpectrumOpener"]


class BandFlux(NamedTuple):
    """One band of a :class:`Photometry`: flux and error in µJy, pivot wavelength in µm."""

    flux: float
    flux_err: float
    wavelength: float


@dataclass(eq=False)
class Photometry:
    """Broadband photometry of one object from one catalog, as parallel arrays.

    Attributes
    ----------
    bands
        Lower-case band names (``'f444w'``), sorted by wavelength.
    flux, flux_err
        Flux densities and 1σ errors in µJy.
    wavelength
        Band pivot wavelengths in µm (NaN when the catalog did not give one).
    catalog, catalog_id, match_distance_arcsec
        The source catalog, the object's id in it and the match distance.
    photo_z, photo_z_err_lo, photo_z_err_hi
        The catalog's photometric redshift and its errors, or None.
    """

    bands: list[str]
    flux: np.ndarray
    flux_err: np.ndarray
    wavelength: np.ndarray
    catalog: str | None = None
    catalog_id: str | None = None
    match_distance_arcsec: float | None = None
    photo_z: float | None = None
    photo_z_err_lo: float | None = None
    photo_z_err_hi: float | None = None
    flux_unit: str = "uJy"
    object_id: str | None = None
    _index: dict[str, int] = dc_field(default_factory=dict, repr=False, init=False)

    def __post_init__(self) -> None:
        self.bands = [str(b).lower() for b in self.bands]
        self.flux = np.asarray(self.flux, dtype=float)
        self.flux_err = np.asarray(self.flux_err, dtype=float)
        self.wavelength = np.asarray(self.wavelength, dtype=float)
        self._index = {b: i for i, b in enumerate(self.bands)}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Photometry:
        """Build from a catalog record (``/sync/photometry`` row or local store row).

        ``record['photometry']`` may be a dict or its JSON text:
        ``{"flux_unit": "uJy", "bands": {"f444w": {"flux", "flux_err", "wav"}}}``.
        """
        phot = record.get("photometry") or {}
        if isinstance(phot, str):
            phot = json.loads(phot)
        bands = phot.get("bands") or {}
        items = sorted(
            bands.items(),
            key=lambda kv: (kv[1].get("wav") is None, kv[1].get("wav") or 0.0, kv[0]),
        )

        def num(v: Any) -> float:
            return float("nan") if v is None else float(v)

        return cls(
            bands=[k for k, _ in items],
            flux=np.array([num(v.get("flux")) for _, v in items]),
            flux_err=np.array([num(v.get("flux_err")) for _, v in items]),
            wavelength=np.array([num(v.get("wav")) for _, v in items]),
            catalog=record.get("catalog_name"),
            catalog_id=None if record.get("catalog_id") is None else str(record["catalog_id"]),
            match_distance_arcsec=record.get("match_distance_arcsec"),
            photo_z=record.get("photo_z"),
            photo_z_err_lo=record.get("photo_z_err_lo"),
            photo_z_err_hi=record.get("photo_z_err_hi"),
            flux_unit=phot.get("flux_unit", "uJy"),
            object_id=record.get("object_id"),
        )

    def __len__(self) -> int:
        return len(self.bands)

    def __contains__(self, band: object) -> bool:
        return isinstance(band, str) and band.lower() in self._index

    def __getitem__(self, band: str) -> BandFlux:
        key = band.lower()
        if key.startswith("jwst_"):
            key = key[5:]
        if key not in self._index:
            raise KeyError(f"band {band!r} not in this photometry; bands are {self.bands}")
        i = self._index[key]
        return BandFlux(float(self.flux[i]), float(self.flux_err[i]), float(self.wavelength[i]))

    def __repr__(self) -> str:
        pz = "" if self.photo_z is None else f", photo_z={self.photo_z:.2f}"
        return f"Photometry({len(self)} bands, {self.catalog or '?'}{pz})"

    def to_table(self) -> Table:
        """Return ``band, wavelength [µm], flux [µJy], flux_err [µJy]`` as an astropy Table."""
        import astropy.units as u
        from astropy.table import Table

        return Table(
            {
                "band": list(self.bands),
                "wavelength": self.wavelength * u.um,
                "flux": self.flux * u.uJy,
                "flux_err": self.flux_err * u.uJy,
            },
            meta={"catalog": self.catalog, "photo_z": self.photo_z},
        )

    def to_svg(self) -> str:
        """A small inline SVG of this SED: flux ± 1σ against log wavelength, band names as
        tooltips (see :func:`campfire.cards.sed_svg`); ``""`` when no band has a flux.

        Examples
        --------
        >>> Photometry(["f150w"], [1.0], [0.1], [1.5]).to_svg().startswith("<svg")
        True
        """
        from campfire.cards import sed_svg

        return sed_svg(self)

    def _repr_html_(self) -> str:
        from campfire.cards import photometry_html

        return photometry_html(self)


# -- catalog-row helpers -----------------------------------------------------------------------
def _as_list(value: Any) -> list[str]:
    """A list column that may arrive ``;``-joined, as a list, or as ``[{slug: ...}]`` dicts."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(";") if v.strip()]
    out = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("slug") or item.get("name")
        if item is not None and str(item).strip():
            out.append(str(item).strip())
    return out


def _missing(value: Any) -> bool:
    return value is None or value is np.ma.masked or (isinstance(value, str) and not value)


def _num(value: Any) -> float | None:
    if _missing(value):
        return None
    v = float(value)
    return None if np.isnan(v) else v


def _int(value: Any, default: int = 0) -> int:
    return default if _missing(value) else int(value)


def _str(value: Any) -> str | None:
    return None if _missing(value) else str(value)


def _require(row: dict[str, Any], key: str) -> None:
    if _missing(row.get(key)):
        raise ValidationError(f"a catalog row needs {key!r}; this one has {sorted(row)}")


def _given(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not _missing(v)}


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "t", "yes"}
    return bool(value)


SpectrumOpener = Callable[["Spectrum"], "SpectrumData"]
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*$")  # ids that can name a cached file


@dataclass(eq=False)
class Spectrum:
    """One catalog spectrum row; ``.open()`` (or ``.data``) loads its arrays as SpectrumData.

    ``local_path`` is relative to ``products_dir`` (default ``$CAMPFIRE_ROOT/products``);
    ``redshift`` is the parent object's best redshift when known. Opening uses the injected
    ``opener`` (the client's, which also downloads), else a downloaded file, else raises.

    Examples
    --------
    >>> s = Spectrum.from_dict({"spectrum_id": "x_prism_clear_1", "grating": "prism",
    ...                         "dq_flags": 34, "signal_to_noise": 8.21})
    >>> s, s.dq_flag_names
    (Spectrum(x_prism_clear_1, PRISM, S/N=8.2), ['CONTAMINATION', 'LOW_SNR'])
    """

    spectrum_id: str
    grating: str = ""
    object_id: str | None = None
    target_id: str | None = None
    signal_to_noise: float | None = None
    exposure_time: float | None = None
    reduction_version: str | None = None
    redshift_auto: float | None = None
    dq_flags: int = 0
    fits_path: str | None = None
    local_path: str | None = None
    file_hash: str | None = None
    file_size: int | None = None
    program_slug: str | None = None
    observation: str | None = None
    field: str | None = None
    redshift: float | None = None
    products_dir: str | None = dc_field(default=None, repr=False)
    opener: SpectrumOpener | None = dc_field(default=None, repr=False)
    _data: SpectrumData | None = dc_field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.grating = (self.grating or "").upper()
        self.dq_flags = _int(self.dq_flags)

    @classmethod
    def from_dict(
        cls,
        row: dict[str, Any],
        *,
        opener: SpectrumOpener | None = None,
        products_dir: str | os.PathLike[str] | None = None,
        redshift: float | None = None,
    ) -> Spectrum:
        """Build from a spectra row (local store, ``/spectra/list`` or an object's ``spectra``)."""
        _require(row, "spectrum_id")
        return cls(
            spectrum_id=str(row["spectrum_id"]),
            grating=row.get("grating") or "",
            object_id=_str(row.get("object_id") or row.get("parent_object_id")),
            target_id=_str(row.get("target_id")),
            signal_to_noise=_num(row.get("signal_to_noise")),
            exposure_time=_num(row.get("exposure_time")),
            reduction_version=_str(row.get("reduction_version")),
            redshift_auto=_num(row.get("redshift_auto")),
            dq_flags=_int(row.get("dq_flags")),
            fits_path=_str(row.get("fits_path")),
            local_path=_str(row.get("local_path")),
            file_hash=_str(row.get("file_hash")),
            file_size=None if _missing(row.get("file_size")) else int(row["file_size"]),
            program_slug=_str(row.get("program_slug")),
            observation=_str(row.get("observation")),
            field=_str(row.get("field")),
            redshift=_num(row["redshift"]) if row.get("redshift") is not None else redshift,
            products_dir=None if products_dir is None else os.fspath(products_dir),
            opener=opener,
        )

    # -- files ---------------------------------------------------------------------------------
    def _candidates(self) -> list[Path]:
        from campfire.config import Settings

        base = Path(self.products_dir) if self.products_dir else Settings.from_env().products_dir
        paths = []
        if self.local_path:
            p = Path(self.local_path).expanduser()
            paths.append(p if p.is_absolute() else base / p)
        if self.fits_path:  # where a download (or the pipeline) puts it: <obs>/<file>
            name = Path(self.fits_path).name
            paths.append(base / self.observation / name if self.observation else base / name)
        return paths

    @property
    def local_file(self) -> Path | None:
        """The downloaded FITS file, or None when it is not on disk."""
        return next((p for p in self._candidates() if p.is_file()), None)

    @property
    def downloaded(self) -> bool:
        """True when the FITS file is on local disk."""
        return self.local_file is not None

    @property
    def dq_flag_names(self) -> list[str]:
        """The DQ flags set on this spectrum, by name."""
        from campfire.flags import decode_flags

        return decode_flags(self.dq_flags)

    def open(self, *, reload: bool = False) -> SpectrumData:
        """Load the spectrum (cached after the first call; ``reload=True`` reads it again)."""
        if self._data is not None and not reload:
            return self._data
        if self.opener is not None:
            data = self.opener(self)
        elif (path := self.local_file) is not None:
            from campfire.io import read_spectrum

            data = read_spectrum(path, spectrum_id=self.spectrum_id, grating=self.grating or None)
        else:
            looked = ", ".join(str(p) for p in self._candidates()) or "no local path known"
            obs = f" --obs {self.observation}" if self.observation else ""
            raise NotFoundError(
                f"spectrum {self.spectrum_id} is not downloaded (looked for {looked}) and has no "
                f"client to fetch it: use cf.open_spectrum({self.spectrum_id!r}) or "
                f"cf.get_object(...), or run `campfire download{obs}` first"
            )
        if data.object_id is None:
            data.object_id = self.object_id
        if data.redshift is None:
            data.redshift = self.redshift
        self._data = data
        return data

    @property
    def data(self) -> SpectrumData:
        """The loaded spectrum (same as :meth:`open`)."""
        return self.open()

    def plot(self, **kwargs: Any) -> Any:
        """Quick-look matplotlib plot: ``self.open().plot(**kwargs)``."""
        return self.open().plot(**kwargs)

    def __repr__(self) -> str:
        snr = "" if self.signal_to_noise is None else f", S/N={self.signal_to_noise:.1f}"
        got = ", downloaded" if self.downloaded else ""
        return f"Spectrum({self.spectrum_id}, {self.grating or '?'}{snr}{got})"

    def _repr_html_(self) -> str:
        return SpectrumCollection([self])._repr_html_()


_FLOAT_ATTRS = {"signal_to_noise", "exposure_time", "redshift_auto", "redshift", "file_size"}
_ARRAY_ATTRS = [
    f for f in Spectrum.__dataclass_fields__ if f not in {"opener", "_data", "products_dir"}
] + ["downloaded"]
_TABLE_COLUMNS = ["spectrum_id", "object_id", "grating", "signal_to_noise", "exposure_time",
                  "reduction_version", "redshift_auto", "dq_flags", "fits_path", "local_path",
                  "observation", "downloaded"]  # fmt: skip


@dataclass(eq=False)
class SpectrumCollection:
    """A numpy-style filterable list of :class:`Spectrum`.

    Every Spectrum attribute is also a collection attribute returning a numpy array
    (``.grating``, ``.signal_to_noise`` …), so boolean masks select spectra. Index with an int
    (one Spectrum), a slice, a boolean mask, an array of indices, or a spectrum_id.

    Examples
    --------
    >>> c = SpectrumCollection([Spectrum("a", "PRISM", signal_to_noise=12.0),
    ...                         Spectrum("b", "G395M", signal_to_noise=3.0)])
    >>> c[c.grating == "PRISM"].spectrum_id.tolist(), c.gratings, len(c[[1, 0]])
    (['a'], ['G395M', 'PRISM'], 2)
    """

    spectra: list[Spectrum] = dc_field(default_factory=list)

    def __post_init__(self) -> None:
        self.spectra = list(self.spectra)

    def __len__(self) -> int:
        return len(self.spectra)

    def __iter__(self) -> Iterator[Spectrum]:
        return iter(self.spectra)

    def __getattr__(self, name: str) -> np.ndarray:
        if name not in _ARRAY_ATTRS:
            raise AttributeError(
                f"SpectrumCollection has no attribute {name!r}; per-spectrum arrays: "
                + ", ".join(_ARRAY_ATTRS)
            )
        values = [getattr(s, name) for s in self.__dict__.get("spectra", [])]
        if name in _FLOAT_ATTRS:
            return np.array([np.nan if v is None else v for v in values], dtype=float)
        if name == "dq_flags":
            return np.array(values, dtype=np.int64)
        if name == "downloaded":
            return np.array(values, dtype=bool)
        return np.array(["" if v is None else str(v) for v in values], dtype=str)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(_ARRAY_ATTRS))

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int | np.integer):
            return self.spectra[int(key)]
        if isinstance(key, slice):
            return SpectrumCollection(self.spectra[key])
        if isinstance(key, str):
            for s in self.spectra:
                if s.spectrum_id == key:
                    return s
            raise KeyError(f"no spectrum {key!r} here; spectra are {[s.spectrum_id for s in self]}")
        arr = np.asarray(key)
        if arr.dtype == bool:
            if arr.shape != (len(self),):
                raise IndexError(
                    f"boolean mask has shape {arr.shape} but the collection holds {len(self)} "
                    "spectra; build it from this collection's arrays (c[c.grating == 'PRISM'])"
                )
            return SpectrumCollection([s for s, m in zip(self.spectra, arr, strict=True) if m])
        if arr.ndim == 1 and (arr.dtype.kind in "iu" or arr.size == 0):
            return SpectrumCollection([self.spectra[int(i)] for i in arr])
        raise TypeError(
            f"cannot index a SpectrumCollection with {type(key).__name__}; use an int, a slice, "
            "a boolean mask, a list of indices or a spectrum_id"
        )

    @property
    def gratings(self) -> list[str]:
        """The distinct gratings, sorted."""
        return sorted({s.grating for s in self.spectra if s.grating})

    def open(self) -> list[SpectrumData]:
        """Open every spectrum (see :meth:`Spectrum.open`)."""
        return [s.open() for s in self.spectra]

    def to_table(self) -> Table:
        """The catalog fields as an astropy Table, one row per spectrum."""
        from astropy.table import Table

        return Table({name: getattr(self, name) for name in _TABLE_COLUMNS})

    def __repr__(self) -> str:
        if not self.spectra:
            return "SpectrumCollection(0 spectra)"
        w = max(len("spectrum_id"), *(len(s.spectrum_id) for s in self.spectra))
        lines = [
            f"SpectrumCollection({len(self)} spectra)",
            f"  {'spectrum_id':<{w}}  grating     S/N   exp [s]  dq  downloaded",
        ]
        for s in self.spectra:
            snr = "-" if s.signal_to_noise is None else f"{s.signal_to_noise:.1f}"
            exp = "-" if s.exposure_time is None else f"{s.exposure_time:.0f}"
            lines.append(
                f"  {s.spectrum_id:<{w}}  {s.grating:<7} {snr:>7} {exp:>9} {s.dq_flags:>3}  "
                f"{'yes' if s.downloaded else 'no'}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from campfire.cards import spectra_html

        return spectra_html(self)


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
        _require(row, "object_id")
        quality = _int(row.get("redshift_quality"))
        auto, inspected = _num(row.get("redshift_auto")), _num(row.get("redshift_inspected"))
        if "redshift" in row:
            z = _num(row["redshift"])
        else:  # api-v1 3.2
            z = None if quality == 1 else (inspected if inspected is not None else auto)
        rows = row.get("spectra") if spectra is None else spectra
        inherit = {"object_id": row.get("object_id"), "field": row.get("field")}
        items = [
            s if isinstance(s, Spectrum)
            else Spectrum.from_dict({**inherit, **_given(s)}, opener=opener,
                                    products_dir=products_dir, redshift=z)
            for s in rows or []
        ]  # fmt: skip
        phot = row.get("photometry") if photometry is None else photometry
        if isinstance(phot, dict):
            phot = Photometry.from_record(phot)
        gratings = _as_list(row.get("gratings")) or sorted({s.grating for s in items if s.grating})
        return cls(
            object_id=str(row["object_id"]),
            field=_str(row.get("field")),
            ra=_num(row.get("ra")),
            dec=_num(row.get("dec")),
            redshift=z,
            redshift_auto=auto,
            redshift_inspected=inspected,
            redshift_quality=quality,
            programs=_as_list(row.get("programs")),
            tags=_as_list(tags if tags is not None else row.get("tags", row.get("lists"))),
            gratings=gratings,
            observations=_as_list(row.get("observations")),
            n_spectra=_int(row.get("n_spectra"), len(items)) or len(items),
            n_targets=_int(row.get("n_targets")),
            max_snr=_num(row.get("max_snr")),
            max_exposure_time=_num(row.get("max_exposure_time")),
            has_photometry=_truthy(row.get("has_photometry")) or phot is not None,
            photo_z=_num(row.get("photo_z")),
            photo_z_err_lo=_num(row.get("photo_z_err_lo")),
            photo_z_err_hi=_num(row.get("photo_z_err_hi")),
            last_inspected_at=_str(row.get("last_inspected_at")),
            staleness_reason=_str(row.get("staleness_reason")),
            spectra=SpectrumCollection(items),
            photometry=phot,
            target_ids=_as_list(row.get("member_target_ids"))
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
        from campfire.cards import cutout_key

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
        from campfire.cards import object_html

        return object_html(self)
