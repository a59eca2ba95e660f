"""FITS unit strings (``TUNIT``, ``BUNIT``) resolved, once each, into campfire's units.

Reading a spectrum converts its wavelength to µm and every flux column to µJy. Asking astropy
each time is slow: every ``spectral_density`` equivalency is rebuilt from scratch, about 44 times
per archive file. So each unit string is resolved once into a :class:`UnitScale`, what it
measures and the exact factor to campfire's unit for it:

==============  ================================  ============================================
kind            campfire unit                     conversion
==============  ================================  ============================================
``fnu``         µJy                               × factor
``flam``        erg s⁻¹ cm⁻² Å⁻¹                  × factor, then f_ν = f_λ λ² / 2.99792458e-19
``length``      µm                                × factor
``surface``     µJy sr⁻¹                          × factor (× pixel area for µJy per pixel)
``spectral``    a flux density only through       astropy ``spectral_density`` at each λ
                wavelength (photon flux, ν f_ν)
``frequency``   a spectral coordinate (Hz, eV)    astropy ``spectral`` to µm
``other``       anything else astropy knows       not converted
``unknown``     a string astropy cannot parse     not converted
==============  ================================  ============================================

The strings CAMPFIRE, msaexp and the JWST pipeline write (uJy, µJy, Jy, mJy, nJy, um, micron,
Angstrom, erg/s/cm2/A, MJy/sr …) are known without importing astropy; any other string is
parsed and classified by astropy once per process (cached); only the ``spectral`` and
``frequency`` kinds, whose conversion is not a single factor, call astropy per conversion.
``A`` means Ångström here, as astronomers write it.

Examples
--------
>>> import numpy as np
>>> from campfire.io.units import resolve, to_ujy
>>> resolve("mJy")
UnitScale(text='mJy', kind='fnu', factor=1000.0)
>>> to_ujy(np.array([2.99792458e-19]), resolve("erg/s/cm2/A"), np.array([1.0])).tolist()
[1.0]
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from campfire.science.units import FLAM_PER_UJY_UM2

__all__ = ["UnitScale", "resolve", "to_flam", "to_ujy", "to_um"]

FloatArray = NDArray[np.float64]

_ANGSTROM_RE = re.compile(r"(?<![A-Za-z])(?:A|AA|Ang|Angstroms?)(?![A-Za-z])", re.IGNORECASE)
_FLAM = (
    "erg/s/cm2/A", "erg/s/cm2/AA", "erg/s/cm2/Angstrom", "erg/s/cm^2/A", "erg/s/cm^2/Angstrom",
    "erg / (s cm2 Angstrom)", "erg / (Angstrom s cm2)", "erg/(s cm2 Angstrom)",
    "erg s-1 cm-2 A-1", "erg s-1 cm-2 Angstrom-1",
)  # fmt: skip
#: exact string -> (kind, factor to campfire's unit of that kind); checked against astropy in
#: the tests, so every entry means what astropy would make of it
KNOWN: dict[str, tuple[str, float]] = {
    **dict.fromkeys(("uJy", "µJy", "μJy", "microJansky"), ("fnu", 1.0)),
    "Jy": ("fnu", 1e6),
    "mJy": ("fnu", 1e3),
    "nJy": ("fnu", 1e-3),
    **dict.fromkeys(("um", "µm", "μm", "micron"), ("length", 1.0)),
    **dict.fromkeys(("Angstrom", "Angstroms", "AA", "A", "Å"), ("length", 1e-4)),
    "nm": ("length", 1e-3),
    **dict.fromkeys(_FLAM, ("flam", 1.0)),
    **dict.fromkeys(("MJy/sr", "MJy / sr"), ("surface", 1e12)),
}


@dataclass(frozen=True)
class UnitScale:
    """What a unit string measures (``kind``) and its factor to campfire's unit of that kind.

    Examples
    --------
    >>> resolve("1e-20 erg/s/cm2/Angstrom").kind
    'flam'
    """

    text: str
    kind: str
    factor: float = 1.0

    @functools.cached_property
    def unit(self) -> Any:
        """The astropy unit (parsed on first use; an ``UnrecognizedUnit`` if astropy cannot)."""
        return _parse(self.text)

    @property
    def is_flux_density(self) -> bool:
        """True for units campfire converts to µJy (f_ν, f_λ or through ``spectral_density``)."""
        return self.kind in ("fnu", "flam", "spectral")

    def __str__(self) -> str:
        return str(self.unit)


def _parse(text: str) -> Any:
    import astropy.units as u

    cleaned = _ANGSTROM_RE.sub("Angstrom", text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)  # non-FITS strings like '(MJy/sr)^2'
        return u.Unit(cleaned, parse_strict="silent")


@functools.lru_cache(maxsize=512)
def _classify(text: str) -> UnitScale:
    """A unit string astropy must read: parsed and classified once (cached)."""
    import astropy.units as u

    unit = _parse(text)
    if isinstance(unit, u.UnrecognizedUnit):
        return UnitScale(text, "unknown")
    flam = u.erg / u.s / u.cm**2 / u.AA
    for kind, target in (
        ("fnu", u.uJy),
        ("flam", flam),
        ("length", u.um),
        ("surface", u.uJy / u.sr),
    ):
        if unit.is_equivalent(target):
            return UnitScale(text, kind, float(unit.to(target)))
    if unit.is_equivalent(u.uJy, equivalencies=u.spectral_density(1 * u.um)):
        return UnitScale(text, "spectral")
    if unit.is_equivalent(u.um, equivalencies=u.spectral()):
        return UnitScale(text, "frequency")
    return UnitScale(text, "other")


def resolve(text: Any, default: str | None = None) -> UnitScale | None:
    """The :class:`UnitScale` of a ``TUNIT``/``BUNIT`` value; ``default`` (a unit string) if
    it is missing or blank, and None if there is no default either.

    Examples
    --------
    >>> resolve(None, "uJy").kind, resolve("nm").factor, resolve("") is None
    ('fnu', 0.001, True)
    """
    stripped = "" if text is None else str(text).strip()
    if not stripped:
        return None if default is None else resolve(default)
    known = KNOWN.get(stripped)
    if known is not None:
        return _known(stripped, *known)
    return _classify(stripped)


@functools.lru_cache(maxsize=64)
def _known(text: str, kind: str, factor: float) -> UnitScale:
    return UnitScale(text, kind, factor)


def to_ujy(values: ArrayLike, scale: UnitScale, wave_um: FloatArray) -> FloatArray:
    """Flux densities in ``scale``'s unit (f_ν, f_λ or ``spectral``) as µJy at ``wave_um``.

    Examples
    --------
    >>> to_ujy([1.0, 2.0], resolve("Jy"), np.array([1.0, 2.0])).tolist()
    [1000000.0, 2000000.0]
    """
    data = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if scale.kind == "fnu":
            return data * scale.factor
        if scale.kind == "flam":
            return data * (scale.factor / FLAM_PER_UJY_UM2) * wave_um**2
        return _astropy_density(data, scale, wave_um, "uJy")


def to_flam(values: ArrayLike, scale: UnitScale, wave_um: FloatArray) -> FloatArray:
    """Flux densities in ``scale``'s unit as f_λ in erg s⁻¹ cm⁻² Å⁻¹ at ``wave_um``.

    Examples
    --------
    >>> to_flam([1.0], resolve("uJy"), np.array([1.0])).tolist()
    [2.99792458e-19]
    """
    data = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if scale.kind == "flam":
            return data * scale.factor
        if scale.kind == "fnu":
            return data * (scale.factor * FLAM_PER_UJY_UM2) / wave_um**2
        return _astropy_density(data, scale, wave_um, "flam")


def to_um(values: ArrayLike, scale: UnitScale) -> FloatArray:
    """Wavelengths in ``scale``'s unit (a length, or a frequency or energy) in µm.

    Examples
    --------
    >>> to_um([12000.0], resolve("Angstrom")).tolist()
    [1.2]
    """
    data = np.asarray(values, dtype=np.float64)
    if scale.kind == "length":
        return data * scale.factor
    import astropy.units as u

    with np.errstate(invalid="ignore", divide="ignore"):
        q = data * scale.unit
        return np.asarray(q.to_value(u.um, equivalencies=u.spectral()), dtype=np.float64)


def _astropy_density(
    data: FloatArray, scale: UnitScale, wave_um: FloatArray, to: str
) -> FloatArray:
    """The conversions that are not one factor (photon flux, ν f_ν …), left to astropy."""
    import astropy.units as u

    target = u.uJy if to == "uJy" else u.erg / u.s / u.cm**2 / u.AA
    q = data * scale.unit
    value = q.to_value(target, equivalencies=u.spectral_density(wave_um * u.um))
    return np.asarray(value, dtype=np.float64)
