"""Binning to display resolution: the weighted means and propagated errors, checked apart."""

from __future__ import annotations

import numpy as np
import pytest

from campfire.views.htmlpage.data import bin_spectrum, line_columns


def test_binned_flux_is_the_inverse_variance_mean_of_each_group():
    rng = np.random.default_rng(1)
    wave = np.linspace(1.0, 5.0, 1000)
    flux = rng.normal(3.0, 1.0, 1000)
    err = rng.uniform(0.5, 2.0, 1000)
    w, f, e, factor = bin_spectrum(wave, flux, err, max_bins=300)
    assert factor == 4 and len(w) == 250
    assert w.dtype == f.dtype == e.dtype == np.float32
    for k in (0, 17, 249):  # by hand, one group at a time
        sl = slice(4 * k, 4 * k + 4)
        assert f[k] == pytest.approx(np.average(flux[sl], weights=err[sl] ** -2), rel=1e-6)
        assert w[k] == pytest.approx(wave[sl].mean(), rel=1e-6)


def test_propagated_errors_match_the_scatter_of_noisy_realisations():
    # an independent check of the error propagation: bin 4000 noisy copies of one spectrum
    # and compare each bin's scatter with the error bin_spectrum propagated
    rng = np.random.default_rng(7)
    n = 60
    wave = np.linspace(1, 2, n)
    err = rng.uniform(0.2, 3.0, n)
    binned = []
    for _ in range(4000):
        _, f, e, factor = bin_spectrum(wave, 5.0 + rng.normal(0, err), err, max_bins=12)
        binned.append(f)
    assert factor == 5
    scatter = np.std(np.array(binned), axis=0)
    assert scatter == pytest.approx(e, rel=0.06)


def test_unusable_pixels_are_left_out_and_short_spectra_kept():
    wave = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    flux = np.array([1.0, np.nan, 3.0, 4.0, 100.0])
    err = np.array([1.0, 1.0, 1.0, 1.0, 0.0])  # zero error: no information
    w, f, e, factor = bin_spectrum(wave, flux, err, max_bins=400)
    assert e.tolist() == [1.0, 1.0, 1.0]
    assert factor == 1
    assert w.tolist() == [1.0, 3.0, 4.0] and f.tolist() == [1.0, 3.0, 4.0]
    w, _, _, factor = bin_spectrum([], [], [], max_bins=10)
    assert len(w) == 0 and factor == 1


def test_line_list_is_the_science_line_list_in_microns():
    from campfire.science.lines import EMISSION_LINES

    cols = line_columns()
    for name, rest in zip(cols["name"], cols["rest"], strict=True):
        assert rest == pytest.approx(EMISSION_LINES[name] / 1e4)
    i = cols["name"].index("OIII-5007")
    assert cols["label"][i] == "[OIII]" and cols["show_label"][i]
    # the [OII] doublet is labelled once
    names, shown = cols["name"], cols["show_label"]
    oii = [s for n, s in zip(names, shown, strict=True) if n.startswith("OII-37")]
    assert oii == [True, False]


def test_the_wheel_carries_the_page_script(tmp_path):
    import shutil
    import zipfile
    from pathlib import Path

    builder = pytest.importorskip("hatchling.builders.wheel", reason="hatchling not installed")
    root = Path(__file__).resolve().parents[2]
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, src / name)
    skip = shutil.ignore_patterns("node_modules")
    shutil.copytree(root / "widgets", src / "widgets", ignore=skip)
    shutil.copytree(root / "campfire", src / "campfire",
                    ignore=shutil.ignore_patterns("__pycache__", "static"))  # fmt: skip
    (path,) = list(builder.WheelBuilder(str(src)).build(directory=str(tmp_path / "dist")))
    names = zipfile.ZipFile(path).namelist()
    assert "campfire/views/htmlpage/page.js" in names


def test_the_page_script_is_what_every_callback_runs():
    from campfire.views.htmlpage.layout import _callback, page_js

    js = page_js()
    for name in ("cfInit", "cfSelect", "cfDraw", "cfRedshift", "cfSave", "cfExport", "cfCsv"):
        assert f"function {name}(" in js
    code = _callback({"x": 1}, "cfDraw(a)").code
    assert code.startswith(js) and code.rstrip().endswith("const a = {x: x};\ncfDraw(a);")


def test_each_spectrum_travels_as_its_binned_float32_arrays_in_base64():
    import base64

    from campfire.models.data import SpectrumData
    from campfire.models.object import Object
    from campfire.views.htmlpage.data import PageObject, spectrum_columns

    rng = np.random.default_rng(3)
    wave = np.linspace(0.6, 5.3, 900)
    flux, err = rng.normal(1.0, 0.1, 900), rng.uniform(0.05, 0.2, 900)
    spectra = [
        SpectrumData(wavelength=wave, fnu=flux, fnu_err=err, grating=g, spectrum_id=g)
        for g in ("G395M", "PRISM")
    ]
    cols = spectrum_columns([PageObject(obj=Object(object_id="J1"), spectra=spectra)], 400)
    assert cols["grating"] == ["PRISM", "G395M"]  # PRISM first
    w, f, e, factor = bin_spectrum(wave, flux, err, 400)
    raw = np.frombuffer(base64.b64decode(cols["blob"][0]), dtype="<f4")  # decoded by hand
    assert cols["bins"][0] == len(w) and cols["factor"][0] == factor == 3
    assert raw.tolist() == np.concatenate([w, f, e]).tolist()
