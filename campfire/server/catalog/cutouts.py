"""Render ``/cutout`` PNGs: resample a map tile, nearest neighbour, north up and east left.

The output is a square ``size × size`` RGBA image covering ``fov`` arcsec per side on a
tangent plane centred on the object; pixels outside the tile are transparent. Tile pixel
convention (``docs/products-format.md``): PNG row 0 is FITS ``y = naxis2``.

Examples
--------
>>> native_size(5.0, {"CD2_2": 0.04 / 3600})
125
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["native_size", "render_cutout", "tile_contains"]

_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_TILES = 8


def native_size(fov: float, wcs: dict[str, Any]) -> int:
    """The pixel count that keeps the tile's native scale over ``fov`` arcsec, clamped to
    [16, 2048].
    """
    scale = abs(float(wcs["CD2_2"])) * 3600.0
    n = round(fov / scale) if scale > 0 else 256
    return max(16, min(2048, n))


def _wcs(header: dict[str, Any]) -> Any:
    from astropy.wcs import WCS

    hdr: dict[str, Any] = {
        "CTYPE1": "RA---TAN",
        "CTYPE2": "DEC--TAN",
        "CUNIT1": "deg",
        "CUNIT2": "deg",
    }
    hdr.update({k: v for k, v in header.items() if k.upper() not in ("NAXIS1", "NAXIS2")})
    hdr["NAXIS"] = 2
    return WCS(hdr)


def _tile(path: Path | Callable[[], bytes], digest: str) -> np.ndarray:
    from PIL import Image

    key = (repr(path) if callable(path) else str(path), digest)  # a partial's repr names its key
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    with Image.open(io.BytesIO(path()) if callable(path) else path) as im:
        arr = np.asarray(im.convert("RGBA"))
    with _cache_lock:
        _cache[key] = arr
        while len(_cache) > _CACHE_TILES:
            _cache.popitem(last=False)
    return arr


def tile_contains(wcs: dict[str, Any], naxis1: int, naxis2: int, ra: float, dec: float) -> bool:
    """Whether (ra, dec) falls on the tile."""
    x, y = _wcs(wcs).all_world2pix([[ra, dec]], 1)[0]
    return bool(0.5 <= x <= naxis1 + 0.5 and 0.5 <= y <= naxis2 + 0.5)


def render_cutout(
    path: Path | Callable[[], bytes],
    digest: str,
    wcs: dict[str, Any],
    ra: float,
    dec: float,
    fov: float,
    size: int,
) -> bytes:
    """The PNG bytes of a ``size``² cutout of ``fov``″ centred on (ra, dec), from the tile at
    ``path`` (or the tile's bytes ``path()`` returns, cached by ``digest``).
    """
    from PIL import Image

    tile = _tile(path, digest)
    ny, nx = tile.shape[:2]
    s = fov / size / 3600.0
    out_wcs = _wcs(
        {
            "CRVAL1": ra,
            "CRVAL2": dec,
            "CRPIX1": (size + 1) / 2,
            "CRPIX2": (size + 1) / 2,
            "CD1_1": -s,
            "CD1_2": 0.0,
            "CD2_1": 0.0,
            "CD2_2": s,
        }
    )
    rows, cols = np.mgrid[0:size, 0:size]
    x_out = cols.ravel() + 1.0
    y_out = size - rows.ravel()
    wra, wdec = out_wcs.all_pix2world(x_out, y_out, 1)
    xt, yt = _wcs(wcs).all_world2pix(wra, wdec, 1)
    px = np.rint(xt).astype(np.int64)
    py = np.rint(yt).astype(np.int64)
    ok = (px >= 1) & (px <= nx) & (py >= 1) & (py <= ny) & np.isfinite(xt) & np.isfinite(yt)
    img = np.zeros((size * size, 4), dtype=np.uint8)
    img[ok] = tile[ny - py[ok], px[ok] - 1]
    buf = io.BytesIO()
    Image.fromarray(img.reshape(size, size, 4), "RGBA").save(buf, format="PNG")
    return buf.getvalue()
