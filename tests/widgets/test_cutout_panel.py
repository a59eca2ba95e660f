"""CutoutPanel at the trait level: the PNG as one buffer, footprints, styles, the FoV control.

Geometry is checked by hand (a shutter at the centre with PA 0 spans ±0.10″ E-W and ±0.23″ N-S)
and against astropy's offsets for the demo archive's real shutter tables.
"""

from __future__ import annotations

import io

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from ipywidgets.widgets.widget import _remove_buffers

from campfire.errors import ValidationError
from campfire.views.imaging import DEFAULT_SHUTTER_STYLE
from campfire.views.widgets.cutout_panel import css_styles
from campfire.widgets import CutoutPanel


def png(size=40, color=(200, 80, 40)):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, format="PNG")
    return buf.getvalue()


SHUTTERS = {
    "meta": {"center_ra": 150.0, "center_dec": 2.0},
    "shutters": [
        {"object_id": "me", "center_ra": 150.0, "center_dec": 2.0, "position_angle": 0.0,
         "shutter_state": "open", "observation": "obs1"},
        {"object_id": "other", "center_ra": 150.0, "center_dec": 2.0 + 1 / 3600,
         "position_angle": 90.0, "shutter_state": "open"},
        {"object_id": None, "center_ra": 150.0, "center_dec": 2.0 - 1 / 3600,
         "position_angle": 0.0, "shutter_state": "stuck_closed"},
    ],
}  # fmt: skip


def test_image_travels_as_one_binary_buffer_and_footprints_by_hand():
    image = png()
    p = CutoutPanel(image, SHUTTERS, object_id="me", fov=3.0)
    _, paths, buffers = _remove_buffers(p.get_state())
    assert ["image"] in paths and bytes(buffers[paths.index(["image"])]) == image
    assert [f["category"] for f in p.footprints] == ["target", "other", "stuck_closed"]
    me = np.array(p.footprints[0]["corners"])
    # PA 0: long side north-south; 0.20″ wide (east-west) by 0.46″ tall
    assert sorted({round(abs(x), 3) for x in me[:, 0]}) == [0.1]
    assert sorted({round(abs(y), 3) for y in me[:, 1]}) == [0.23]
    other = np.array(p.footprints[1]["center"])
    assert other == pytest.approx([0.0, 1.0], abs=1e-6)  # one arcsec north
    assert p.image_fov == p.fov == 3.0 and p.object_id == "me"
    assert p.footprints[0]["observation"] == "obs1"


def test_styles_follow_plot_cutout_defaults_and_overrides():
    styles = css_styles()
    assert styles["target"]["color"] == DEFAULT_SHUTTER_STYLE["target"]["edgecolor"]
    assert styles["other"]["color"] == "#ffffff"  # 'white' as a CSS hex colour
    assert styles["stuck_closed"]["dash"] and not styles["other"]["dash"]
    custom = css_styles({"target": {"marker": "corners", "edgecolor": "tab:green", "linewidth": 2}})
    assert custom["target"] == {
        "marker": "corners", "color": "#2ca02c", "width": 2.5, "dash": [], "alpha": 1.0,
    }  # fmt: skip
    with pytest.raises(ValidationError, match="shutter category"):
        css_styles({"mine": {}})
    with pytest.raises(ValidationError, match="not a colour"):
        css_styles({"other": {"edgecolor": "blurple"}})


def test_bad_input_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(ValidationError, match="PNG"):
        CutoutPanel(b"GIF89a....")
    with pytest.raises(ValidationError, match="does not exist"):
        CutoutPanel(tmp_path / "missing.png")
    p = CutoutPanel(png(), SHUTTERS, object_id="me")
    with pytest.raises(ValidationError, match="fov"):
        p.fov = 0
    with pytest.raises(ValidationError, match="shutters_mode"):
        p.shutters_mode = "some"
    assert p.fov == 5.0 and p.shutters_mode == "all"
    p.shutters_mode = False
    assert p.shutters_mode == "none"
    with pytest.raises(ValidationError, match="from_client"):
        p.load("me")


def test_static_picture_matches_plot_cutout():
    from PIL import Image

    p = CutoutPanel(png(), SHUTTERS, object_id="me", fov=3.0)
    data, _ = p._repr_mimebundle_()
    img = Image.open(io.BytesIO(data["image/png"]))
    assert img.format == "PNG" and img.width > 100
    assert "me (3″, north up, east left)" in data["text/html"]
    assert CutoutPanel()._static_bundle()["text/html"].startswith("<div")  # no image: no PNG


def test_demo_archive_cutout_and_shutters(demo_cf):
    cf = demo_cf
    spectra = cf.query_spectra()
    oid = str(spectra["object_id"][0])
    p = CutoutPanel.from_client(cf, oid, fov=4.0)
    assert p.image.startswith(b"\x89PNG") and p.image_fov == 4.0
    raw = cf.get_shutters(oid, fov=4.0)
    targets = [f for f in p.footprints if f["category"] == "target"]
    assert targets and all(f["object_id"] == oid for f in targets)
    assert len(p.footprints) == len(raw["shutters"])
    # each footprint centre is the shutter's offset from the cutout centre (astropy, by hand)
    centre = SkyCoord(raw["meta"]["center_ra"] * u.deg, raw["meta"]["center_dec"] * u.deg)
    for f, row in zip(p.footprints, raw["shutters"], strict=True):
        c = SkyCoord(row["center_ra"] * u.deg, row["center_dec"] * u.deg)
        east, north = centre.spherical_offsets_to(c)
        assert f["center"] == pytest.approx([east.arcsec, north.arcsec], abs=2e-3)
    # a wider field of view fetches a wider cutout; a narrower one only zooms
    p.fov = 8.0
    assert p.image_fov == 8.0 and (cf.settings.cutouts_dir / f"{oid}_fov8.png").is_file()
    p.fov = 2.0
    assert p.image_fov == 8.0


def test_archive_failures_show_in_the_panel(demo_cf, demo_server):
    demo_server.set_faults([{"path": "/cutout", "kind": "status", "status": 404, "times": -1}])
    oid = str(demo_cf.query_objects(limit=1)["object_id"][0])
    p = CutoutPanel(cf=demo_cf)
    assert p.load(oid) is False
    assert p.message.startswith(f"no cutout for {oid}") and p.image == b""
