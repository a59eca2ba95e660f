"""FITS input: every 1D spectrum file a CAMPFIRE user meets, read into a SpectrumData.

* :mod:`campfire.io.fits`: the readers (:func:`read_spectrum`).
* :mod:`campfire.io.hdus`: where things are in a file (format, 1D table, header, 2D products).
* :mod:`campfire.io.units`: FITS unit strings resolved into campfire's units.
* :mod:`campfire.io.blocks`: headers and binary tables read directly, the fast path of
  ``read_spectrum(path, products="1d")``.

Examples
--------
>>> from campfire.io import read_spectrum  # doctest: +SKIP
>>> spec = read_spectrum("jw01181_prism_spec.fits")  # doctest: +SKIP
"""

from campfire.io.fits import MultipleSpectraWarning, read_spectrum

__all__ = ["MultipleSpectraWarning", "read_spectrum"]
