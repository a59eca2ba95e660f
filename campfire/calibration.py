"""Flux-calibrate spectra against broadband photometry, and calibrate-then-stack.

The public path of :mod:`campfire.science.calibration`, where the code lives.

Examples
--------
>>> from campfire.calibration import calibrate_to_photometry  # doctest: +SKIP
>>> result = calibrate_to_photometry(spec, obj.photometry)  # doctest: +SKIP
"""

from campfire.science.calibration import (
    CALIBRATION_METHODS,
    CalibrationResult,
    StackResult,
    calibrate_and_stack,
    calibrate_to_photometry,
)

__all__ = [
    "CALIBRATION_METHODS",
    "CalibrationResult",
    "StackResult",
    "calibrate_and_stack",
    "calibrate_to_photometry",
]
