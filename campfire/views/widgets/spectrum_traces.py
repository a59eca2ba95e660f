"""How a spectrum travels to the SpectrumViewer's browser side (its traces).

Arrays travel as binary float32 buffers: wavelength (µm), f_ν and its error (µJy, NaN where
masked). A 2D spectrum (``SpectrumData.extras['sci2d']``) travels as 8-bit levels between
robust limits (255 = no data), with the extraction trace and aperture (:func:`trace_aperture`);
the viewer bins its columns when needed to keep one object's payload within ``max_payload``.
Colours and dashes come from :mod:`campfire.views.palette`, as the static pictures use.

Examples
--------
>>> from campfire.models.data import SpectrumData
>>> tr = spectrum_trace(SpectrumData([1.0, 2.0], [3.0, 4.0], [0.1, 0.1], grating="PRISM"))
>>> tr["n"], wire_size(tr) < 400
(2, True)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from campfire.views.palette import legible
from campfire.views.widgets._base import float32_bytes

if TYPE_CHECKING:
    import numpy as np

    from campfire.models.data import SpectrumData

__all__ = [
    "MAX_BIN",
    "NO_DATA",
    "image2d",
    "line_table",
    "spectrum_trace",
    "trace_aperture",
    "wire_size",
]

#: 2D levels 0-254 span [vmin, vmax]; 255 marks a pixel with no data.
NO_DATA = 255
MAX_BIN = 64


def line_table(min_priority: float) -> list[dict[str, Any]]:
    """The emission lines of at least ``min_priority`` as the browser gets them.

    Examples
    --------
    >>> row = next(r for r in line_table(5) if r["name"] == "Ha")
    >>> row["rest"], row["label"]
    (6564.697, 'Hα')

    Colours are the line list's, made legible on light and dark backgrounds
    (:func:`campfire.views.palette.legible`).
    """
    from campfire.science.lines import LINES

    return [
        {
            "name": ln.name,
            "label": ln.label,
            "rest": ln.rest_wavelength,
            "priority": ln.priority,
            "color": legible(ln.color),
        }
        for ln in LINES.values()
        if ln.priority >= min_priority
    ]


def _bin_columns(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean of each run of ``factor`` columns, ignoring NaN (NaN where a run has no data)."""
    import numpy as np

    if factor <= 1:
        return image
    ny, nx = image.shape
    pad = (-nx) % factor
    padded = np.concatenate([image, np.full((ny, pad), np.nan)], axis=1) if pad else image
    blocks = padded.reshape(ny, -1, factor)
    good = np.isfinite(blocks)
    total = np.where(good, blocks, 0.0).sum(axis=2)
    count = good.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def image2d(spec: SpectrumData) -> np.ndarray | None:
    import numpy as np

    sci = spec.extras.get("sci2d") if spec.extras else None
    if sci is None:
        return None
    arr = np.asarray(sci, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != len(spec) or arr.shape[0] < 1:
        return None
    return arr


def _levels(image: np.ndarray) -> tuple[bytes, float, float]:
    """8-bit levels of a 2D spectrum between its 1st and 99th percentiles (255 = no data)."""
    import numpy as np

    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return bytes([NO_DATA]) * image.size, 0.0, 1.0
    vmin, vmax = (float(v) for v in np.percentile(finite, [1.0, 99.0]))
    if not vmax > vmin:
        vmax = vmin + 1.0
    with np.errstate(invalid="ignore"):
        scaled = np.clip(np.round((image - vmin) / (vmax - vmin) * 254.0), 0, 254)
    out = np.where(np.isfinite(image), scaled, NO_DATA).astype(np.uint8)
    return out.tobytes(), vmin, vmax


def trace_aperture(spec: SpectrumData, ny: int) -> tuple[float | None, list[float] | None]:
    """Where the 1D spectrum was extracted in its 2D spectrum: the centre row and the aperture.

    From the extraction profile (``profile_fit``) when the file has one, else the measured
    profile (the 2D flux summed along λ): its weighted centre, and the rows where it stays
    above a quarter of its peak (the aperture's edges, ±0.5 row). Rows count from 0 at the
    bottom, as the 2D strip is drawn. (None, None) without a usable profile.

    Examples
    --------
    >>> from campfire.models.data import SpectrumData
    >>> s = SpectrumData([1.0, 2.0], [1.0, 1.0], [0.1, 0.1], extras={"profile": [0, 1, 4, 1, 0]})
    >>> trace_aperture(s, 5)
    (2.0, [0.5, 3.5])
    """
    import numpy as np

    for key in ("profile_fit", "profile"):
        raw = spec.extras.get(key) if spec.extras else None
        if raw is None:
            continue
        prof = np.asarray(raw, dtype=float).ravel()
        if prof.size != ny:
            continue
        prof = np.where(np.isfinite(prof) & (prof > 0), prof, 0.0)
        if not prof.any():
            continue
        rows = np.arange(ny, dtype=float)
        centre = float((prof * rows).sum() / prof.sum())
        above = np.flatnonzero(prof >= 0.25 * prof.max())
        return round(centre, 3), [float(above[0]) - 0.5, float(above[-1]) + 0.5]
    return None, None


def spectrum_trace(
    spec: SpectrumData, bin2d: int | None = 1, style: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One spectrum as the browser gets it: float32 buffers plus its 2D levels.

    Parameters
    ----------
    spec
        The spectrum (µm, µJy; masked pixels hold NaN).
    bin2d
        Columns averaged per 2D pixel sent; None sends no 2D spectrum.
    style
        ``{"color", "dash"}`` from :func:`campfire.views.palette.grating_styles` (the
        browser picks the same when absent).

    Examples
    --------
    >>> from campfire.models.data import SpectrumData
    >>> s = SpectrumData([1.0, 2.0], [3.0, 4.0], [0.1, 0.1], grating="PRISM")
    >>> tr = spectrum_trace(s)
    >>> tr["n"], len(tr["wave"]), tr["sci2d"]
    (2, 8, None)
    """
    trace: dict[str, Any] = {
        "spectrum_id": spec.spectrum_id or "",
        "grating": spec.grating or "",
        "n": len(spec),
        "wave": float32_bytes(spec.wavelength),
        "fnu": float32_bytes(spec.fnu),
        "err": float32_bytes(spec.fnu_err),
        "sci2d": None,
        "ny": 0,
        "nx": 0,
        "bin": 1,
        "vmin": 0.0,
        "vmax": 1.0,
        "trace2d": None,
        "aperture": None,
    }
    if style:
        trace.update(color=style["color"], dash=list(style["dash"]))
    image = None if bin2d is None else image2d(spec)
    if image is not None and bin2d is not None:
        binned = _bin_columns(image, bin2d)
        levels, vmin, vmax = _levels(binned)
        trace.update(
            sci2d=levels,
            ny=int(binned.shape[0]),
            nx=int(binned.shape[1]),
            bin=int(bin2d),
            vmin=vmin,
            vmax=vmax,
        )
        trace["trace2d"], trace["aperture"] = trace_aperture(spec, int(binned.shape[0]))
    return trace


def wire_size(value: Any) -> int:
    """Bytes a trait value takes on the wire: binary buffers plus the JSON of the rest.

    As ipywidgets sends it: buffers are cut out of dicts (their keys dropped) and lists (left
    as ``null``).

    Examples
    --------
    >>> wire_size({"a": b"1234", "b": [1]}) == 4 + len('{"b": [1]}')
    True
    """
    sizes: list[int] = []

    def is_buffer(v: Any) -> bool:
        return isinstance(v, bytes | bytearray | memoryview)

    def strip(v: Any) -> Any:
        if is_buffer(v):
            sizes.append(len(v))
            return None
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if not is_buffer(x) or strip(x)}
        if isinstance(v, list | tuple):
            return [strip(x) for x in v]
        return v

    text = json.dumps(strip(value))
    return sum(sizes) + len(text)
