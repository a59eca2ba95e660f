"""campfire: explore the CAMPFIRE archive of JWST/NIRSpec multi-object spectra.

Sync the catalog, download verified FITS spectra, query objects and spectra offline, open,
calibrate and stack spectra, and look at them in rich notebook views.

Heavy modules (astropy, duckdb, matplotlib, plotly, anywidget) load on first use, so
``import campfire`` stays fast; every public name below resolves lazily.

Examples
--------
>>> import campfire
>>> campfire.__version__
'0.1.0'
>>> from campfire import CampfireError, NotFoundError
"""

from __future__ import annotations

import importlib
from typing import Any

from campfire._version import __version__
from campfire.errors import (
    APIError,
    AuthenticationError,
    CampfireError,
    ConflictError,
    DownloadError,
    NotFoundError,
    ValidationError,
)

# public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    "Campfire": "campfire.client",
    "SpectrumData": "campfire.models",
    "decode_flags": "campfire.flags",
    "encode_flags": "campfire.flags",
    "list_flags": "campfire.flags",
    "EMISSION_LINES": "campfire.science.lines",
    "get_emission_lines": "campfire.science.lines",
    "convert_flux_units": "campfire.science.units",
    "synthetic_photometry": "campfire.science.photometry",
    "calibrate_and_stack": "campfire.science.calibration",
    "calibrate_to_photometry": "campfire.science.calibration",
    "stack_spectra": "campfire.science.stacking",
    "plot_redshift_fit": "campfire.views.plotting",
    "plot_spectrum": "campfire.views.plotting",
    "plot_spectrum_simple": "campfire.views.plotting",
}

# names that resolve here too but are documented under their own modules (campfire.flags,
# campfire.calibration) or reached through the client (the models); not in ``__all__``
_ALSO: dict[str, str] = {
    "Object": "campfire.models",
    "Photometry": "campfire.models",
    "Spectrum": "campfire.models",
    "SpectrumCollection": "campfire.models",
    "DQFlags": "campfire.flags",
    "RedshiftQuality": "campfire.flags",
    "CalibrationResult": "campfire.science.calibration",
    "StackResult": "campfire.science.calibration",
}

# the documented public modules, imported on first use: ``import campfire; campfire.widgets``
_MODULES = ("calibration", "flags", "imaging", "widgets")

#: the documented public API: every name the reference docs import from ``campfire``
__all__ = [
    "EMISSION_LINES",
    "APIError",
    "AuthenticationError",
    "Campfire",
    "CampfireError",
    "ConflictError",
    "DownloadError",
    "NotFoundError",
    "SpectrumData",
    "ValidationError",
    "calibrate_and_stack",
    "calibrate_to_photometry",
    "convert_flux_units",
    "decode_flags",
    "encode_flags",
    "get_emission_lines",
    "list_flags",
    "plot_redshift_fit",
    "plot_spectrum",
    "plot_spectrum_simple",
    "stack_spectra",
    "synthetic_photometry",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"campfire.{name}")
    module = _LAZY.get(name) or _ALSO.get(name)
    if module is None:
        raise AttributeError(f"module 'campfire' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_ALSO) | set(_MODULES))
