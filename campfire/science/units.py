"""Flux-density units: f_ν in µJy, f_λ in erg/s/cm²/Å, and AB magnitudes.

Formulas (c = 2.99792458e18 Å/s, 1 µJy = 1e-29 erg/s/cm²/Hz)::

    f_λ [erg/s/cm²/Å] = f_ν [µJy] × 2.99792458e-19 / λ[µm]²
    m_AB = -2.5 log10(f_ν / 3631 Jy) = 23.9000656 - 2.5 log10(f_ν [µJy])

Errors follow the same factor for f_ν ↔ f_λ; for magnitudes
``σ_m = 2.5 / ln 10 × σ_f / f`` (and back: ``σ_f = f × ln 10 / 2.5 × σ_m``). Fluxes ≤ 0 have
no magnitude (NaN).

Examples
--------
>>> import numpy as np
>>> from campfire.science.units import convert_flux_units
>>> float(convert_flux_units(np.array([3631e6]), np.array([2.0]), to_unit="ab")[0])
0.0
>>> flam = convert_flux_units(np.array([1.0]), np.array([1.0]), to_unit="flambda")
>>> float(flam[0])
2.99792458e-19
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from campfire.errors import ValidationError

__all__ = [
    "AB_ZEROPOINT_UJY",
    "FLAM_PER_UJY_UM2",
    "convert_flux_units",
    "fnu_to_flam",
    "normalize_unit",
]

#: f_λ [erg/s/cm²/Å] = f_ν [µJy] × FLAM_PER_UJY_UM2 / λ[µm]²
#: (c = 2.99792458e18 Å/s, 1 µJy = 1e-29 erg/s/cm²/Hz)
FLAM_PER_UJY_UM2 = 2.99792458e-19

#: m_AB = AB_ZEROPOINT_UJY - 2.5 log10(f_ν / µJy), so that 3631 Jy is exactly m_AB = 0
AB_ZEROPOINT_UJY = 2.5 * float(np.log10(3631e6))
_LN10_25 = np.log(10.0) / 2.5


def fnu_to_flam(fnu: ArrayLike, wavelength_um: ArrayLike) -> NDArray[np.float64]:
    """Convert f_ν in µJy to f_λ in erg/s/cm²/Å at wavelengths in µm.

    Examples
    --------
    >>> float(fnu_to_flam(np.array([3631e6]), np.array([1.0]))[0])  # 3631 Jy at 1 µm
    1.08854...e-09
    """
    wave = np.asarray(wavelength_um, dtype=np.float64)
    flam: NDArray[np.float64] = np.asarray(fnu, dtype=np.float64) * FLAM_PER_UJY_UM2 / wave**2
    return flam


_ALIASES = {
    "fnu": "fnu",
    "ujy": "fnu",
    "µjy": "fnu",
    "μjy": "fnu",
    "microjansky": "fnu",
    "flambda": "flambda",
    "flam": "flambda",
    "erg/s/cm2/a": "flambda",
    "erg/s/cm2/aa": "flambda",
    "ab": "ab",
    "abmag": "ab",
    "mag": "ab",
    "mag_ab": "ab",
}


def normalize_unit(unit: str) -> str:
    """Return the canonical name (``'fnu'``, ``'flambda'`` or ``'ab'``) of a unit name.

    Examples
    --------
    >>> normalize_unit("uJy"), normalize_unit("flam"), normalize_unit("AB mag")
    ('fnu', 'flambda', 'ab')
    """
    key = str(unit).strip().lower().replace(" ", "")
    key = {"abmag": "ab", "magab": "ab"}.get(key, key)
    if key not in _ALIASES:
        raise ValidationError(
            f"unknown flux unit {unit!r}: use 'fnu' (µJy), 'flambda' (erg/s/cm²/Å) or 'ab' "
            "(AB magnitude)"
        )
    return _ALIASES[key]


def _to_fnu(flux: np.ndarray, err: np.ndarray | None, unit: str, wave_um: np.ndarray) -> Any:
    if unit == "fnu":
        return flux, err
    if unit == "flambda":
        factor = wave_um**2 / FLAM_PER_UJY_UM2
        return flux * factor, None if err is None else err * factor
    fnu = 10.0 ** (-0.4 * (flux - AB_ZEROPOINT_UJY))
    return fnu, None if err is None else fnu * _LN10_25 * err


def _from_fnu(fnu: np.ndarray, err: np.ndarray | None, unit: str, wave_um: np.ndarray) -> Any:
    if unit == "fnu":
        return fnu, err
    if unit == "flambda":
        factor = FLAM_PER_UJY_UM2 / wave_um**2
        return fnu * factor, None if err is None else err * factor
    with np.errstate(invalid="ignore", divide="ignore"):
        pos = fnu > 0
        mag = np.where(pos, AB_ZEROPOINT_UJY - 2.5 * np.log10(np.where(pos, fnu, 1.0)), np.nan)
        merr = None if err is None else np.where(pos, err / (_LN10_25 * fnu), np.nan)
    return mag, merr


def _strip_quantity(value: Any, kind: str) -> tuple[np.ndarray, str | None]:
    """Return plain values and, for an astropy Quantity, the unit name it implies."""
    unit = getattr(value, "unit", None)
    if unit is None:
        return np.asarray(value, dtype=float), None
    import astropy.units as u

    if kind == "wave":
        return np.asarray(value.to_value(u.um, equivalencies=u.spectral()), dtype=float), None
    if unit.physical_type == "spectral flux density":
        return np.asarray(value.to_value(u.uJy), dtype=float), "fnu"
    flam_unit = u.erg / u.s / u.cm**2 / u.AA
    if unit.is_equivalent(flam_unit):
        return np.asarray(value.to_value(flam_unit), dtype=float), "flambda"
    if unit == u.ABmag:
        return np.asarray(value.value, dtype=float), "ab"
    raise ValidationError(f"cannot use a flux in {unit}: give µJy, erg/s/cm²/Å or AB mag")


def convert_flux_units(
    flux: Any,
    wavelength: Any,
    to_unit: str = "flambda",
    from_unit: str = "fnu",
    flux_err: Any = None,
) -> Any:
    """Convert flux densities (and their errors) between f_ν, f_λ and AB magnitudes.

    Parameters
    ----------
    flux
        Values in ``from_unit`` (array or scalar; an astropy Quantity sets ``from_unit``).
    wavelength
        Wavelength(s) in µm, broadcastable against ``flux`` (a Quantity is converted).
    to_unit, from_unit
        ``'fnu'`` (µJy; also ``'uJy'``), ``'flambda'`` (erg/s/cm²/Å; also ``'flam'``) or
        ``'ab'`` (AB magnitude; also ``'mag'``).
    flux_err
        Optional 1σ errors in ``from_unit``; then a ``(flux, err)`` pair is returned.

    Returns
    -------
    numpy.ndarray or tuple of numpy.ndarray
        The converted flux, or ``(flux, err)`` when ``flux_err`` was given. Fluxes ≤ 0 give
        NaN magnitudes.

    Examples
    --------
    >>> import numpy as np
    >>> f, e = convert_flux_units(np.array([1.0]), np.array([1.0]), "ab", flux_err=[0.1])
    >>> round(float(f[0]), 3), round(float(e[0]), 4)
    (23.9, 0.1086)
    """
    values, implied = _strip_quantity(flux, "flux")
    if implied is not None:
        from_unit = implied
    wave, _ = _strip_quantity(wavelength, "wave")
    src, dst = normalize_unit(from_unit), normalize_unit(to_unit)
    err = None if flux_err is None else _strip_quantity(flux_err, "flux")[0]
    try:
        values, wave = np.broadcast_arrays(values, wave)
        if err is not None:
            err = np.broadcast_to(err, values.shape)
    except ValueError as exc:
        raise ValidationError(
            f"flux {np.shape(values)} and wavelength {np.shape(wave)} do not match: give one "
            "wavelength per flux (or a single wavelength)"
        ) from exc
    if src != "ab" or dst != "ab":
        with np.errstate(invalid="ignore"):
            bad = np.isfinite(wave) & (wave <= 0)
        if bad.any():
            raise ValidationError("wavelengths must be positive (in µm)")
    fnu, fnu_err = _to_fnu(values.astype(float), err, src, wave)
    out, out_err = _from_fnu(fnu, fnu_err, dst, wave)
    if out.ndim == 0:  # scalars in, scalars out
        out = float(out)
        out_err = None if out_err is None else float(out_err)
    if flux_err is None:
        return out
    return out, out_err
