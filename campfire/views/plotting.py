"""Plots: interactive Plotly figures of the archive's JSON, and matplotlib quick looks.

Plotly (extra ``campfire[plotting]``) takes the dicts the archive serves:
:func:`plot_spectrum` (2D S/N heatmap, spatial profile and 1D spectrum),
:func:`plot_spectrum_simple` (1D only) and :func:`plot_redshift_fit` (model over data, and
χ²(z)). Emission lines are one trace per figure (vertical segments separated by gaps,
labelled on hover), never one shape per line, so figures stay light. Matplotlib:
:func:`plot_spectrum_data` (``SpectrumData.plot``), :func:`plot_calibration` and
:func:`plot_stack` (the results' ``.plot()``). Both libraries load only when a function runs.

Examples
--------
>>> from campfire.views.plotting import plot_spectrum_simple
>>> fig = plot_spectrum_simple({"wave": [1.0, 2.0, 3.0], "fnu": [1.0, 2.0, None]}, redshift=2.5)
>>> [t.name for t in fig.data]
['f_ν', 'emission lines']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from campfire.errors import ValidationError
from campfire.science.lines import get_emission_lines

__all__ = [
    "plot_calibration",
    "plot_redshift_fit",
    "plot_spectrum",
    "plot_spectrum_data",
    "plot_spectrum_simple",
    "plot_stack",
]

#: Lines shown on plots: the list's priority ≥ 4 (Lyα, CIV, [OII], Hβ, [OIII], Hα, Paβ …).
PLOT_MIN_PRIORITY = 4.0
_FNU_LABEL = "f<sub>ν</sub> [µJy]"


def _arr(values: Any) -> np.ndarray:
    """A JSON list that may hold None (null) as a float array with NaN."""
    if values is None:
        return np.array([], dtype=float)
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"expected numbers (a rectangular array), got {exc}") from exc


def _spectrum_dict(data: Any) -> dict[str, Any]:
    """The ``/spectrum`` JSON keys from a dict or a SpectrumData."""
    from campfire.models.data import SpectrumData

    if isinstance(data, SpectrumData):
        out: dict[str, Any] = {"wave": data.wavelength, "fnu": data.fnu, "fnu_err": data.fnu_err}
        sci, err = data.extras.get("sci2d"), data.extras.get("err2d")
        if sci is not None and err is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                out["snr_2d"] = np.asarray(sci) / np.asarray(err)
        return out
    if not isinstance(data, dict) or "wave" not in data or "fnu" not in data:
        raise ValidationError(
            "spectrum data must be the /spectrum JSON dict (cf.get_spectrum_data(spectrum_id)) "
            "with at least 'wave' and 'fnu', or a SpectrumData"
        )
    wave, fnu = _arr(data["wave"]), _arr(data["fnu"])
    if wave.size != fnu.size:
        raise ValidationError(f"'wave' ({wave.size}) and 'fnu' ({fnu.size}) differ in length")
    return data


def _robust_range(y: np.ndarray, err: np.ndarray | None = None) -> tuple[float, float]:
    good = y[np.isfinite(y)]
    if good.size == 0:
        return -1.0, 1.0
    lo, hi = np.percentile(good, [1, 99])
    if err is not None and np.isfinite(err).any():
        hi = max(hi, float(np.nanpercentile(y + err, 99)))
    pad = 0.1 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.1
    return float(min(lo, 0.0) - pad), float(hi + pad)


def _scatter(x: Any, y: Any, name: str, **style: Any) -> Any:
    import plotly.graph_objects as go

    style.setdefault("mode", "lines")
    return go.Scatter(x=x, y=y, name=name, **style)


def _finish(fig: Any, height: int, **layout: Any) -> Any:
    margin = {"l": 60, "r": 20, "t": 50 if "title" in layout else 30, "b": 50}
    fig.update_layout(template="plotly_white", height=height, margin=margin, **layout)
    return fig


def _line_trace(redshift: float, wmin: float, wmax: float, ylo: float, yhi: float) -> Any:
    """All emission lines as one Plotly scatter: vertical segments split by None."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    text: list[str] = []
    hover: list[str | None] = []
    last = -np.inf
    for ln in get_emission_lines(redshift, wmin, wmax, min_priority=PLOT_MIN_PRIORITY):
        w = ln["wavelength"]
        tip = f"{ln['label']} {ln['rest_wavelength']:.2f} Å → {w:.4f} µm"
        show = w > last * 1.01  # do not pile labels of close doublets on one another
        last = w if show else last
        xs += [w, w, None]
        ys += [ylo, yhi, None]
        text += ["", ln["label"] if show else "", ""]
        hover += [tip, tip, None]
    line = {"color": "rgba(120,120,120,0.6)", "width": 1, "dash": "dot"}
    return _scatter(xs, ys, "emission lines", mode="lines+text", text=text, line=line,
                    textposition="top center", textfont={"size": 10, "color": "#555"},
                    hovertext=hover, hoverinfo="text", showlegend=False)  # fmt: skip


def _one_d(d: dict[str, Any]) -> tuple[list[Any], np.ndarray, tuple[float, float]]:
    """The ±1σ band and step line of a /spectrum dict, its wavelengths and a y range."""
    wave, fnu = _arr(d["wave"]), _arr(d["fnu"])
    err: np.ndarray | None = _arr(d.get("fnu_err"))
    traces = []
    if err is not None and err.size == wave.size and wave.size:
        ok = np.isfinite(fnu) & np.isfinite(err)
        x = np.concatenate([wave[ok], wave[ok][::-1]])
        y = np.concatenate([(fnu + err)[ok], (fnu - err)[ok][::-1]])
        traces.append(_scatter(x, y, "±1σ", fill="toself", mode="none", hoverinfo="skip",
                               fillcolor="rgba(31,119,180,0.2)"))  # fmt: skip
    else:
        err = None
    traces.append(_scatter(wave, fnu, "f_ν", line_shape="hvh",
                           line={"color": "#1f77b4", "width": 1.2}))  # fmt: skip
    return traces, wave, _robust_range(fnu, err)


def plot_spectrum_simple(data: Any, redshift: float | None = None) -> Any:
    """A light 1D Plotly plot of ``/spectrum`` data, with emission lines at ``redshift``.

    Examples
    --------
    >>> fig = plot_spectrum_simple(cf.get_spectrum_data(sid), redshift=2.5)  # doctest: +SKIP
    """
    import plotly.graph_objects as go

    traces, wave, (ylo, yhi) = _one_d(_spectrum_dict(data))
    fig = go.Figure(traces)
    if redshift is not None and wave.size:
        fig.add_trace(_line_trace(redshift, np.nanmin(wave), np.nanmax(wave), ylo, yhi))
    fig.update_yaxes(range=[ylo, yhi], title_text=_FNU_LABEL)
    fig.update_xaxes(title_text="λ [µm]")
    return _finish(fig, 380)


def plot_spectrum(
    data: Any, redshift: float | None = None, show_emission_lines: bool = True
) -> Any:
    """Multi-panel Plotly view: 2D S/N heatmap, cross-dispersion profile, and 1D spectrum.

    Parameters
    ----------
    data
        The ``/spectrum`` JSON (``wave``, ``fnu``, ``fnu_err``, ``snr_2d``, ``profile``,
        ``profile_fit``, ``profile_pix``), or a SpectrumData.
    redshift
        Draws emission lines (one trace) at this redshift when ``show_emission_lines``.
    show_emission_lines
        Whether to draw them.

    Examples
    --------
    >>> fig = plot_spectrum(cf.get_spectrum_data(sid), redshift=2.5)  # doctest: +SKIP
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    d = _spectrum_dict(data)
    traces, wave, (ylo, yhi) = _one_d(d)
    fig = make_subplots(rows=2, cols=2, column_widths=[0.86, 0.14], row_heights=[0.38, 0.62],
                        shared_xaxes="columns", shared_yaxes="rows", horizontal_spacing=0.02,
                        vertical_spacing=0.04)  # fmt: skip
    snr = _arr(d.get("snr_2d"))
    if snr.ndim == 2 and snr.size:
        ypix = _arr(d.get("profile_pix"))
        ypix = ypix if ypix.size == snr.shape[0] else np.arange(snr.shape[0])
        fig.add_trace(go.Heatmap(x=wave, y=ypix, z=snr, colorscale="Greys", reversescale=True,
                                 zmin=-3, zmax=10, showscale=False, name="S/N 2D",
                                 hovertemplate="λ=%{x:.4f} µm<br>y=%{y}<br>S/N=%{z:.1f}"),
                      row=1, col=1)  # fmt: skip
        for key, name, style in [
            ("profile", "profile", {"color": "black"}),
            ("profile_fit", "profile fit", {"color": "red", "dash": "dash"}),
        ]:
            prof = _arr(d.get(key))
            if prof.size == ypix.size:
                fig.add_trace(_scatter(prof, ypix, name, line=style), row=1, col=2)
    for t in traces:
        fig.add_trace(t, row=2, col=1)
    if show_emission_lines and redshift is not None and wave.size:
        lines = _line_trace(redshift, np.nanmin(wave), np.nanmax(wave), ylo, yhi)
        fig.add_trace(lines, row=2, col=1)
    fig.update_yaxes(range=[ylo, yhi], title_text=_FNU_LABEL, row=2, col=1)
    fig.update_yaxes(title_text="spatial pixel", row=1, col=1)
    fig.update_xaxes(title_text="λ [µm]", row=2, col=1)
    return _finish(fig, 560, showlegend=False)


def plot_redshift_fit(fit: dict[str, Any], spectrum_data: Any = None) -> Any:
    """Plotly view of a ``/redshift-fit`` answer: best model (over the data) and χ²(z).

    Examples
    --------
    >>> fit = cf.get_redshift_fit_data(sid)  # doctest: +SKIP
    >>> fig = plot_redshift_fit(fit, cf.get_spectrum_data(sid))  # doctest: +SKIP
    """
    from plotly.subplots import make_subplots

    need = ("redshift", "z_grid", "chi2_grid")
    if not isinstance(fit, dict) or any(k not in fit for k in need):
        raise ValidationError(
            "fit must be the /redshift-fit JSON dict (cf.get_redshift_fit_data(spectrum_id)) "
            "with 'redshift', 'z_grid' and 'chi2_grid'"
        )
    z = float(fit["redshift"])
    fig = make_subplots(rows=2, cols=1, row_heights=[0.6, 0.4], vertical_spacing=0.12)
    waves, fluxes = [], []
    if spectrum_data is not None:
        d = _spectrum_dict(spectrum_data)
        traces, wave, _ = _one_d(d)
        for t in traces:
            fig.add_trace(t, row=1, col=1)
        waves.append(wave)
        fluxes.append(_arr(d["fnu"]))
    mw, mf = _arr(fit.get("model_wave")), _arr(fit.get("model_fnu"))
    if mw.size and mw.size == mf.size:
        model = _scatter(mw, mf, f"model z={z:.4f}", line={"color": "#d62728", "width": 1.3})
        fig.add_trace(model, row=1, col=1)
        waves.append(mw)
        fluxes.append(mf)
    if waves:
        allw = np.concatenate(waves)
        ylo, yhi = _robust_range(np.concatenate(fluxes))
        fig.add_trace(_line_trace(z, np.nanmin(allw), np.nanmax(allw), ylo, yhi), row=1, col=1)
        fig.update_yaxes(range=[ylo, yhi], title_text=_FNU_LABEL, row=1, col=1)
    chi2 = _scatter(_arr(fit["z_grid"]), _arr(fit["chi2_grid"]), "χ²(z)",
                    line={"color": "black", "width": 1})  # fmt: skip
    fig.add_trace(chi2, row=2, col=1)
    best = _scatter([z], [fit.get("chi2_min")], "best z", mode="markers",
                    marker={"color": "#d62728", "size": 9})  # fmt: skip
    fig.add_trace(best, row=2, col=1)
    conf = fit.get("confidence")
    title = f"z = {z:.4f}" + (f" (confidence {float(conf):.2f})" if conf is not None else "")
    fig.update_xaxes(title_text="λ [µm]", row=1, col=1)
    fig.update_xaxes(title_text="z", row=2, col=1)
    fig.update_yaxes(title_text="χ²", row=2, col=1)
    return _finish(fig, 560, title=title)


# -- matplotlib --------------------------------------------------------------------------------
def _mpl_lines(ax: Any, redshift: float, wmin: float, wmax: float) -> Any:
    """Emission lines as one LineCollection spanning the axes height, labelled at the top.

    Labels are horizontal, in up to three rows inside the top of the axes, placed as the
    explorer places them (:func:`campfire.science.lines.place_labels`: doublets once, the
    strongest lines first, never overlapping), in colours legible on light and dark.
    """
    from campfire.science.lines import place_labels
    from campfire.views.palette import legible

    lines = get_emission_lines(redshift, wmin, wmax, min_priority=PLOT_MIN_PRIORITY)
    if not lines:
        return None
    x = [ln["wavelength"] for ln in lines]
    colors = [legible(ln["color"]) for ln in lines]
    coll = ax.vlines(
        x,
        0,
        1,
        transform=ax.get_xaxis_transform(),
        colors=colors,
        lw=0.8,
        linestyles=":",
        zorder=0,
        gid="emission-lines",
    )
    fig = ax.figure
    width_px = fig.get_size_inches()[0] * fig.dpi * ax.get_position().width
    lo, hi = ax.get_xlim() if ax.has_data() else (wmin, wmax)
    lo, hi = min(lo, wmin), max(hi, wmax)
    per_px = (hi - lo) / max(width_px, 1.0)
    char = 4.6 * fig.dpi / 72  # a 7-point character, in pixels
    items = [
        {"x": ln["wavelength"], "width": (char * len(ln["label"]) + 4) * per_px,
         "label": ln["label"], "priority": ln["priority"], "name": ln["name"], "color": c}
        for ln, c in zip(lines, colors, strict=True)
    ]  # fmt: skip
    for g in place_labels(items, max_rows=3, gap=2 * per_px):
        if g["visible"]:
            ax.text(
                g["x"],
                0.985 - 0.06 * g["row"],
                g["label"],
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize=7,
                color=g["members"][0]["color"],
                gid="line-label",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.6, "pad": 0.5},
            )
    return coll


def plot_spectrum_data(
    spec: Any,
    flux_unit: str = "fnu",
    ax: Any = None,
    redshift: float | None = None,
    show_emission_lines: bool = True,
    **kwargs: Any,
) -> Any:
    """Matplotlib quick look of a SpectrumData: step line, ±1σ band, emission lines.

    Parameters
    ----------
    spec
        The spectrum.
    flux_unit
        ``'fnu'`` (µJy) or ``'flam'`` (erg/s/cm²/Å).
    ax
        Axes to draw on (default ``plt.gca()``).
    redshift
        Emission lines at this redshift (default ``spec.redshift``; none if unknown).
    show_emission_lines
        Whether to draw them.
    **kwargs
        Passed to ``ax.step`` (``color``, ``label`` …).

    Examples
    --------
    >>> ax = spec.plot(flux_unit="flam")  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    unit = {"fnu": "fnu", "flam": "flam", "flambda": "flam"}.get(str(flux_unit).lower())
    if unit is None:
        raise ValidationError(f"flux_unit must be 'fnu' or 'flam', got {flux_unit!r}")
    ax = plt.gca() if ax is None else ax
    y = spec.fnu if unit == "fnu" else spec.flam
    e = spec.fnu_err if unit == "fnu" else spec.flam_err
    kwargs.setdefault("lw", 1.0)
    kwargs.setdefault("label", spec.spectrum_id or None)
    (line,) = ax.step(spec.wavelength, y, where="mid", **kwargs)
    ax.fill_between(
        spec.wavelength, y - e, y + e, step="mid", color=line.get_color(), alpha=0.25, lw=0
    )
    z = spec.redshift if redshift is None else redshift
    if show_emission_lines and z is not None and len(spec):
        _mpl_lines(ax, z, float(np.nanmin(spec.wavelength)), float(np.nanmax(spec.wavelength)))
    ax.set_xlabel("λ [µm]")
    ax.set_ylabel(
        "$f_\\nu$ [µJy]" if unit == "fnu" else "$f_\\lambda$ [erg s$^{-1}$ cm$^{-2}$ Å$^{-1}$]"
    )
    return ax


def _phot_points(ax: Any, res: Any, synthetic: bool = True) -> None:
    ax.errorbar(res.pivot, res.observed, res.observed_err, fmt="o", color="k", ms=5,
                label="photometry", zorder=5)  # fmt: skip
    if synthetic:
        ax.plot(res.pivot, res.synthetic_before, "s", mfc="none", color="0.5",
                label="synthetic, before")  # fmt: skip
        ax.plot(res.pivot, res.synthetic_after, "s", color="#d62728", ms=4,
                label="synthetic, after")  # fmt: skip


def plot_calibration(result: Any, fig: Any = None) -> Any:
    """Two panels for a CalibrationResult: spectra before/after with photometry, multiplier."""
    import matplotlib.pyplot as plt

    fig = fig or plt.figure(figsize=(8, 6))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    plot_spectrum_data(
        result.original, ax=top, color="0.6", label="original", show_emission_lines=False
    )
    plot_spectrum_data(result.spectrum, ax=top, color="#1f77b4", label="calibrated")
    _phot_points(top, result)
    top.legend(fontsize=8)
    top.set_xlabel("")
    w = result.original.wavelength
    bottom.plot(
        w, result.multiplier, color="#d62728", label=f"{result.method} (deg {result.degree})"
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = result.observed / result.synthetic_before
    bottom.plot(result.pivot, ratio, "ko", ms=4, label="observed / synthetic")
    for x in result.wave_range:
        bottom.axvline(x, color="0.7", ls="--", lw=0.8)
    bottom.set_xlabel("λ [µm]")
    bottom.set_ylabel("multiplier")
    bottom.legend(fontsize=8)
    return fig


def plot_stack(result: Any, fig: Any = None) -> Any:
    """Three panels for a StackResult: inputs as observed, multipliers, and the calibrated
    inputs with the stack and the photometry.
    """
    import matplotlib.pyplot as plt

    fig = fig or plt.figure(figsize=(8, 9))
    axes = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1, 2]})
    for cal in result.calibrations:
        plot_spectrum_data(cal.original, ax=axes[0], alpha=0.8, show_emission_lines=False)
        axes[1].plot(cal.original.wavelength, cal.multiplier, label=cal.original.spectrum_id)
    axes[0].set_title("inputs as observed")
    axes[1].set_ylabel("multiplier")
    for s in result.input_spectra:
        axes[2].step(s.wavelength, s.fnu, where="mid", color="0.6", lw=0.6, alpha=0.7)
    plot_spectrum_data(result.spectrum, ax=axes[2], color="#1f77b4", lw=1.3, label="stack")
    if result.calibrations:
        _phot_points(axes[2], result.calibrations[0], synthetic=False)
    axes[2].set_title(f"calibrated and stacked ({result.stacking_method})")
    axes[2].legend(fontsize=8)
    for ax in axes[:2]:
        ax.set_xlabel("")
    return fig
