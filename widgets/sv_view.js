// SpectrumViewer, its geometry and interaction: pure functions of plain values (unit-tested
// without a DOM): data/pixel transforms, axis units, the y range, masked-pixel bands, line
// hit-testing, wheel/box/y zoom and pan, the redshift box, the 2D strips' geometry.

import { LABEL_ROWS, ROW_HEIGHT, autoRange, decodeBytes, decodeFloat32, fnuToFlam, lowerBound, maskedRuns, niceTicks, peakValue, pixelEdge, powerOfTen, robustRange, smoothSpectrum, superscript, tickLabel } from "./sv_data.js";
import { gratingStyles } from "./palette.js";


/** Space around the plot area in CSS pixels; the top margin holds LABEL_ROWS rows of line labels. */
export const MARGIN = Object.freeze({ left: 62, right: 12, top: LABEL_ROWS * ROW_HEIGHT + 20, bottom: 34 });
/** The mouse grabs a line within this many pixels of it. */
export const GRAB_PX = 5;
/** The highest redshift one may type. */
export const MAX_TYPED_Z = 30;

/**
 * The plot area inside a width x height canvas (CSS pixels), never smaller than 10 x 10.
 * @returns {{x: number, y: number, w: number, h: number}}
 */
export function plotRect(width, height) {
  return {
    x: MARGIN.left,
    y: MARGIN.top,
    w: Math.max(10, width - MARGIN.left - MARGIN.right),
    h: Math.max(10, height - MARGIN.top - MARGIN.bottom),
  };
}

/** The window [um] that shows every trace, padded 1% each side; [0.6, 5.3] without data. */
export function fullRange(traces) {
  let lo = Infinity, hi = -Infinity;
  for (const t of traces) if (t.n) { lo = Math.min(lo, t.wave[0]); hi = Math.max(hi, t.wave[t.n - 1]); }
  if (!Number.isFinite(lo)) return [0.6, 5.3];
  const pad = (hi - lo) * 0.01;
  return [lo - pad, hi + pad];
}

/** The window on screen: the zoom `view` [um], or everything when it is null. */
export function viewWindow(view, traces) {
  return view || fullRange(traces);
}

/** Pixel column of a wavelength [um] in plot area `rect` showing window `xr` [um]. */
export function waveToPx(wave, rect, xr) {
  return rect.x + ((wave - xr[0]) / (xr[1] - xr[0])) * rect.w;
}

/** Wavelength [um] under pixel column px (the inverse of waveToPx). */
export function pxToWave(px, rect, xr) {
  return xr[0] + ((px - rect.x) / rect.w) * (xr[1] - xr[0]);
}

/** Pixel row of a flux value: yRange[0] at the bottom of the plot area, yRange[1] at its top. */
export function fluxToPy(value, rect, yRange) {
  return rect.y + rect.h - ((value - yRange[0]) / (yRange[1] - yRange[0])) * rect.h;
}

/** Indices [a, b) of a trace's pixels inside window xr, with one pixel to spare each side. */
export function visibleSpan(trace, xr) {
  return [Math.max(0, lowerBound(trace.wave, xr[0]) - 1), Math.min(trace.n, lowerBound(trace.wave, xr[1]) + 1)];
}

/**
 * The fluxes drawn: smoothed, in the chosen unit, and in f_lambda divided by 10^exponent so
 * that the axis reads "fλ [10⁻²⁰ erg s⁻¹ cm⁻² Å⁻¹]".
 * @param {{fnu: ArrayLike<number>, err: ArrayLike<number>, wave: ArrayLike<number>}[]} traces
 * @param {string} fluxUnit  "fnu" or "flambda"
 * @param {number|{kind: string, value: number}} smoothing  a boxcar width in pixels, or a
 *   smoothing spec (see smoothSpectrum: boxcar, Gaussian σ in pixels or in km/s)
 * @returns {{series: {flux: Float64Array, err: Float64Array}[], exponent: number}}
 */
export function displayFlux(traces, fluxUnit, smoothing) {
  const flam = fluxUnit === "flambda";
  const spec = typeof smoothing === "number" ? { kind: "boxcar", value: smoothing } : smoothing;
  const series = traces.map((t) => {
    const s = smoothSpectrum(t.fnu, t.err, t.wave, spec);
    return flam ? { flux: fnuToFlam(s.flux, t.wave), err: fnuToFlam(s.err, t.wave) } : s;
  });
  const exponent = flam ? powerOfTen(series.map((s) => s.flux)) : 0;
  if (exponent) {
    const scale = Math.pow(10, -exponent);
    for (const s of series) for (let i = 0; i < s.flux.length; i++) { s.flux[i] *= scale; s.err[i] *= scale; }
  }
  return { series, exponent };
}

/**
 * The y range for what is on screen: the bulk of the visible traces' pixels in window xr and the
 * highest detected line peak among them (peakValue, robustRange), so zooming onto Hα or
 * [OIII] never clips it while noise never stretches it.
 */
export function yRangeFor(traces, xr) {
  const values = [];
  let peak = -Infinity;
  for (const t of traces) {
    if (!t.visible) continue;
    const [a, b] = visibleSpan(t, xr);
    for (let i = a; i < b; i++) values.push(t.flux[i]);
    peak = Math.max(peak, peakValue(t.flux, a, b, t.ferr));
  }
  return robustRange(values, peak);
}

/** The old y range (quantiles only), kept for comparison in tests and benchmarks. */
export function quantileRangeFor(traces, xr) {
  const values = [];
  for (const t of traces) {
    if (!t.visible) continue;
    const [a, b] = visibleSpan(t, xr);
    for (let i = a; i < b; i++) values.push(t.flux[i]);
  }
  return autoRange(values);
}

/** The y window on screen: the user's (y zoom, typed limits) or the automatic one. */
export function yWindow(yView, traces, xr) {
  return yView || yRangeFor(traces, xr);
}

/** The y window after a wheel step deltaY about flux value `at` (deltaY < 0 zooms in). */
export function zoomY(yr, at, deltaY) {
  const f = Math.exp(Math.max(-1, Math.min(1, deltaY * 0.0015)));
  return [at - (at - yr[0]) * f, at + (yr[1] - at) * f];
}

/** Flux value under pixel row py (the inverse of fluxToPy). */
export function pyToFlux(py, rect, yRange) {
  return yRange[0] + ((rect.y + rect.h - py) / rect.h) * (yRange[1] - yRange[0]);
}

/**
 * The windows a box dragged from (x0, y0) to (x1, y1) pixels zooms to: {x: [um, um], y: [lo, hi]},
 * or null for a box under 5 pixels either way (a click, not a box).
 */
export function boxZoom(x0, y0, x1, y1, rect, xr, yr) {
  if (Math.abs(x1 - x0) < 5 || Math.abs(y1 - y0) < 5) return null;
  const clampX = (px) => Math.max(rect.x, Math.min(rect.x + rect.w, px));
  const clampY = (py) => Math.max(rect.y, Math.min(rect.y + rect.h, py));
  const wa = pxToWave(clampX(Math.min(x0, x1)), rect, xr), wb = pxToWave(clampX(Math.max(x0, x1)), rect, xr);
  const fa = pyToFlux(clampY(Math.max(y0, y1)), rect, yr), fb = pyToFlux(clampY(Math.min(y0, y1)), rect, yr);
  return { x: [wa, wb], y: [fa, fb] };
}

/** Typed y limits ("lo", "hi"): {y: [lo, hi]}, {y: null} for both empty (automatic), or {error}. */
export function parseYLimits(loText, hiText) {
  const lo = String(loText ?? "").trim(), hi = String(hiText ?? "").trim();
  if (lo === "" && hi === "") return { y: null };
  const a = Number(lo), b = Number(hi);
  if (lo === "" || hi === "" || !Number.isFinite(a) || !Number.isFinite(b) || !(a < b)) {
    return { error: `y limits: type two numbers, the lower first (got "${lo}", "${hi}"); empty both for automatic` };
  }
  return { y: [a, b] };
}

// -- the wavelength axis in µm, Å or rest-frame Å

/** What the x axis shows: unit "um", "A" or "rest_A" (rest needs a redshift; else µm). */
export function xAxis(unit, z) {
  const hasZ = z !== null && z !== undefined && Number.isFinite(z);
  if (unit === "A") return { unit, scale: 1e4, title: "observed wavelength [Å]" };
  if (unit === "rest_A" && hasZ) return { unit, scale: 1e4 / (1 + z), title: `rest wavelength [Å] (z = ${z.toFixed(4)})` };
  return { unit: "um", scale: 1, title: "observed wavelength [µm]" };
}

/** The bottom axis' ticks in its unit, each with its wavelength in µm for placing it. */
export function xAxisTicks(xr, axis, maxTicks) {
  const { values, labels } = axisTicks(xr[0] * axis.scale, xr[1] * axis.scale, maxTicks);
  return values.map((v, i) => ({ value: v, label: labels[i], wave: v / axis.scale }));
}

/** How many ticks fit along lengthPx at one every spacingPx (at least 2). */
export function tickCount(lengthPx, spacingPx) {
  return Math.max(2, Math.floor(lengthPx / spacingPx));
}

/** An axis' ticks between lo and hi: values on a 1-2-5 step and labels with the decimals it needs. */
export function axisTicks(lo, hi, maxTicks) {
  const values = niceTicks(lo, hi, maxTicks);
  const step = values.length > 1 ? values[1] - values[0] : 1;
  return { values, labels: values.map((v) => tickLabel(v, step)) };
}

/** Rest-frame ticks [Å] for the top of the plot at redshift z, each with its observed wave [um]. */
export function restTicks(xr, z, maxTicks) {
  const { values, labels } = axisTicks((xr[0] * 1e4) / (1 + z), (xr[1] * 1e4) / (1 + z), maxTicks);
  return values.map((rest, i) => ({ rest, label: labels[i], wave: (rest * (1 + z)) / 1e4 }));
}

/** The y axis title: "fν [µJy]", or f_lambda with its power of ten. */
export function fluxAxisTitle(fluxUnit, exponent) {
  if (fluxUnit !== "flambda") return "fν [µJy]";
  const scaleText = exponent ? `10${superscript(exponent)} ` : "";
  return `fλ [${scaleText}erg s⁻¹ cm⁻² Å⁻¹]`;
}

/** Runs of finite values among indices a..b-1, as [start, end) pairs. */
export function finiteRuns(values, a, b) {
  const runs = [];
  let i = a;
  while (i < b) {
    while (i < b && !Number.isFinite(values[i])) i++;
    const start = i;
    while (i < b && Number.isFinite(values[i])) i++;
    if (i > start) runs.push([start, i]);
  }
  return runs;
}

/**
 * Where masked pixels are marked: a full-height hatch [x, y, w, h] only where no visible
 * spectrum has good data, and for each trace a band in its colour along the bottom of the
 * plot (band k of 4 px for the k-th visible trace) over its own masked pixels, so one spectrum's
 * gap never hatches another's good data.
 * @returns {{x: number, y: number, w: number, h: number, color: string|null}[]}
 */
export function maskedBands(traces, rect, xr) {
  const visible = traces.filter((t) => t.visible && t.n);
  const out = [];
  visible.forEach((t, k) => {
    for (const [x, w] of maskedBoxes(t, rect, xr)) out.push({ x, y: rect.y + rect.h - 4 * (k + 1), w, h: 4, color: t.color });
  });
  // the full-height hatch: columns where every visible trace covering them is masked
  for (const [x, w] of maskedBoxes(visible[0] || { flux: [], wave: [] }, rect, xr)) {
    const mid = pxToWave(x + w / 2, rect, xr);
    const goodElsewhere = visible.slice(1).some((t) => {
      if (!t.n || mid < t.wave[0] || mid > t.wave[t.n - 1]) return false;
      const i = Math.min(t.n - 1, lowerBound(t.wave, mid));
      return Number.isFinite(t.flux[i]) || Number.isFinite(t.flux[Math.max(0, i - 1)]);
    });
    if (!goodElsewhere) out.push({ x, y: rect.y, w, h: rect.h, color: null });
  }
  return out;
}

/** Hatched boxes [x, width] in pixels over a trace's masked pixels that reach the plot area. */
export function maskedBoxes(trace, rect, xr) {
  const boxes = [];
  for (const [a, b] of maskedRuns(trace.flux)) {
    const x0 = waveToPx(pixelEdge(trace.wave, a), rect, xr);
    const x1 = waveToPx(pixelEdge(trace.wave, b + 1), rect, xr);
    if (x1 >= rect.x && x0 <= rect.x + rect.w) boxes.push([x0, Math.max(1, x1 - x0)]);
  }
  return boxes;
}

/**
 * The lines drawn at redshift z: those of at least minPriority observed inside window xr, each
 * with its observed `wave` [um] and pixel column `x`. None when z is unset.
 */
export function linesInWindow(lines, z, minPriority, xr, rect) {
  if (z === null || z === undefined || !Number.isFinite(z)) return [];
  const shown = []; // runs every frame of a drag: copy only the lines that are drawn
  for (const ln of lines) {
    if (!(ln.priority >= minPriority)) continue;
    const wave = (ln.rest * (1 + z)) / 1e4;
    if (wave >= xr[0] && wave <= xr[1]) shown.push({ ...ln, wave, x: waveToPx(wave, rect, xr) });
  }
  return shown;
}

/** Top [px] of label row `row` (row 0 at the top of the canvas). */
export function labelRowTop(row) {
  return 2 + row * ROW_HEIGHT;
}

/** The drawn line nearest pixel column px, if one is within `tolerance` pixels; else null. */
export function nearestLine(hits, px, tolerance = GRAB_PX) {
  let best = null;
  for (const hit of hits) {
    const d = Math.abs(hit.x - px);
    if (d <= tolerance && (!best || d < Math.abs(best.x - px))) best = hit;
  }
  return best;
}

/** The window after a wheel step deltaY about wavelength `at` (deltaY < 0 zooms in, at most e×). */
export function zoomWindow(xr, at, deltaY) {
  const f = Math.exp(Math.max(-1, Math.min(1, deltaY * 0.0015)));
  return [at - (at - xr[0]) * f, at + (xr[1] - at) * f];
}

/** The window after dragging the plot dx pixels from where the drag began (window `start`). */
export function panWindow(start, dx, rectWidth) {
  const shift = (dx / rectWidth) * (start[1] - start[0]);
  return [start[0] - shift, start[1] - shift];
}

/** The zoom window for an x_range trait value: [] (or anything but a pair) shows everything. */
export function windowFromRange(range) {
  return range && range.length === 2 ? [range[0], range[1]] : null;
}

/** Whether two zoom windows (or nulls) agree to 1e-9 um. */
export function sameWindow(a, b) {
  if (a === null || b === null) return a === b;
  return Math.abs(a[0] - b[0]) < 1e-9 && Math.abs(a[1] - b[1]) < 1e-9;
}

/**
 * A typed redshift: {z} for a number in [0, MAX_TYPED_Z], else {error} saying what to type.
 * @param {string} text
 * @param {number|null} current  the redshift kept when the text is refused
 */
export function parseRedshift(text, current) {
  const typed = String(text).trim();
  const value = Number(typed);
  if (typed === "" || !Number.isFinite(value) || value < 0 || value > MAX_TYPED_Z) {
    const now = current === null || current === undefined ? "unset" : current.toFixed(4);
    return { error: `"${typed}" is not a redshift: type a number between 0 and ${MAX_TYPED_Z} (z stays ${now})` };
  }
  return { z: value };
}

/** The redshift slider's upper end: 12, or 1.5 z (rounded up) beyond z = 8. */
export function sliderMax(z) {
  return Math.max(12, Math.ceil((z ?? 0) * 1.5));
}

/**
 * The readout under the mouse: "λ 1.2345 µm, rest 4115.2 Å" (no rest without a redshift), the
 * flux under it when given, and the nearest line within reach.
 */
export function readoutText(wave, z, flux = null, fluxUnitText = "", line = null) {
  const rest = z === null || z === undefined ? "" : `, rest ${((wave * 1e4) / (1 + z)).toFixed(1)} Å`;
  const f = flux === null || !Number.isFinite(flux) ? "" : `, f ${flux.toPrecision(4)}${fluxUnitText ? " " + fluxUnitText : ""}`;
  const l = line ? ` · ${line.label} ${Number(line.rest).toFixed(1)} Å (drag to move z)` : "";
  return `λ ${wave.toFixed(4)} µm${rest}${f}${l}`;
}

// -- the redshift box: what the box shows is always the redshift drawn

/** The redshift box's text for a redshift ("" when unset). */
export function zText(z) {
  return z === null || z === undefined || !Number.isFinite(z) ? "" : z.toFixed(4);
}

/**
 * What to do with the redshift box's text on Enter or change: "keep" when it is the text the
 * box was last given (a blur after a line drag must not undo the drag), else parseRedshift's
 * verdict. {action: "keep"} | {action: "set", z} | {action: "error", error}.
 */
export function zBoxAction(text, shownText, current) {
  if (String(text).trim() === String(shownText).trim()) return { action: "keep" };
  const parsed = parseRedshift(text, current);
  if (parsed.error) return { action: "error", error: parsed.error };
  if (current !== null && current !== undefined && Math.abs(parsed.z - current) < 5e-5 && zText(parsed.z) === zText(current)) return { action: "keep" };
  return { action: "set", z: parsed.z };
}

/** Edges [um] of a 2D spectrum's nx columns, each `bin` pixels of the n-pixel 1D spectrum. */
export function columnEdges(wave, n, nx, bin) {
  const edges = new Float64Array(nx + 1);
  for (let j = 0; j <= nx; j++) edges[j] = pixelEdge(wave, Math.min(n, j * bin));
  return edges;
}

/** The 2D columns [first, last) that reach into window xr, one to spare each side. */
export function columnSpan(edges, nx, xr) {
  return [Math.max(0, lowerBound(edges, xr[0]) - 1), Math.min(nx, lowerBound(edges, xr[1]) + 1)];
}

/** Height [px] of the strip of a 2D spectrum with ny rows: 3 px a row, within 24-72 (0 rows: 0). */
export function stripHeight(ny) {
  if (!(ny > 0)) return 0;
  return Math.max(24, Math.min(72, ny * 3));
}

/** Pixel row (from the strip's top) of spatial row `row` (0 = the strip's bottom, as in FITS). */
export function stripRowToPy(row, ny, hgt) {
  return hgt - ((row + 0.5) / ny) * hgt;
}

/** The 1D pixel of a trace under wavelength `wave` [um] (nearest; -1 outside the trace). */
export function pixelAt(trace, wave) {
  if (!trace.n || wave < trace.wave[0] || wave > trace.wave[trace.n - 1]) return -1;
  const i = lowerBound(trace.wave, wave);
  if (i <= 0) return 0;
  if (i >= trace.n) return trace.n - 1;
  return wave - trace.wave[i - 1] < trace.wave[i] - wave ? i - 1 : i;
}

/**
 * Traces from the `traces` trait: float32 buffers decoded, a colour per grating, the 2D
 * spectrum's column edges; the spectra whose ids are in `hidden` stay hidden.
 * @param {object[]} list  the trait's dicts (spectrum_id, grating, n, wave, fnu, err, sci2d, ny, nx, bin)
 * @param {Set<string>} hidden
 */
export function decodeTraces(list, hidden = new Set()) {
  const styles = gratingStyles(list.map((t) => t.grating));
  return list.map((t, i) => {
    const wave = decodeFloat32(t.wave);
    const tr = {
      id: t.spectrum_id, grating: t.grating, color: t.color || styles[i].color, dash: t.dash || styles[i].dash, n: t.n, wave,
      fnu: decodeFloat32(t.fnu), err: decodeFloat32(t.err), visible: !hidden.has(t.spectrum_id),
      sci: decodeBytes(t.sci2d), ny: t.ny, nx: t.nx, bin: t.bin, img: null, imgKey: "", edges: null,
      trace2d: t.trace2d ?? null, aperture: t.aperture ?? null, vmin: t.vmin ?? 0, vmax: t.vmax ?? 1,
      flux: null, ferr: null,
    };
    if (tr.sci && tr.nx) tr.edges = columnEdges(wave, tr.n, tr.nx, tr.bin);
    return tr;
  });
}

/**
 * The data on screen as CSV: one row per visible pixel inside window xr of each shown spectrum,
 * as drawn (smoothed, in the flux unit shown, f_lambda without its axis scale).
 */
export function csvText(traces, xr, fluxUnit, exponent, unitTitle) {
  const scale = fluxUnit === "flambda" && exponent ? Math.pow(10, exponent) : 1;
  const unit = fluxUnit === "flambda" ? "erg/s/cm2/A" : "uJy";
  const out = [`# ${unitTitle}; window ${xr[0].toFixed(5)}-${xr[1].toFixed(5)} um`, `spectrum_id,grating,wavelength_um,flux_${unit},err_${unit}`];
  for (const t of traces) {
    if (!t.visible) continue;
    const [a, b] = visibleSpan(t, xr);
    for (let i = a; i < b; i++) {
      if (t.wave[i] < xr[0] || t.wave[i] > xr[1]) continue;
      const f = Number.isFinite(t.flux[i]) ? (t.flux[i] * scale).toPrecision(7) : "";
      const e = Number.isFinite(t.ferr[i]) ? (t.ferr[i] * scale).toPrecision(7) : "";
      out.push(`${t.id},${t.grating},${t.wave[i].toFixed(6)},${f},${e}`);
    }
  }
  return out.join("\n") + "\n";
}
