"""Plots contain what they should: emission lines as one trace at the right wavelengths."""

import numpy as np
import pytest

from campfire import SpectrumData, plot_redshift_fit, plot_spectrum, plot_spectrum_simple
from campfire.errors import ValidationError
from campfire.views.plotting import plot_spectrum_data

Z = 2.5
HA_OBS = 6564.697 * (1 + Z) / 1e4  # µm, by hand from the vacuum rest wavelength
OIII_OBS = 5008.24 * (1 + Z) / 1e4


def _spectrum_json(n=300, ny=21):
    """A /spectrum answer as the server serves it (JSON lists, nulls for masked pixels)."""
    rng = np.random.default_rng(0)
    wave = np.linspace(0.6, 5.3, n)
    fnu = 1.0 + 0.1 * wave + rng.normal(0, 0.05, n)
    fnu_list = [float(v) for v in fnu]
    fnu_list[10] = None
    pix = np.arange(ny) - ny // 2
    prof = np.exp(-0.5 * (pix / 2.0) ** 2)
    return {
        "wave": wave.tolist(), "fnu": fnu_list, "fnu_err": [0.05] * n,
        "snr_2d": (prof[:, None] * fnu[None, :] / 0.05).tolist(),
        "n_spatial": ny, "n_wave": n, "profile": prof.tolist(),
        "profile_fit": prof.tolist(), "profile_pix": pix.tolist(),
    }  # fmt: skip


def _line_x(trace):
    return sorted({x for x in trace.x if x is not None})


def test_plot_spectrum_has_heatmap_profile_1d_and_one_lines_trace():
    fig = plot_spectrum(_spectrum_json(), redshift=Z, show_emission_lines=True)
    kinds = [t.type for t in fig.data]
    assert kinds.count("heatmap") == 1
    names = [t.name for t in fig.data]
    assert {"profile", "profile fit", "f_ν"} <= set(names)
    assert names.count("emission lines") == 1
    assert len(fig.layout.shapes) == 0  # lines are not drawn as one shape each
    lines = next(t for t in fig.data if t.name == "emission lines")
    xs = _line_x(lines)
    assert any(abs(x - HA_OBS) < 1e-9 for x in xs) and any(abs(x - OIII_OBS) < 1e-9 for x in xs)
    assert all(0.6 <= x <= 5.3 for x in xs)
    heat = next(t for t in fig.data if t.type == "heatmap")
    assert np.asarray(heat.z).shape == (21, 300)
    one_d = next(t for t in fig.data if t.name == "f_ν")
    assert np.isnan(one_d.y[10])  # JSON null stays a gap


def test_plot_spectrum_without_lines_or_redshift():
    assert "emission lines" not in [t.name for t in plot_spectrum(_spectrum_json()).data]
    fig = plot_spectrum(_spectrum_json(), redshift=Z, show_emission_lines=False)
    assert "emission lines" not in [t.name for t in fig.data]
    minimal = plot_spectrum({"wave": [1.0, 2.0], "fnu": [1.0, 2.0]})
    assert [t.name for t in minimal.data] == ["f_ν"]


def test_plot_spectrum_simple_and_spectrum_data_input():
    fig = plot_spectrum_simple(_spectrum_json(), redshift=Z)
    assert [t.name for t in fig.data] == ["±1σ", "f_ν", "emission lines"]
    assert plot_spectrum_simple(_spectrum_json()).data[-1].name == "f_ν"
    spec = SpectrumData(np.linspace(1, 5, 50), np.ones(50), np.full(50, 0.1))
    fig2 = plot_spectrum_simple(spec, redshift=Z)
    np.testing.assert_array_equal(fig2.data[1].x, spec.wavelength)


def test_plot_redshift_fit_shows_chi2_model_and_lines_at_the_fit_redshift():
    z_grid = np.linspace(0, 10, 201)
    chi2 = 100 + (z_grid - Z) ** 2 * 50
    fit = {"redshift": Z, "chi2_min": 100.0, "confidence": 0.97, "z_grid": z_grid.tolist(),
           "chi2_grid": chi2.tolist(), "model_wave": np.linspace(0.6, 5.3, 100).tolist(),
           "model_fnu": np.ones(100).tolist()}  # fmt: skip
    fig = plot_redshift_fit(fit, spectrum_data=_spectrum_json())
    names = [t.name for t in fig.data]
    assert names.count("emission lines") == 1 and "χ²(z)" in names and "f_ν" in names
    curve = next(t for t in fig.data if t.name == "χ²(z)")
    np.testing.assert_allclose(curve.y, chi2)
    best = next(t for t in fig.data if t.name == "best z")
    assert best.x[0] == Z and best.y[0] == 100.0
    lines = next(t for t in fig.data if t.name == "emission lines")
    assert any(abs(x - HA_OBS) < 1e-9 for x in _line_x(lines))
    assert "2.5000" in fig.layout.title.text
    model_only = plot_redshift_fit(fit)
    assert "f_ν" not in [t.name for t in model_only.data]


def test_bad_plot_input_is_a_clear_error():
    with pytest.raises(ValidationError, match="'wave' and 'fnu'"):
        plot_spectrum({"fnu": [1.0]})
    with pytest.raises(ValidationError, match="differ in length"):
        plot_spectrum_simple({"wave": [1.0, 2.0], "fnu": [1.0]})
    with pytest.raises(ValidationError, match="chi2_grid"):
        plot_redshift_fit({"redshift": 1.0})


def test_matplotlib_quick_look_draws_lines_as_one_collection():
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    w = np.linspace(0.6, 5.3, 400)
    spec = SpectrumData(w, 1 + 0.1 * w, np.full(400, 0.05), redshift=Z)
    _, ax = plt.subplots()
    assert spec.plot(ax=ax) is ax
    colls = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(colls) == 1 and colls[0].get_gid() == "emission-lines"
    xs = sorted(seg[0, 0] for seg in colls[0].get_segments())
    assert any(abs(x - HA_OBS) < 1e-9 for x in xs)
    step = ax.get_lines()[0]
    np.testing.assert_allclose(step.get_ydata(), spec.fnu)
    _, ax2 = plt.subplots()
    plot_spectrum_data(spec, flux_unit="flam", ax=ax2, show_emission_lines=False)
    np.testing.assert_allclose(ax2.get_lines()[0].get_ydata(), spec.flam)
    assert not [c for c in ax2.collections if isinstance(c, LineCollection)]
    with pytest.raises(ValidationError, match="flux_unit"):
        plot_spectrum_data(spec, flux_unit="jy")
