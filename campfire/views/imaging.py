"""Image cutouts with NIRSpec MSA shutter footprints drawn on them, and DS9 regions.

Geometry. A cutout (``/cutout`` PNG) is north up, east left, centred on the object and
``fov`` arcsec on a side, so it is drawn with ``extent = (+fov/2, -fov/2, -fov/2, +fov/2)``:
the x axis is the offset to the **east** in arcsec (increasing to the left) and y the offset to
the north. A shutter (``/shutters`` row) at ``(center_ra, center_dec)`` lands at its gnomonic
(TAN) offsets from the cutout centre ``(meta.center_ra, meta.center_dec)``::

    ξ = cos δ sin Δα / cos c,   η = (cos δ0 sin δ - sin δ0 cos δ cos Δα) / cos c
    cos c = sin δ0 sin δ + cos δ0 cos δ cos Δα

The shutter's open area is ``width × height`` = 0.20″ × 0.46″ (or ``meta``'s
``shutter_width_arcsec``/``shutter_height_arcsec``) with the long (spatial) side at
``position_angle`` degrees east of north: unit vectors (east, north) ``u = (sin PA, cos PA)``
along the slit and ``v = (cos PA, -sin PA)`` across it; corners ``c ± h/2 u ± w/2 v``.

Shutters fall in three categories, styled separately: ``'target'`` (the shutter's
``object_id`` is the requested object), ``'other'`` and ``'stuck_closed'``
(``shutter_state == 'stuck_closed'``, which takes precedence). Outlines are matplotlib
patches, so they stay vectors in PDF/SVG output.

Examples
--------
>>> from campfire.views.imaging import shutter_corners
>>> shutter_corners(0.0, 0.0, 90.0, 0.2, 0.46).round(3).tolist()  # PA 90: long side E-W
[[0.23, -0.1], [0.23, 0.1], [-0.23, 0.1], [-0.23, -0.1]]
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np

from campfire.errors import ValidationError
from campfire.views.shutter_styles import DEFAULT_SHUTTER_STYLE, check_mode, merge_styles

__all__ = [
    "DEFAULT_SHUTTER_STYLE",
    "SHUTTER_HEIGHT_ARCSEC",
    "SHUTTER_WIDTH_ARCSEC",
    "plot_cutout",
    "shutter_corners",
    "shutter_footprints",
    "shutters_to_regions",
    "sky_offsets",
]

SHUTTER_WIDTH_ARCSEC = 0.20
SHUTTER_HEIGHT_ARCSEC = 0.46
#: Length of each arm of a 'corners' mark, as a fraction of the side it lies on.
CORNER_FRACTION = 0.3


def sky_offsets(ra: Any, dec: Any, ra0: float, dec0: float) -> tuple[np.ndarray, np.ndarray]:
    """Gnomonic (TAN) offsets in arcsec, east and north, of (ra, dec) from (ra0, dec0).

    Examples
    --------
    >>> e, n = sky_offsets(150.0 + 1 / 3600, 0.0, 150.0, 0.0)
    >>> round(float(e), 6), round(float(n), 6)
    (1.0, 0.0)
    """
    a = np.radians(np.asarray(ra, dtype=float))
    d = np.radians(np.asarray(dec, dtype=float))
    a0, d0 = np.radians(ra0), np.radians(dec0)
    da = a - a0
    cos_c = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(da)
    xi = np.cos(d) * np.sin(da) / cos_c
    eta = (np.cos(d0) * np.sin(d) - np.sin(d0) * np.cos(d) * np.cos(da)) / cos_c
    return np.degrees(xi) * 3600.0, np.degrees(eta) * 3600.0


def shutter_corners(
    east: float, north: float, position_angle: float, width: float, height: float
) -> np.ndarray:
    """Corners (4 × 2, east/north arcsec) of a shutter whose long side is at PA E of N.

    The order goes round the rectangle, starting at the (+long, -across) corner.
    """
    pa = np.radians(position_angle)
    u = np.array([np.sin(pa), np.cos(pa)]) * height / 2  # along the slit
    v = np.array([np.cos(pa), -np.sin(pa)]) * width / 2  # across it
    c = np.array([east, north], dtype=float)
    return np.array([c + u + v, c + u - v, c - u - v, c - u + v])


def shutter_footprints(
    shutters: dict[str, Any],
    object_id: str | None = None,
    shutters_mode: bool | str = True,
    center: tuple[float, float] | None = None,
) -> list[dict[str, Any]]:
    """Each shutter of a ``/shutters`` answer as a footprint: category, offsets, corners.

    Parameters
    ----------
    shutters
        The ``/shutters`` JSON: ``{"shutters": [row, ...], "meta": {...}}``.
    object_id
        The object whose shutters are ``'target'``.
    shutters_mode
        True or ``'all'``: every shutter; ``'target'``: the target's only; False: none.
    center
        (ra, dec) of the cutout centre; default ``meta.center_ra/center_dec``.

    Returns
    -------
    list of dict
        ``category``, ``row`` (the input row), ``center`` (east, north arcsec), ``corners``
        (4 × 2 east/north arcsec), ``width``, ``height`` (arcsec).
    """
    mode = check_mode(shutters_mode)
    if not isinstance(shutters, dict) or not isinstance(shutters.get("shutters", []), list):
        raise ValidationError(
            "shutters must be the /shutters JSON dict {'shutters': [...], 'meta': {...}} "
            "(cf.get_shutters(object_id)); to choose which shutters to draw use shutters_mode"
        )
    if mode == "target" and not object_id:
        raise ValidationError("shutters_mode='target' needs object_id to know the target")
    if mode == "none":
        return []
    meta = shutters.get("meta") or {}
    width = float(meta.get("shutter_width_arcsec") or SHUTTER_WIDTH_ARCSEC)
    height = float(meta.get("shutter_height_arcsec") or SHUTTER_HEIGHT_ARCSEC)
    if center is None:
        if meta.get("center_ra") is None or meta.get("center_dec") is None:
            raise ValidationError(
                "the shutter data has no meta.center_ra/center_dec; pass center=(ra, dec)"
            )
        center = (float(meta["center_ra"]), float(meta["center_dec"]))
    out = []
    for row in shutters.get("shutters", []):
        is_target = object_id is not None and str(row.get("object_id")) == str(object_id)
        if mode == "target" and not is_target:
            continue
        if str(row.get("shutter_state", "open")).lower() == "stuck_closed":
            category = "stuck_closed"
        else:
            category = "target" if is_target else "other"
        e, n = sky_offsets(row["center_ra"], row["center_dec"], center[0], center[1])
        pa = float(row.get("position_angle") or 0.0)
        out.append(
            {
                "category": category,
                "row": row,
                "center": (float(e), float(n)),
                "position_angle": pa,
                "corners": shutter_corners(float(e), float(n), pa, width, height),
                "width": width,
                "height": height,
            }
        )
    return out


def _load_image(image: Any, size: int | None) -> np.ndarray:
    from PIL import Image

    if isinstance(image, np.ndarray):
        arr = image
        pil = Image.fromarray(arr) if size is not None else None
    else:
        if isinstance(image, (str, os.PathLike)):
            if not os.path.exists(image):
                raise ValidationError(f"cutout image {os.fspath(image)!r} does not exist")
            pil = Image.open(image)
        elif isinstance(image, (bytes, bytearray)):
            pil = Image.open(io.BytesIO(image))
        elif isinstance(image, Image.Image):
            pil = image
        else:
            raise ValidationError(
                f"image must be a PNG path, PNG bytes, a PIL image or an array, "
                f"got {type(image).__name__}"
            )
        pil.load()
        arr = np.asarray(pil)
    if size is not None and pil is not None and (pil.width, pil.height) != (size, size):
        arr = np.asarray(pil.resize((int(size), int(size)), Image.Resampling.NEAREST))
    return arr


def _corner_path(corners: np.ndarray) -> Any:
    from matplotlib.path import Path

    verts, codes = [], []
    for k in range(4):
        c, prev, nxt = corners[k], corners[k - 1], corners[(k + 1) % 4]
        verts += [
            c + CORNER_FRACTION * (prev - c),
            c,
            c + CORNER_FRACTION * (nxt - c),
        ]
        codes += [Path.MOVETO, Path.LINETO, Path.LINETO]
    return Path(np.array(verts), codes)


def _nice_length(fov: float) -> float:
    for length in (10.0, 5.0, 2.0, 1.0, 0.5, 0.25, 0.2, 0.1):
        if length <= fov / 3:
            return length
    return 0.05


def plot_cutout(
    image: Any,
    shutters: dict[str, Any] | None = None,
    object_id: str | None = None,
    fov: float = 5.0,
    ax: Any = None,
    *,
    size: int | None = None,
    shutters_mode: bool | str = True,
    shutter_style: dict[str, dict[str, Any]] | None = None,
    scalebar: bool = True,
    center: tuple[float, float] | None = None,
    compass: bool = True,
) -> Any:
    """Show a cutout (north up, east left) with MSA shutter outlines on top.

    Parameters
    ----------
    image
        The ``/cutout`` PNG: a path, its bytes, a PIL image or an array.
    shutters
        The ``/shutters`` JSON dict, or None for no overlay.
    object_id
        The object whose shutters are drawn in the ``'target'`` style.
    fov
        Field of view of the cutout in arcsec (the image spans ±fov/2).
    ax
        Matplotlib axes (default ``plt.gca()``).
    size
        Resample the image to ``size × size`` pixels (nearest neighbour) before drawing.
    shutters_mode
        True or ``'all'``: every shutter; ``'target'``: only the target's; False: none.
    shutter_style
        Per-category overrides (``'target'``, ``'other'``, ``'stuck_closed'``) merged over
        :data:`DEFAULT_SHUTTER_STYLE`; ``marker`` is ``'box'`` or ``'corners'`` (L-shaped
        corner marks); other keys are matplotlib patch properties (``edgecolor``,
        ``linewidth``, ``linestyle``, ``alpha`` …).
    scalebar
        Draw a scale bar (bottom left) labelled in arcsec.
    center
        (ra, dec) of the cutout centre, if the shutter data has no ``meta``.
    compass
        Draw north and east arrows (top right), as the live CutoutPanel does.

    Returns
    -------
    matplotlib.axes.Axes
        Shutter patches carry ``gid='shutter:<category>'``.

    Examples
    --------
    >>> fig, ax = plt.subplots(figsize=(5, 5))  # doctest: +SKIP
    >>> plot_cutout(path, shutters=data, object_id="obj_id", fov=3.2, ax=ax)  # doctest: +SKIP
    >>> fig.savefig("cutout.pdf")  # vector shutter outlines  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, PathPatch, Polygon

    fov = float(fov)
    if not np.isfinite(fov) or fov <= 0:
        raise ValidationError(f"fov must be a positive number of arcsec, got {fov!r}")
    styles = merge_styles(shutter_style)
    footprints = (
        [] if shutters is None else shutter_footprints(shutters, object_id, shutters_mode, center)
    )
    arr = _load_image(image, size)
    if ax is None:
        ax = plt.gca()
    half = fov / 2
    kw = {"cmap": "gray"} if arr.ndim == 2 else {}
    ax.imshow(arr, extent=(half, -half, -half, half), origin="upper", interpolation="nearest", **kw)
    for fp in footprints:
        style = dict(styles[fp["category"]])
        marker = style.pop("marker", "box")
        style.setdefault("facecolor", "none")
        style.setdefault("fill", False)
        patch: Patch
        if marker == "box":
            patch = Polygon(fp["corners"], closed=True, **style)
        else:
            style["fill"] = False
            style.pop("facecolor", None)
            patch = PathPatch(_corner_path(fp["corners"]), **style)
        patch.set_gid(f"shutter:{fp['category']}")
        ax.add_patch(patch)
    if scalebar:
        length = _nice_length(fov)
        x0, y0 = half - 0.08 * fov, -half + 0.08 * fov
        ax.plot(
            [x0, x0 - length], [y0, y0], color="white", lw=2, solid_capstyle="butt", gid="scalebar"
        )
        label = f'{length:g}"'
        ax.text(
            x0 - length / 2,
            y0 + 0.03 * fov,
            label,
            color="white",
            ha="center",
            va="bottom",
            fontsize=9,
            gid="scalebar-label",
        )
    if compass:  # N up, E left, 12% of the field long, from 8% inside the top right corner
        arm, ox, oy = 0.12 * fov, -half + 0.08 * fov, half - 0.08 * fov - 0.12 * fov
        for dx, dy, label in ((0.0, arm, "N"), (arm, 0.0, "E")):
            ax.annotate(
                "", xy=(ox + dx, oy + dy), xytext=(ox, oy), gid=f"compass-{label}",
                arrowprops={"arrowstyle": "-|>", "color": "white", "lw": 1.5},
            )  # fmt: skip
            ax.text(ox + dx * 1.35, oy + dy * 1.35 if dy else oy, label, color="white",
                    ha="center", va="center", fontsize=9, gid=f"compass-label-{label}")  # fmt: skip
    ax.set_xlim(half, -half)
    ax.set_ylim(-half, half)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _ds9_color(color: Any) -> str:
    if isinstance(color, str):
        return color
    from matplotlib.colors import to_hex

    return to_hex(color)


def shutters_to_regions(
    shutters: dict[str, Any],
    object_id: str | None = None,
    shutters_mode: bool | str = True,
    shutter_style: dict[str, dict[str, Any]] | None = None,
) -> str:
    """The shutters as a DS9 region file (``fk5`` boxes).

    Each shutter becomes ``box(ra, dec, width", height", PA)``: DS9 (like astropy-regions)
    draws the box with ``height`` along north when the angle is 0 and rotates it
    counter-clockwise on a north-up, east-left display, i.e. towards the east, so the angle
    is the position angle of the long side. Colours follow ``shutter_style``; stuck-closed
    shutters are dashed; each region carries ``tag={category}``.

    Examples
    --------
    >>> data = {"meta": {"center_ra": 34.4, "center_dec": -5.2},
    ...         "shutters": [{"object_id": "a", "center_ra": 34.4, "center_dec": -5.2,
    ...                       "position_angle": 71.3, "shutter_state": "open"}]}
    >>> print(shutters_to_regions(data, object_id="a").splitlines()[-1])
    box(34.40000000,-5.20000000,0.200",0.460",71.300) # color=#ff3b30 width=1 tag={target}
    """
    styles = merge_styles(shutter_style)
    meta = shutters.get("meta") if isinstance(shutters, dict) else None
    center = None
    if not meta or meta.get("center_ra") is None:
        center = (0.0, 0.0)  # offsets are not needed for regions
    footprints = shutter_footprints(shutters, object_id, shutters_mode, center)
    lines = [
        "# Region file format: DS9 version 4.1",
        f"# NIRSpec MSA shutters{f' around {object_id}' if object_id else ''}, written by "
        "campfire: box(ra, dec, width, height, PA of the long side E of N)",
        'global color=white width=1 font="helvetica 9 normal roman" select=1 edit=1 move=1 '
        "delete=1 include=1 source=1",
        "fk5",
    ]
    for fp in footprints:
        row, style = fp["row"], styles[fp["category"]]
        props = f"color={_ds9_color(style.get('edgecolor', 'white'))} "
        props += f"width={max(1, round(float(style.get('linewidth', 1))))}"
        if style.get("linestyle") in ("--", "dashed", ":", "dotted", "-."):
            props += " dash=1"
        lines.append(
            f"box({float(row['center_ra']):.8f},{float(row['center_dec']):.8f},"
            f'{fp["width"]:.3f}",{fp["height"]:.3f}",{fp["position_angle"] % 360:.3f}) '
            f"# {props} tag={{{fp['category']}}}"
        )
    return "\n".join(lines) + "\n"
