"""The spectra of the catalog as users hold them: :class:`Spectrum` (one catalog row, which
opens its file as SpectrumData) and :class:`SpectrumCollection` (a numpy-style filterable list).

Split from :mod:`campfire.models.object` (which re-exports these names): the spectrum level of the
model tree, built from spectra rows, with no knowledge of objects. An :class:`Object` of
:mod:`campfire.models.object` holds a :class:`SpectrumCollection`.

Examples
--------
>>> c = SpectrumCollection([Spectrum("a", "PRISM", signal_to_noise=12.0),
...                         Spectrum("b", "G395M", signal_to_noise=3.0)])
>>> c[c.signal_to_noise > 10].spectrum_id.tolist()
['a']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from campfire.errors import NotFoundError
from campfire.models.rows import is_missing, require_key, to_float, to_int, to_str

if TYPE_CHECKING:
    from astropy.table import Table

    from campfire.models.data import SpectrumData

__all__ = ["Spectrum", "SpectrumCollection", "SpectrumOpener"]

SpectrumOpener = Callable[["Spectrum"], "SpectrumData"]


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
        self.dq_flags = to_int(self.dq_flags)

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
        require_key(row, "spectrum_id")
        return cls(
            spectrum_id=str(row["spectrum_id"]),
            grating=row.get("grating") or "",
            object_id=to_str(row.get("object_id") or row.get("parent_object_id")),
            target_id=to_str(row.get("target_id")),
            signal_to_noise=to_float(row.get("signal_to_noise")),
            exposure_time=to_float(row.get("exposure_time")),
            reduction_version=to_str(row.get("reduction_version")),
            redshift_auto=to_float(row.get("redshift_auto")),
            dq_flags=to_int(row.get("dq_flags")),
            fits_path=to_str(row.get("fits_path")),
            local_path=to_str(row.get("local_path")),
            file_hash=to_str(row.get("file_hash")),
            file_size=None if is_missing(row.get("file_size")) else int(row["file_size"]),
            program_slug=to_str(row.get("program_slug")),
            observation=to_str(row.get("observation")),
            field=to_str(row.get("field")),
            redshift=to_float(row["redshift"]) if row.get("redshift") is not None else redshift,
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
            from campfire.io.fits import read_spectrum

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
        from campfire.views.cards import spectra_html

        return spectra_html(self)
