"""Broadband filter wavelengths for photometry records, from the sedpy filter curves.

A catalog band name (``f444w``, ``acs_f814w``, ``wfc3_f160w`` …) maps to a sedpy filter; the
record gets its pivot wavelength ``wav`` and the half-maximum edges ``wav_min``/``wav_max``, all
in µm. Unknown bands get no wavelengths (the ``wav*`` keys are then omitted).

Examples
--------
>>> round(band_wavelengths("f444w")["wav"], 4)
4.4017
>>> band_wavelengths("not_a_band") is None
True
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["band_wavelengths", "sedpy_name"]

_PREFIXES = {
    "acs_": "acs_wfc_",
    "wfc3_ir_": "wfc3_ir_",
    "wfc3ir_": "wfc3_ir_",
    "wfc3_uvis_": "wfc3_uvis_",
    "uvis_": "wfc3_uvis_",
    "niriss_": "jwst_niriss_",
    "miri_": "jwst_",
}


@lru_cache(maxsize=1)
def _available() -> frozenset[str]:
    import os

    import sedpy

    folder = os.path.join(os.path.dirname(sedpy.__file__), "data", "filters")
    return frozenset(f[:-4] for f in os.listdir(folder) if f.endswith(".par"))


def sedpy_name(band: str) -> str | None:
    """The sedpy filter name of a catalog band, or None.

    Examples
    --------
    >>> sedpy_name("acs_f814w"), sedpy_name("F150W")
    ('acs_wfc_f814w', 'jwst_f150w')
    """
    b = band.strip().lower()
    names = _available()
    candidates = [b, f"jwst_{b}"]
    for prefix, repl in _PREFIXES.items():
        if b.startswith(prefix):
            candidates.insert(0, repl + b[len(prefix) :])
    if b.startswith("wfc3_"):
        candidates += [f"wfc3_ir_{b[5:]}", f"wfc3_uvis_{b[5:]}"]
    if b.startswith("f"):
        candidates += [f"wfc3_ir_{b}", f"acs_wfc_{b}"]
    return next((c for c in candidates if c in names), None)


@lru_cache(maxsize=512)
def band_wavelengths(band: str) -> dict[str, float] | None:
    """``{"wav", "wav_min", "wav_max"}`` in µm for a band, or None when it is unknown."""
    name = sedpy_name(band)
    if name is None:
        return None
    import numpy as np
    from sedpy import observate

    filt = observate.Filter(name)
    wave = np.asarray(filt.wavelength, dtype=float)
    trans = np.asarray(filt.transmission, dtype=float)
    above = np.nonzero(trans >= 0.5 * trans.max())[0]
    return {
        "wav": round(float(filt.wave_pivot) / 1e4, 5),
        "wav_min": round(float(wave[above[0]]) / 1e4, 5),
        "wav_max": round(float(wave[above[-1]]) / 1e4, 5),
    }
