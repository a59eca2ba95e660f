"""Science on spectra: emission lines, flux units, synthetic photometry, calibration, stacking.

The public names are exported from :mod:`campfire` itself (``from campfire import
stack_spectra``); the modules here hold them:

* :mod:`campfire.science.lines`, :mod:`campfire.science.units`,
  :mod:`campfire.science.photometry`, :mod:`campfire.science.calibration`,
  :mod:`campfire.science.stacking`.
"""
