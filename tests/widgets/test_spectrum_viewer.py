"""SpectrumViewer at the trait level: binary buffers, payload size, 2D levels, zoom, lines.

Pixel grids come from the real NIRSpec dispersion tables and the real msaexp sample spectrum
(tests/data); decoded buffers are compared with the SpectrumData they came from.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from ipywidgets.widgets.widget import _remove_buffers

from campfire.errors import ValidationError
from campfire.models.data import SpectrumData
from campfire.models.object import Object
from campfire.science.lines import get_emission_lines
from campfire.views.widgets.spectrum_traces import NO_DATA, spectrum_trace, wire_size
from campfire.widgets import SpectrumViewer

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "data"  # the sample_data fixture's folder
DISP = SAMPLE_DATA / "nirspec_dispersion"
SAMPLE_933 = SAMPLE_DATA / "samples" / "static-test-driz-center-bkg_933.spec.fits"
# disperser -> (file, first and last wavelength in µm of its usual filter)
SETUPS = {
    "PRISM": ("prism", 0.60, 5.30),
    "G140M": ("g140m", 0.97, 1.89),
    "G235M": ("g235m", 1.66, 3.17),
    "G395M": ("g395m", 2.87, 5.27),
}


def pixel_grid(name: str) -> np.ndarray:
    """Pixel centres stepping by the real dλ/dpix of the disperser (λ_{i+1} = λ_i + dλ/dpix)."""
    from astropy.io import fits

    tab = fits.getdata(DISP / f"jwst_nirspec_{SETUPS[name][0]}_disp.fits", 1)
    lam, dlds = np.asarray(tab["WAVELENGTH"], float), np.asarray(tab["DLDS"], float)
    grid = [SETUPS[name][1]]
    while grid[-1] < SETUPS[name][2]:
        grid.append(grid[-1] + float(np.interp(grid[-1], lam, dlds)))
    return np.array(grid)


def fake_spectrum(grating: str, ny: int = 31, seed: int = 0, z: float = 3.0) -> SpectrumData:
    rng = np.random.default_rng(seed)
    wave = pixel_grid(grating)
    flux = 1.0 + 0.3 * wave + rng.normal(0, 0.05, wave.size)
    flux[10:14] = np.nan  # a masked stretch
    err = np.full(wave.size, 0.05)
    profile = np.exp(-0.5 * ((np.arange(ny) - ny // 2) / 2.0) ** 2)
    sci = profile[:, None] * flux[None, :] + rng.normal(0, 0.02, (ny, wave.size))
    return SpectrumData(
        wave, flux, err, grating=grating, spectrum_id=f"obj_{grating.lower()}", redshift=z,
        object_id="obj", extras={"sci2d": sci},
    )  # fmt: skip


def decoded(viewer):
    """The traces as the browser receives them: JSON state plus separated binary buffers."""
    state, paths, buffers = _remove_buffers(viewer.get_state())
    out = [dict(tr) for tr in state["traces"]]
    for path, buf in zip(paths, buffers, strict=True):
        if path[0] == "traces":
            out[path[1]][path[2]] = bytes(buf)
    return out, paths


def test_arrays_travel_as_float32_buffers_equal_to_the_spectrum():
    spec = fake_spectrum("G395M")
    v = SpectrumViewer(spec)
    traces, paths = decoded(v)
    assert ["traces", 0, "wave"] in paths and ["traces", 0, "fnu"] in paths
    assert ["traces", 0, "sci2d"] in paths
    tr = traces[0]
    wave = np.frombuffer(tr["wave"], "<f4")
    fnu = np.frombuffer(tr["fnu"], "<f4")
    err = np.frombuffer(tr["err"], "<f4")
    np.testing.assert_allclose(wave, spec.wavelength, rtol=1e-7)
    np.testing.assert_allclose(fnu, spec.fnu, rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(err, spec.fnu_err, rtol=1e-6)
    assert np.isnan(fnu[10:14]).all() and np.isfinite(fnu[14:]).all()  # masked pixels: NaN
    assert tr["n"] == len(spec) and tr["grating"] == "G395M"
    assert v.redshift == 3.0 and v.title == "obj"


def test_prism_and_three_gratings_fit_in_200_kb():
    specs = [fake_spectrum(g, seed=i) for i, g in enumerate(SETUPS)]
    assert sum(len(s) for s in specs) > 4000  # real sampling: ~400 PRISM, ~1400 per grating
    v = SpectrumViewer(specs)
    assert v.payload_bytes < 200_000
    assert all(tr["sci2d"] is not None for tr in v.traces)  # the 2D spectra are kept
    # the wire size counts buffers plus JSON, as ipywidgets sends them
    state, _, buffers = _remove_buffers({"traces": v.traces})
    import json

    sent = len(json.dumps(state["traces"])) + sum(len(b) for b in buffers)
    assert sent == v.payload_bytes


def test_2d_levels_and_column_binning_follow_the_budget():
    spec = fake_spectrum("G140M", ny=31)
    sci = spec.extras["sci2d"]
    tr = spectrum_trace(spec, bin2d=1)
    levels = np.frombuffer(tr["sci2d"], np.uint8).reshape(tr["ny"], tr["nx"])
    assert (tr["ny"], tr["nx"]) == sci.shape
    lo, hi = np.percentile(sci[np.isfinite(sci)], [1, 99])
    assert (tr["vmin"], tr["vmax"]) == pytest.approx((lo, hi))
    inside = np.isfinite(sci) & (sci > lo) & (sci < hi)
    back = lo + levels / 254.0 * (hi - lo)
    assert np.abs(back - sci)[inside].max() <= (hi - lo) / 254.0
    assert (levels[:, 10:14] == NO_DATA).all()  # masked columns carry no data
    # a small budget bins columns: the mean of each pair, by hand
    v = SpectrumViewer(spec, max_payload=12 * len(spec) + 4096 + sci.size // 2 + 100)
    tr2 = v.traces[0]
    assert tr2["bin"] == 2 and tr2["nx"] == -(-sci.shape[1] // 2)
    binned = np.frombuffer(tr2["sci2d"], np.uint8).reshape(tr2["ny"], tr2["nx"])
    pair = np.nanmean(sci[:, 20:22], axis=1)
    expect = np.clip(np.round((pair - tr2["vmin"]) / (tr2["vmax"] - tr2["vmin"]) * 254), 0, 254)
    np.testing.assert_array_equal(binned[:, 10], expect.astype(np.uint8))
    assert v.payload_bytes <= v.max_payload
    tiny = SpectrumViewer(spec, max_payload=100)  # no room at all: 1D only
    assert tiny.traces[0]["sci2d"] is None


def test_the_real_msaexp_spectrum_with_its_2d():
    from campfire.io.fits import read_spectrum

    spec = read_spectrum(SAMPLE_933)
    v = SpectrumViewer(spec, redshift=4.9)
    tr = v.traces[0]
    assert (tr["ny"], tr["nx"]) == spec.extras["sci2d"].shape == (31, 414)
    fnu = np.frombuffer(decoded(v)[0][0]["fnu"], "<f4")
    assert np.isnan(fnu).sum() == len(spec) - spec.n_valid  # every masked pixel is a gap
    assert v.payload_bytes < 40_000


def test_hold_rest_zoom_keeps_the_rest_frame_window():
    a = fake_spectrum("PRISM", z=2.0)
    b = fake_spectrum("PRISM", z=3.0, seed=1)
    v = SpectrumViewer(a, hold_rest_zoom=True)
    v.zoom_rest(6400, 6700)
    assert v.x_range == pytest.approx([0.64 * 3, 0.67 * 3])
    v.set_spectra(b)
    assert v.redshift == 3.0
    assert v.x_range == pytest.approx([0.64 * 4, 0.67 * 4])  # Hα still in view
    v.hold_rest_zoom = False
    v.set_spectra(a)
    assert v.x_range == []  # a new object shows everything
    v.zoom(1.0, 2.0)
    v.reset_zoom()
    assert v.x_range == []


def test_bad_settings_are_refused_and_change_nothing():
    v = SpectrumViewer(fake_spectrum("PRISM"), flux_unit="flam")
    assert v.flux_unit == "flambda"
    for name, value, match in [
        ("flux_unit", "ab", "fnu"),
        ("flux_unit", "watts", "unknown flux unit"),
        ("redshift", -2.0, "redshift"),
        ("redshift", float("nan"), "redshift"),
        ("smoothing", 500, "smoothing"),
        ("x_range", [3.0, 1.0], "x_range"),
    ]:
        before = getattr(v, name)
        with pytest.raises(ValidationError, match=match):
            setattr(v, name, value)
        assert getattr(v, name) == before or (before != before)
    with pytest.raises(ValidationError, match="SpectrumData"):
        SpectrumViewer(["not a spectrum"])
    with pytest.raises(TypeError, match="unknown keyword"):
        SpectrumViewer(colour="red")
    with pytest.raises(ValidationError, match="redshift"):
        SpectrumViewer().zoom_rest(6000, 7000)


def test_lines_follow_the_priority_and_match_the_line_list():
    v = SpectrumViewer(redshift=2.0, line_priority=4)
    expect = get_emission_lines(0.0, min_priority=4)
    assert sorted(ln["name"] for ln in v.lines) == sorted(ln["name"] for ln in expect)
    ha = next(ln for ln in v.lines if ln["name"] == "Ha")
    assert ha["rest"] == pytest.approx(6564.697) and ha["label"] == "Hα"
    v.line_priority = 5
    assert len(v.lines) == len(get_emission_lines(0.0, min_priority=5)) < len(expect)


def test_objects_and_progressive_adding():
    specs = {s.spectrum_id: s for s in (fake_spectrum("PRISM"), fake_spectrum("G395M"))}
    row = {
        "object_id": "obj",
        "redshift": 3.0,
        "spectra": [{"spectrum_id": k, "grating": s.grating} for k, s in specs.items()],
    }
    obj = Object.from_dict(row, opener=lambda sp: specs[sp.spectrum_id])
    v = SpectrumViewer(obj)
    assert [tr["grating"] for tr in v.traces] == ["PRISM", "G395M"]
    assert v.redshift == 3.0 and v.title == "obj"
    v.clear(title="next")
    assert v.traces == [] and v.title == "next"
    v.add_spectrum(specs["obj_g395m"])
    assert [tr["spectrum_id"] for tr in v.traces] == ["obj_g395m"]


def test_static_picture_is_a_png_of_the_spectra():
    from PIL import Image

    v = SpectrumViewer([fake_spectrum("PRISM"), fake_spectrum("G235M")], title="obj")
    data, _ = v._repr_mimebundle_()
    png = data["image/png"]
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.width > 300
    assert "obj at z = 3.0000" in data["text/html"] and "G235M" in data["text/html"]
    assert v.to_png() is png  # cached until the view changes
    v.flux_unit = "flambda"
    assert v.to_png() != png


def test_wire_size_counts_buffers_and_json():
    assert wire_size({"a": b"\0" * 100, "b": [1, 2]}) == 100 + len('{"b": [1, 2]}')
    assert wire_size([b"12", {"c": b"345"}]) == 5 + len("[null, {}]")
