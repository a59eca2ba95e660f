"""RGB image tiles of the synthetic sky with an exact TAN WCS (``cutouts/<name>.png + .json``).

Each tile is centred on a target and shows every galaxy of the field that falls on it: Sérsic
profiles (index, half-light radius, axis ratio and orientation from the sky model), softened by
each channel's PSF, with the flux of the galaxy's own SED in three NIRCam bands
(blue = F115W, green = F200W, red = F444W), sky noise, and an asinh stretch. Pixels are 0.04″,
north up and east left: ``CD1_1 = -0.04/3600``, ``CD2_2 = +0.04/3600``. PNG row 0 is the top,
FITS ``y = naxis2``.

Examples
--------
>>> wcs = tile_wcs(150.1, 2.2, 64)
>>> wcs["CRPIX1"], wcs["CD1_1"] * 3600
(32.5, -0.04)
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from campfire.server.demo.sky import Sky, sky_to_tangent

__all__ = ["CHANNELS", "PIXEL_SCALE", "render_tile", "tile_wcs", "write_tile"]

PIXEL_SCALE = 0.04  # arcsec
#: RGB channels: (band, PSF FWHM in arcsec)
CHANNELS = (("f444w", 0.145), ("f200w", 0.066), ("f115w", 0.040))
_NOISE_UJY = 0.0004  # per-pixel sky noise (≈ 29 AB 5σ in a 0.2″ aperture)
_STRETCH = 0.0008  # µJy/pixel where the asinh stretch turns from linear to logarithmic
_MAXVAL = 0.08  # µJy/pixel mapped to 255 (asinh)
_BLACK = 1.0  # sky level, in noise σ, shown as black


def tile_wcs(ra: float, dec: float, size: int) -> dict[str, float | str]:
    """The TAN WCS of a ``size``×``size`` tile centred on (``ra``, ``dec``)."""
    return {
        "CTYPE1": "RA---TAN",
        "CTYPE2": "DEC--TAN",
        "CRVAL1": float(ra),
        "CRVAL2": float(dec),
        "CRPIX1": (size + 1) / 2.0,
        "CRPIX2": (size + 1) / 2.0,
        "CD1_1": -PIXEL_SCALE / 3600.0,
        "CD1_2": 0.0,
        "CD2_1": 0.0,
        "CD2_2": PIXEL_SCALE / 3600.0,
    }


def _sersic_b(n: np.ndarray) -> np.ndarray:
    return 2.0 * n - 1.0 / 3.0 + 0.009876 / n


def render_tile(
    sky: Sky,
    ra: float,
    dec: float,
    size: int,
    fluxes: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Render an RGB uint8 image (``size``, ``size``, 3), PNG row order (north at the top).

    Parameters
    ----------
    sky
        The field's galaxies.
    ra, dec
        Tile centre (the WCS reference point).
    size
        Pixels per side.
    fluxes
        Noiseless f_ν (µJy) of every sky galaxy in the :data:`CHANNELS` bands, (nsky, 3).
    rng
        Random generator for the sky noise.
    """
    xi, eta = sky_to_tangent(ra, dec, sky.ra, sky.dec)
    # FITS pixel coordinates of each galaxy (east left: x grows to the west)
    centre = (size + 1) / 2.0
    gx = centre - xi / PIXEL_SCALE
    gy = centre + eta / PIXEL_SCALE
    reach = np.clip(6.0 * sky.re_arcsec / PIXEL_SCALE, 8.0, 60.0)
    near = (gx > -reach) & (gx < size + 1 + reach) & (gy > -reach) & (gy < size + 1 + reach)
    image = np.zeros((3, size, size))
    yy, xx = np.mgrid[1 : size + 1, 1 : size + 1].astype(float)  # FITS y, x of each array cell
    for i in np.nonzero(near)[0]:
        r = int(reach[i])
        x0, y0 = round(gx[i]), round(gy[i])
        xs = slice(max(x0 - r - 1, 0), min(x0 + r, size))
        ys = slice(max(y0 - r - 1, 0), min(y0 + r, size))
        if xs.start >= xs.stop or ys.start >= ys.stop:
            continue
        dx, dy = xx[ys, xs] - gx[i], yy[ys, xs] - gy[i]
        t = np.radians(sky.shape_pa[i])
        # major axis at PA east of north: in pixels east is -x, north is +y
        u = -dx * np.sin(t) + dy * np.cos(t)
        v = dx * np.cos(t) + dy * np.sin(t)
        q = sky.axis_ratio[i]
        re_pix = sky.re_arcsec[i] / PIXEL_SCALE
        n = sky.sersic_n[i]
        for c, (_, fwhm) in enumerate(CHANNELS):
            soft = (fwhm / 2.3548 / PIXEL_SCALE) ** 2
            rr = np.sqrt((u * u + soft) + (v * v + soft) / (q * q))
            prof = np.exp(-_sersic_b(n) * ((rr / max(re_pix, 0.3)) ** (1.0 / n) - 1.0))
            total = prof.sum()
            if total > 0:
                image[c, ys, xs] += fluxes[i, c] * prof / total
    image += _NOISE_UJY * rng.standard_normal(image.shape)
    shown = np.clip(image - _BLACK * _NOISE_UJY, 0, None)
    scaled = np.arcsinh(shown / _STRETCH) / np.arcsinh(_MAXVAL / _STRETCH)
    rgb: NDArray[np.uint8] = np.clip(np.round(255.0 * scaled), 0, 255).astype(np.uint8)
    return rgb.transpose(1, 2, 0)[::-1]  # array row 0 = FITS y=1 -> PNG row 0 = y=naxis2


def write_tile(folder: Path, name: str, field: str, rgb: np.ndarray, ra: float, dec: float) -> Path:
    """Write ``<name>.png`` and its ``<name>.json`` WCS sidecar; return the PNG path."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    size = rgb.shape[0]
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="PNG", compress_level=1)
    png = folder / f"{name}.png"
    png.write_bytes(buf.getvalue())
    meta = {
        "field": field,
        "filter": "rgb",
        "naxis1": size,
        "naxis2": size,
        "wcs": tile_wcs(ra, dec, size),
    }
    (folder / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    return png
