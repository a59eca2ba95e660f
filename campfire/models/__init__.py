"""The dataclass tree users hold: Object → SpectrumCollection → Spectrum → SpectrumData.

* :mod:`campfire.models.object`: :class:`Object`, one sky object with its spectra.
* :mod:`campfire.models.spectrum`: :class:`Spectrum` (a catalog row) and
  :class:`SpectrumCollection`.
* :mod:`campfire.models.photometry`: :class:`Photometry` and :class:`BandFlux`.
* :mod:`campfire.models.data`: :class:`SpectrumData`, one spectrum's arrays.
* :mod:`campfire.models.rows`: tolerant reading of catalog row values.

Examples
--------
>>> from campfire.models import Object, Spectrum
"""

from campfire.models.data import SpectrumData
from campfire.models.object import Object
from campfire.models.photometry import BandFlux, Photometry
from campfire.models.spectrum import Spectrum, SpectrumCollection, SpectrumOpener

__all__ = [
    "BandFlux",
    "Object",
    "Photometry",
    "Spectrum",
    "SpectrumCollection",
    "SpectrumData",
    "SpectrumOpener",
]
