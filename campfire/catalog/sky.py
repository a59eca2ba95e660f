"""Sky positions as astronomers write them, reduced to the degrees a cone search needs.

``query_objects(cone_search=...)`` takes ``(ra_deg, dec_deg, radius_arcsec)``, and also a
position and a radius: a sexagesimal or decimal string (``"02:17:40.53 -05:12:28.2"``,
``"2h17m40.53s -5d12m28.2s"``, ``"34.419 -5.208"``), an astropy ``SkyCoord``, or RA and Dec
given apart as strings or angle ``Quantity``s; the radius may be an angle ``Quantity``
(``3 * u.arcsec``, ``0.1 * u.arcmin``). :func:`cone_degrees` does the conversion; astropy is
imported only when something other than plain numbers is given.

Examples
--------
>>> cone_degrees((150.08, 2.35, 30))
(150.08, 2.35, 30.0)
>>> ra, dec, r = cone_degrees(("02:17:40.53 -05:12:28.2", 3.0))
>>> round(ra, 5), round(dec, 5), r
(34.41888, -5.20783, 3.0)
"""

from __future__ import annotations

from typing import Any

__all__ = ["cone_degrees"]


def _number(value: Any) -> float | None:
    """``value`` as a float if it is a plain real number (not a bool), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        import numpy as np

        if isinstance(value, np.integer | np.floating):
            return float(value)
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    return None


def _radius_arcsec(value: Any) -> float:
    plain = _number(value)
    if plain is not None:
        return plain
    if hasattr(value, "unit") and hasattr(value, "to_value"):
        import astropy.units as u

        try:
            return float(value.to_value(u.arcsec))
        except u.UnitConversionError:
            raise ValueError(f"the radius {value} is not an angle") from None
    raise ValueError("the radius must be a number of arcsec or an angle Quantity")


def _position(text: str) -> tuple[float, float]:
    """RA and Dec in degrees from one string (sexagesimal hours, or decimal degrees)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    sexagesimal = any(c in text for c in ":hms")
    unit = (u.hourangle, u.deg) if sexagesimal else (u.deg, u.deg)
    coord = SkyCoord(text, unit=unit)
    return float(coord.ra.deg), float(coord.dec.deg)


def _angle(value: Any, hours: bool) -> float:
    """One coordinate in degrees: a number (degrees), a string, or an angle Quantity."""
    plain = _number(value)
    if plain is not None:
        return plain
    import astropy.units as u
    from astropy.coordinates import Angle

    if isinstance(value, str):
        text = value.strip()
        sexagesimal = any(c in text for c in ":hmsd ")
        unit = u.hourangle if hours and sexagesimal and "d" not in text else u.deg
        return float(Angle(text, unit=unit).deg)
    if hasattr(value, "unit") and hasattr(value, "to_value"):
        return float(value.to_value(u.deg))
    raise ValueError(f"{value!r} is not a coordinate")


def _skycoord(value: Any) -> tuple[float, float] | None:
    """RA and Dec (ICRS degrees) of a scalar SkyCoord, or None if ``value`` is not one."""
    if not hasattr(value, "frame") or not hasattr(value, "icrs"):
        return None
    if not value.isscalar:
        raise ValueError("pass one position, not an array of them")
    icrs = value.icrs
    return float(icrs.ra.deg), float(icrs.dec.deg)


def cone_degrees(value: Any) -> tuple[float, float, float]:
    """``(ra_deg, dec_deg, radius_arcsec)`` from any accepted form of a cone search.

    Parameters
    ----------
    value
        ``(ra, dec, radius)`` (RA and Dec as numbers in degrees, strings or angle
        ``Quantity``s) or ``(position, radius)`` (a position string or a ``SkyCoord``); the
        radius is a number of arcsec or an angle ``Quantity``.

    Raises
    ------
    ValueError
        ``value`` is none of these (the message says what was wrong).
    TypeError
        ``value`` is not a sequence.

    Examples
    --------
    >>> cone_degrees(("150.08", "2.35", 30))
    (150.08, 2.35, 30.0)
    """
    if isinstance(value, str) or not hasattr(value, "__len__"):
        raise TypeError("a tuple is needed")
    parts = list(value)
    if len(parts) == 3:
        ra, dec = _angle(parts[0], hours=True), _angle(parts[1], hours=False)
        return ra, dec, _radius_arcsec(parts[2])
    if len(parts) == 2:
        where, radius = parts
        radec = _skycoord(where)
        if radec is None:
            if not isinstance(where, str):
                raise ValueError("the position must be a string or a SkyCoord")
            radec = _position(where)
        return radec[0], radec[1], _radius_arcsec(radius)
    raise ValueError("give three values (ra, dec, radius) or two (position, radius)")
