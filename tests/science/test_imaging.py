"""Cutouts and shutter overlays: sky geometry checked against astropy's WCS and SkyCoord."""

import io
import re

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

from campfire.errors import ValidationError
from campfire.views.imaging import plot_cutout, shutters_to_regions

RA0, DEC0 = 34.40123, -5.21456
FOV, SIZE = 3.2, 80  # arcsec, pixels (0.04"/pix)


def _cutout_wcs():
    """The TAN WCS of a north-up, east-left cutout centred on (RA0, DEC0)."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [RA0, DEC0]
    w.wcs.crpix = [SIZE / 2 + 0.5, SIZE / 2 + 0.5]  # centre of the image (1-based)
    scale = FOV / SIZE / 3600
    w.wcs.cdelt = [-scale, scale]
    return w


def _shutter(ra, dec, pa, object_id="other", state="open"):
    return {"object_id": object_id, "source_id": 1, "center_ra": ra, "center_dec": dec,
            "position_angle": pa, "shutter_idx": 0, "dither_id": 1, "shutter_state": state,
            "observation": "ember_uds_p4"}  # fmt: skip


def _data(rows, width=0.2, height=0.46):
    meta = {"shutter_width_arcsec": width, "shutter_height_arcsec": height,
            "center_ra": RA0, "center_dec": DEC0, "radius_arcsec": FOV, "field": "uds"}  # fmt: skip
    return {"shutters": rows, "meta": meta}


def _sky_corners(ra, dec, pa, width, height):
    """Corners by walking on the sphere with SkyCoord (independent of campfire's algebra)."""
    c = SkyCoord(ra * u.deg, dec * u.deg)
    out = []
    for s_long, s_across in [(1, 1), (1, -1), (-1, -1), (-1, 1)]:
        p = c.directional_offset_by(pa * u.deg, s_long * height / 2 * u.arcsec)
        p = p.directional_offset_by((pa + 90) * u.deg, s_across * width / 2 * u.arcsec)
        out.append((p.ra.deg, p.dec.deg))
    return np.array(out)


def _data_to_wcs_pixel(xy):
    """Plot coordinates (east, north arcsec; imshow extent ±FOV/2) -> 0-based WCS pixels."""
    pix = FOV / SIZE
    col = (FOV / 2 - xy[:, 0]) / pix - 0.5  # image column, east on the left
    y_fits = (xy[:, 1] + FOV / 2) / pix - 0.5  # PNG row 0 is the top (north)
    return np.column_stack([col, y_fits])


@pytest.mark.parametrize("pa", [0.0, 37.5, 89.3, 151.0, 271.2])
def test_shutters_land_on_the_pixels_an_astropy_wcs_computes(pa):
    import matplotlib.pyplot as plt

    rows = [
        _shutter(RA0, DEC0, pa, "target"),
        _shutter(RA0 + 0.8 / 3600 / np.cos(np.radians(DEC0)), DEC0 - 0.5 / 3600, pa),
        _shutter(RA0 - 1.1 / 3600, DEC0 + 1.2 / 3600, pa),
    ]
    _fig, ax = plt.subplots()
    plot_cutout(np.zeros((SIZE, SIZE, 3), np.uint8), shutters=_data(rows), object_id="target",
                fov=FOV, ax=ax)  # fmt: skip
    patches = [p for p in ax.patches if (p.get_gid() or "").startswith("shutter:")]
    assert len(patches) == len(rows)  # one patch per shutter
    wcs = _cutout_wcs()
    for patch, row in zip(patches, rows, strict=True):
        ours = _data_to_wcs_pixel(patch.get_xy()[:4])
        corners = _sky_corners(row["center_ra"], row["center_dec"], pa, 0.2, 0.46)
        ref = np.column_stack(wcs.world_to_pixel_values(corners[:, 0], corners[:, 1]))
        np.testing.assert_allclose(ours, ref, atol=0.01)  # 0.4 mas


def test_image_is_north_up_east_left():
    import matplotlib.pyplot as plt

    wcs = _cutout_wcs()
    star = SkyCoord(
        (RA0 + 0.9 / 3600 / np.cos(np.radians(DEC0))) * u.deg, (DEC0 + 0.6 / 3600) * u.deg
    )
    x, y = wcs.world_to_pixel(star)  # 0-based FITS pixel: y grows to the north
    img = np.zeros((SIZE, SIZE), float)
    row, col = SIZE - 1 - round(float(y)), round(float(x))  # PNG row 0 = top
    img[row, col] = 1.0
    _fig, ax = plt.subplots()
    plot_cutout(img, fov=FOV, ax=ax, scalebar=False)
    left, right, bottom, top = ax.images[0].get_extent()
    px = left + (col + 0.5) * (right - left) / SIZE
    py = top - (row + 0.5) * (top - bottom) / SIZE
    # the star is 0.9" east (left: larger x on an inverted axis) and 0.6" north
    assert px == pytest.approx(0.9, abs=FOV / SIZE) and py == pytest.approx(0.6, abs=FOV / SIZE)
    assert ax.get_xlim() == (FOV / 2, -FOV / 2)


def test_modes_categories_styles_and_markers():
    import matplotlib.pyplot as plt
    from matplotlib.patches import PathPatch, Polygon

    rows = [_shutter(RA0, DEC0, 40, "t1"), _shutter(RA0, DEC0 + 0.53 / 3600, 40, "t1"),
            _shutter(RA0 + 1 / 3600, DEC0, 40, "x"),
            _shutter(RA0, DEC0 - 1 / 3600, 40, "y", state="stuck_closed")]  # fmt: skip
    img = np.zeros((SIZE, SIZE, 4), np.uint8)

    def draw(**kw):
        _fig, ax = plt.subplots()
        plot_cutout(img, shutters=_data(rows), object_id="t1", fov=FOV, ax=ax, **kw)
        return [p for p in ax.patches if (p.get_gid() or "").startswith("shutter:")]

    cats = [p.get_gid() for p in draw()]
    assert cats == ["shutter:target", "shutter:target", "shutter:other", "shutter:stuck_closed"]
    assert [p.get_gid() for p in draw(shutters_mode="target")] == ["shutter:target"] * 2
    assert draw(shutters_mode=False) == []
    assert len(draw(shutters_mode="all")) == 4
    styled = draw(shutter_style={"target": {"marker": "corners", "edgecolor": "cyan"},
                                 "other": {"linewidth": 0.5}})  # fmt: skip
    assert isinstance(styled[0], PathPatch) and isinstance(styled[2], Polygon)
    assert len(styled[0].get_path().vertices) == 12  # four L marks
    np.testing.assert_allclose(styled[0].get_edgecolor()[:3], (0, 1, 1))
    assert styled[2].get_linewidth() == 0.5
    assert styled[2].get_edgecolor()[:3] == (1.0, 1.0, 1.0)  # default colour kept (merged)
    assert styled[3].get_linestyle() == "--"


def test_meta_width_and_height_are_used():
    import matplotlib.pyplot as plt

    _fig, ax = plt.subplots()
    plot_cutout(np.zeros((8, 8)), shutters=_data([_shutter(RA0, DEC0, 0.0)], 0.22, 0.50), fov=FOV,
                ax=ax)  # fmt: skip
    xy = ax.patches[0].get_xy()[:4]
    assert np.ptp(xy[:, 0]) == pytest.approx(0.22, abs=1e-6)  # across: E-W at PA 0
    assert np.ptp(xy[:, 1]) == pytest.approx(0.50, abs=1e-6)


def test_pdf_keeps_shutter_outlines_as_vectors(tmp_path):
    import matplotlib.pyplot as plt
    from PIL import Image

    png = tmp_path / "cut.png"
    Image.fromarray(np.full((SIZE, SIZE, 3), 40, np.uint8)).save(png)
    fig, ax = plt.subplots(figsize=(4, 4))
    plot_cutout(png, shutters=_data([_shutter(RA0, DEC0, 30, "obj")]), object_id="obj", fov=FOV,
                ax=ax, shutter_style={"target": {"edgecolor": "#ff0000"}})  # fmt: skip
    buf = io.BytesIO()
    with plt.rc_context({"pdf.compression": 0}):
        fig.savefig(buf, format="pdf")
    pdf = buf.getvalue()
    assert pdf.count(b"/Subtype /Image") == 1  # only the cutout itself is a raster
    # the red outline is a stroked vector path: moveto, four linetos, closepath, stroke
    assert re.search(rb"1 0 0 RG[^\n]*\n+(?:[-\d.]+ [-\d.]+ [ml]\n){5}h\n+S\n", pdf)


def test_png_path_and_bytes_give_the_same_picture(tmp_path):
    import matplotlib.pyplot as plt
    from PIL import Image

    arr = np.random.default_rng(1).integers(0, 255, (SIZE, SIZE, 4), dtype=np.uint8)
    png = tmp_path / "c.png"
    Image.fromarray(arr).save(png)
    _fig, (a1, a2, a3) = plt.subplots(1, 3)
    plot_cutout(png, ax=a1, fov=FOV)
    plot_cutout(png.read_bytes(), ax=a2, fov=FOV)
    plot_cutout(png, ax=a3, fov=FOV, size=40)
    np.testing.assert_array_equal(a1.images[0].get_array(), arr)
    np.testing.assert_array_equal(a2.images[0].get_array(), arr)
    assert a3.images[0].get_array().shape[:2] == (40, 40)


def test_bad_input_is_a_clear_error(tmp_path):
    img = np.zeros((8, 8))
    with pytest.raises(ValidationError, match="shutters_mode"):
        plot_cutout(img, shutters="target")
    with pytest.raises(ValidationError, match="unknown shutter category"):
        plot_cutout(img, shutters=_data([]), shutter_style={"targets": {}})
    with pytest.raises(ValidationError, match="'box' or 'corners'"):
        plot_cutout(img, shutters=_data([]), shutter_style={"other": {"marker": "circle"}})
    with pytest.raises(ValidationError, match="center"):
        plot_cutout(img, shutters={"shutters": [_shutter(RA0, DEC0, 0)], "meta": {}})
    with pytest.raises(ValidationError, match="needs object_id"):
        plot_cutout(img, shutters=_data([]), shutters_mode="target")
    with pytest.raises(ValidationError, match="does not exist"):
        plot_cutout(tmp_path / "missing.png")
    with pytest.raises(ValidationError, match="fov"):
        plot_cutout(img, fov=-1)


def test_ds9_regions_hold_one_fk5_box_per_shutter():
    rows = [_shutter(RA0, DEC0, 71.3, "obj"), _shutter(RA0 + 1e-4, DEC0, 431.3, "other"),
            _shutter(RA0, DEC0 + 1e-4, 71.3, "z", state="stuck_closed")]  # fmt: skip
    text = shutters_to_regions(_data(rows), object_id="obj")
    lines = text.splitlines()
    assert lines[0] == "# Region file format: DS9 version 4.1" and "fk5" in lines
    boxes = [ln for ln in lines if ln.startswith("box(")]
    assert len(boxes) == 3
    pat = r'box\(([-\d.]+),([-\d.]+),([\d.]+)",([\d.]+)",([\d.]+)\) # (.*)'
    parsed = [re.match(pat, b).groups() for b in boxes]
    for (ra, dec, w, h, ang, _), row in zip(parsed, rows, strict=True):
        assert float(ra) == pytest.approx(row["center_ra"], abs=1e-8)
        assert float(dec) == pytest.approx(row["center_dec"], abs=1e-8)
        assert (float(w), float(h)) == (0.2, 0.46)
        assert float(ang) == pytest.approx(row["position_angle"] % 360)
    assert "tag={target}" in parsed[0][5] and "tag={other}" in parsed[1][5]
    assert "dash=1" in parsed[2][5] and "tag={stuck_closed}" in parsed[2][5]
    only = shutters_to_regions(_data(rows), object_id="obj", shutters_mode="target")
    assert sum(ln.startswith("box(") for ln in only.splitlines()) == 1
