"""SciencePanel: an object's science at a glance, beside its spectra in the Explorer.

Four views of one object: its photometric SED with the synthetic photometry of each displayed
spectrum over it (:func:`campfire.science.photometry.synthetic_photometry`, in the viewer's
colours), the catalog's photo-z with its errors, the redshift fit's χ²(z)
(:meth:`Campfire.get_redshift_fit_data`) with the viewer's current redshift marked — live
while a line or the slider is dragged — and the objects within 1′ (click one to go there).

The marker follows the SpectrumViewer through a browser event on a shared ``channel`` (no
kernel round trip per frame); the kernel's ``redshift`` follows when the drag ends.

Examples
--------
>>> from campfire.widgets import Explorer  # doctest: +SKIP
>>> ex = Explorer(cf); ex.show("J021741.00-051017.0"); ex.wait()  # doctest: +SKIP
>>> ex.science.photo_z, ex.science.nearby[:1]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import uuid
from typing import TYPE_CHECKING, Any

import traitlets as t

from campfire.errors import CampfireError
from campfire.views.palette import grating_styles
from campfire.views.widgets._assets import asset
from campfire.views.widgets._base import CampfireWidget, float32_bytes

if TYPE_CHECKING:
    from campfire.client import Campfire
    from campfire.models.data import SpectrumData
    from campfire.models.object import Object

__all__ = ["NEARBY_ARCSEC", "SciencePanel", "sed_points", "synthetic_points"]

log = logging.getLogger(__name__)
#: How far "nearby" reaches, in arcsec (1′).
NEARBY_ARCSEC = 60.0


def _finite(v: Any) -> float | None:
    import numpy as np

    if v is None or v is np.ma.masked or np.ma.is_masked(v):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def sed_points(obj: Object) -> dict[str, Any]:
    """The object's photometry as the panel draws it: bands with pivot (µm), flux, error (µJy).

    Bands without a pivot wavelength or a finite flux are left out.
    """
    phot = obj.photometry
    if phot is None:
        return {}
    rows = [
        (b, _finite(w), _finite(f), _finite(e))
        for b, w, f, e in zip(phot.bands, phot.wavelength, phot.flux, phot.flux_err, strict=True)
    ]
    rows = [r for r in rows if r[1] is not None and r[2] is not None]
    return {
        "catalog": phot.catalog or "",
        "bands": [r[0] for r in rows],
        "wave": [r[1] for r in rows],
        "flux": [r[2] for r in rows],
        "err": [r[3] for r in rows],
    }


def synthetic_points(spectra: list[SpectrumData], bands: list[str]) -> list[dict[str, Any]]:
    """Synthetic photometry of each spectrum in the SED's bands (NaN bands left out).

    Examples
    --------
    >>> import numpy as np
    >>> from campfire.models.data import SpectrumData
    >>> w = np.linspace(0.6, 5.3, 400)
    >>> s = SpectrumData(w, np.full(400, 2.0), np.full(400, 0.1), grating="PRISM", spectrum_id="a")
    >>> pts = synthetic_points([s], ["f150w", "f444w", "f770w"])
    >>> pts[0]["bands"], [round(f, 6) for f in pts[0]["flux"]]
    (['f150w', 'f444w'], [2.0, 2.0])
    """
    import numpy as np

    from campfire.science.photometry import get_filter, synthetic_photometry

    if not bands:
        return []
    styles = grating_styles([s.grating for s in spectra])
    out = []
    for spec, style in zip(spectra, styles, strict=True):
        flux, err = synthetic_photometry(spec.wavelength, spec.fnu, spec.fnu_err, list(bands))
        keep = [i for i, f in enumerate(np.asarray(flux, float)) if math.isfinite(f)]
        if not keep:
            continue
        out.append({
            "spectrum_id": spec.spectrum_id or "",
            "grating": spec.grating or "",
            "color": style["color"],
            "bands": [bands[i] for i in keep],
            "wave": [float(get_filter(bands[i]).pivot) for i in keep],
            "flux": [float(flux[i]) for i in keep],
            "err": [_finite(err[i]) for i in keep],
        })  # fmt: skip
    return out


class SciencePanel(CampfireWidget):
    """An object's SED with synthetic photometry, photo-z, χ²(z) and neighbours within 1′.

    Attributes
    ----------
    sed : dict
        ``{catalog, bands, wave, flux, err}`` (µm, µJy), or ``{}`` without photometry.
    synthetic : list of dict
        Per displayed spectrum: ``{spectrum_id, grating, color, bands, wave, flux, err}``.
    photo_z : dict
        ``{z, lo, hi}`` (lo/hi are the errors below and above), or ``{}``.
    fit : dict
        ``{spectrum_id, z_best, z_grid, chi2}`` (float32 buffers), or ``{}``.
    redshift : float or None
        The redshift marked on χ²(z) (the viewer's).
    nearby : list of dict
        ``{object_id, distance, redshift, quality}`` within 1′, nearest first.
    channel : str
        Shared with the SpectrumViewer, whose drags the marker follows in the browser.
    """

    _esm = asset("science_panel.js")
    _css = asset("science_panel.css")

    sed = t.Dict().tag(sync=True)
    synthetic = t.List(t.Dict()).tag(sync=True)
    photo_z = t.Dict().tag(sync=True)
    fit = t.Dict().tag(sync=True)
    redshift = t.Float(None, allow_none=True).tag(sync=True)
    nearby = t.List(t.Dict()).tag(sync=True)
    channel = t.Unicode("").tag(sync=True)
    message = t.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("channel", uuid.uuid4().hex)
        super().__init__(**kwargs)
        self._goto: Any = None
        self.on_msg(self._on_msg)

    def on_goto(self, callback: Any) -> None:
        """Call ``callback(object_id)`` when a neighbour is clicked."""
        self._goto = callback

    def _on_msg(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        if isinstance(content, dict) and content.get("type") == "goto" and self._goto:
            self._goto(str(content.get("object_id", "")))

    def clear(self) -> None:
        """Show nothing (before an object is chosen)."""
        with self.hold_sync():
            self.sed, self.synthetic, self.photo_z, self.fit, self.nearby = {}, [], {}, {}, []
            self.message = ""

    def show_object(self, obj: Object, cf: Campfire | None = None) -> None:
        """The object's SED and photo-z; with ``cf``, its neighbours too (a catalog query)."""
        pz = _finite(obj.photo_z)
        with self.hold_sync():
            self.sed = sed_points(obj)
            self.synthetic, self.fit = [], {}
            self.photo_z = (
                {"z": pz, "lo": _finite(obj.photo_z_err_lo), "hi": _finite(obj.photo_z_err_hi)}
                if pz is not None
                else {}
            )
            self.redshift = obj.redshift
            self.nearby = [] if cf is None else self._neighbours(cf, obj)
            self.message = ""

    def add_neighbours(self, cf: Campfire, obj: Object) -> None:
        """The objects within 1′ of ``obj`` in the synced catalog, nearest first."""
        self.nearby = self._neighbours(cf, obj)

    @staticmethod
    def _neighbours(cf: Campfire, obj: Object) -> list[dict[str, Any]]:
        if obj.ra is None or obj.dec is None:
            return []
        try:
            rows = cf.query_objects(cone_search=(obj.ra, obj.dec, NEARBY_ARCSEC), sort="distance")
        except CampfireError as exc:
            log.info("no neighbours for %s: %s", obj.object_id, exc)
            return []
        out = []
        for r in rows:
            oid = str(r["object_id"])
            if oid == obj.object_id:
                continue
            out.append({
                "object_id": oid,
                "distance": _finite(r["distance"]),
                "redshift": _finite(r["redshift"]),
                "quality": int(r["redshift_quality"]) if _finite(r["redshift_quality"]) is not None else None,
            })  # fmt: skip
        return out[:20]

    def add_spectra(self, spectra: list[SpectrumData]) -> None:
        """Synthetic photometry of the displayed spectra over the SED."""
        bands = list(self.sed.get("bands", []))
        try:
            self.synthetic = synthetic_points(spectra, bands)
        except CampfireError as exc:
            self.message = f"no synthetic photometry: {exc}"

    def load_fit(self, cf: Campfire, spectrum_id: str) -> bool:
        """The redshift fit's χ²(z) of one spectrum; False (and a message) when unavailable."""
        import numpy as np

        try:
            data = cf.get_redshift_fit_data(spectrum_id)
        except CampfireError as exc:
            self.message = f"no redshift fit for {spectrum_id}: {exc}"
            return False
        z = np.asarray(data.get("z_grid") or [], float)
        chi2 = np.asarray(data.get("chi2_grid") or [], float)
        if z.size < 2 or z.size != chi2.size:
            self.message = f"the redshift fit of {spectrum_id} has no χ²(z) grid"
            return False
        self.fit = {
            "spectrum_id": spectrum_id,
            "z_best": _finite(data.get("redshift")),
            "n": int(z.size),
            "z_grid": float32_bytes(z),
            "chi2": float32_bytes(chi2),
        }
        return True
