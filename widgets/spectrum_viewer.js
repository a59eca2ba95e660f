// SpectrumViewer: spectra overlaid by grating, error bands, masked pixels, emission lines at a
// redshift that follows the mouse, f_nu/f_lambda, smoothing, zoom/pan, and the 2D spectra.
// Python side: campfire/views/widgets/spectrum_viewer.py. One ES module (anywidget loads it alone):
// pure functions first (data, geometry, interaction; exported and tested with node --test), then
// the widget as module-level functions over one state object (ViewerState), wired by render().

/** Level of a 2D pixel with no data (levels 0-254 span [vmin, vmax]). */
export const NO_DATA = 255;
/** f_lambda [erg/s/cm2/A] = f_nu [uJy] * FLAM_PER_UJY_UM2 / lambda[um]^2 */
export const FLAM_PER_UJY_UM2 = 2.99792458e-19;

const PALETTES = {
  PRISM: ["#1a1a1a", "#7f7f7f", "#8c564b"],
  G140: ["#1f77b4", "#17becf", "#6baed6"],
  G235: ["#2ca02c", "#bcbd22", "#74c476"],
  G395: ["#d62728", "#ff7f0e", "#fb6a4a"],
};
const EXTRA = ["#9467bd", "#e377c2", "#8c6d31", "#393b79", "#637939"];
const ROW_HEIGHT = 13;
const LABEL_ROWS = 4;
const FONT = "11px sans-serif";
const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

/**
 * A distinct colour per spectrum, from its grating's family (PRISM grey, G140 blue, G235 green,
 * G395 red); a second spectrum of the same grating takes the next shade.
 * @param {string[]} gratings
 * @returns {string[]}
 */
export function gratingColors(gratings) {
  const used = new Set();
  return gratings.map((g) => {
    const name = String(g || "").toUpperCase();
    const key = Object.keys(PALETTES).find((k) => name.startsWith(k));
    const candidates = (key ? PALETTES[key] : []).concat(EXTRA);
    const color = candidates.find((c) => !used.has(c)) || candidates[used.size % candidates.length];
    used.add(color);
    return color;
  });
}

/** A Float32Array over a DataView/ArrayBuffer view (copied only when misaligned). */
export function decodeFloat32(view) {
  if (!view) return new Float32Array(0);
  if (view instanceof Float32Array) return view;
  const { buffer, byteOffset, byteLength } = view;
  if (byteOffset % 4 === 0) return new Float32Array(buffer, byteOffset, byteLength >> 2);
  return new Float32Array(buffer.slice(byteOffset, byteOffset + byteLength));
}

/** A Uint8Array over a DataView (or null). */
export function decodeBytes(view) {
  if (!view) return null;
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * f_nu [uJy] to f_lambda [erg/s/cm2/A] at wavelengths in um.
 * @param {ArrayLike<number>} fnu
 * @param {ArrayLike<number>} wave
 */
export function fnuToFlam(fnu, wave) {
  const out = new Float64Array(fnu.length);
  for (let i = 0; i < fnu.length; i++) out[i] = (fnu[i] * FLAM_PER_UJY_UM2) / (wave[i] * wave[i]);
  return out;
}

/** The power of ten of the largest finite |value| (0 when there is none). */
export function powerOfTen(arrays) {
  let m = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m && Number.isFinite(v)) m = v;
  }
  return m > 0 ? Math.floor(Math.log10(m)) : 0;
}

/** "10⁻²⁰" for -20. */
export function superscript(n) {
  return String(n).split("").map((c) => SUPERSCRIPT[c] ?? c).join("");
}

/**
 * NaN-aware boxcar smoothing: each unmasked pixel becomes the mean of the unmasked pixels within
 * width/2 of it, its error sqrt(sum err^2)/count; masked pixels stay NaN.
 * @param {ArrayLike<number>} flux
 * @param {ArrayLike<number>} err
 * @param {number} width  boxcar width in pixels (<= 1: a copy)
 */
export function smooth(flux, err, width) {
  const n = flux.length;
  const f = new Float64Array(n);
  const e = new Float64Array(n);
  const half = Math.floor(width / 2);
  if (!(width > 1)) {
    for (let i = 0; i < n; i++) { f[i] = flux[i]; e[i] = err[i]; }
    return { flux: f, err: e };
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(flux[i])) { f[i] = NaN; e[i] = NaN; continue; }
    let sum = 0, sum2 = 0, count = 0;
    const lo = Math.max(0, i - half), hi = Math.min(n - 1, i + half);
    for (let j = lo; j <= hi; j++) {
      if (!Number.isFinite(flux[j])) continue;
      sum += flux[j];
      const ej = Number.isFinite(err[j]) ? err[j] : 0;
      sum2 += ej * ej;
      count++;
    }
    f[i] = sum / count;
    e[i] = Math.sqrt(sum2) / count;
  }
  return { flux: f, err: e };
}

/** A 1-2-5 step giving at most about maxTicks ticks over span. */
export function niceStep(span, maxTicks = 6) {
  const raw = span / Math.max(1, maxTicks);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

/** Round tick values between lo and hi (inclusive), at a 1-2-5 step. */
export function niceTicks(lo, hi, maxTicks = 6) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo)) return [];
  const step = niceStep(hi - lo, maxTicks);
  const digits = Math.min(20, Math.max(0, 1 - Math.floor(Math.log10(step))));
  const out = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    out.push(Number((k * step).toFixed(digits)));
  }
  return out;
}

/** A tick label with just enough decimals for the step between ticks. */
export function tickLabel(value, step) {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return value.toFixed(Math.min(decimals, 10));
}

/**
 * The y range that shows the bulk of the values: quantiles qlo..qhi of the finite values,
 * padded 8% below and 12% above (room for line labels). [0, 1] without finite values.
 */
export function autoRange(values, qlo = 0.005, qhi = 0.995) {
  const finite = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finite.push(values[i]);
  if (!finite.length) return [0, 1];
  finite.sort((a, b) => a - b);
  const pick = (q) => finite[Math.min(finite.length - 1, Math.max(0, Math.round(q * (finite.length - 1))))];
  const lo = pick(qlo), hi = pick(qhi);
  let span = hi - lo;
  if (!(span > 0)) span = Math.abs(hi) || 1;
  return [lo - 0.08 * span, hi + 0.12 * span];
}

/** Runs of masked (non-finite) pixels as [first, last] index pairs. */
export function maskedRuns(flux) {
  const runs = [];
  let start = -1;
  for (let i = 0; i < flux.length; i++) {
    const bad = !Number.isFinite(flux[i]);
    if (bad && start < 0) start = i;
    if (!bad && start >= 0) { runs.push([start, i - 1]); start = -1; }
  }
  if (start >= 0) runs.push([start, flux.length - 1]);
  return runs;
}

/** The lower edge (um) of pixel i: halfway to its neighbour. */
export function pixelEdge(wave, i) {
  const n = wave.length;
  if (n === 1) return wave[0] * 0.999;
  if (i <= 0) return wave[0] - (wave[1] - wave[0]) / 2;
  if (i >= n) return wave[n - 1] + (wave[n - 1] - wave[n - 2]) / 2;
  return (wave[i - 1] + wave[i]) / 2;
}

/** Index of the first element >= x in a sorted array. */
export function lowerBound(arr, x) {
  let lo = 0, hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/**
 * Lines at redshift z: each gets `wave`, its observed wavelength in um = rest[A] * (1 + z) / 1e4.
 * @param {{rest: number, priority: number}[]} lines
 */
export function observedLines(lines, z, minPriority = -Infinity) {
  if (z === null || z === undefined || !Number.isFinite(z)) return [];
  return lines
    .filter((ln) => ln.priority >= minPriority)
    .map((ln) => ({ ...ln, wave: (ln.rest * (1 + z)) / 1e4 }));
}

/** The redshift that puts a line of rest wavelength restA [A] at waveUm [um] (never below 0). */
export function redshiftForLine(waveUm, restA) {
  return Math.max(0, (waveUm * 1e4) / restA - 1);
}

/**
 * Place line labels without overlaps. Labels with the same text closer than their width merge
 * (doublets such as [OII], or [NII] around Hα); the rest go, strongest first, to the first row
 * where they overlap nothing; a label that fits in no row is hidden (its line is still drawn).
 * @param {{x: number, width: number, label: string, priority?: number}[]} items
 * @param {{maxRows?: number, gap?: number}} opts
 * @returns {{x: number, width: number, label: string, priority: number, row: number,
 *            visible: boolean, members: object[]}[]}
 */
export function placeLabels(items, { maxRows = LABEL_ROWS, gap = 4 } = {}) {
  const sorted = [...items].sort((a, b) => a.x - b.x);
  const groups = [];
  const open = new Map(); // label -> its latest group
  for (const it of sorted) {
    const g = open.get(it.label);
    if (g && it.x - g.members[g.members.length - 1].x < it.width) {
      g.members.push(it);
      g.x = g.members.reduce((s, m) => s + m.x, 0) / g.members.length;
      g.priority = Math.max(g.priority, it.priority ?? 0);
    } else {
      const fresh = { x: it.x, width: it.width, label: it.label, priority: it.priority ?? 0, members: [it], row: -1, visible: false };
      groups.push(fresh);
      open.set(it.label, fresh);
    }
  }
  const rows = Array.from({ length: maxRows }, () => []);
  const order = [...groups].sort((a, b) => b.priority - a.priority || a.x - b.x);
  for (const g of order) {
    const left = g.x - g.width / 2, right = g.x + g.width / 2;
    for (let r = 0; r < maxRows; r++) {
      if (rows[r].every(([l, rr]) => right + gap <= l || left >= rr + gap)) {
        rows[r].push([left, right]);
        g.row = r;
        g.visible = true;
        break;
      }
    }
  }
  return groups;
}

/** A grey-scale image (high flux dark) of 8-bit levels; no-data pixels transparent. */
export function levelsToRGBA(levels) {
  const out = new Uint8ClampedArray(levels.length * 4);
  for (let i = 0; i < levels.length; i++) {
    const v = levels[i];
    const c = 255 - v;
    out[4 * i] = c; out[4 * i + 1] = c; out[4 * i + 2] = c;
    out[4 * i + 3] = v === NO_DATA ? 0 : 255;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// the plot's geometry and interaction: pure functions of plain values (unit-tested without a DOM)

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
 * @param {number} smoothing  boxcar width in pixels
 * @returns {{series: {flux: Float64Array, err: Float64Array}[], exponent: number}}
 */
export function displayFlux(traces, fluxUnit, smoothing) {
  const flam = fluxUnit === "flambda";
  const series = traces.map((t) => {
    const s = smooth(t.fnu, t.err, smoothing);
    return flam ? { flux: fnuToFlam(s.flux, t.wave), err: fnuToFlam(s.err, t.wave) } : s;
  });
  const exponent = flam ? powerOfTen(series.map((s) => s.flux)) : 0;
  if (exponent) {
    const scale = Math.pow(10, -exponent);
    for (const s of series) for (let i = 0; i < s.flux.length; i++) { s.flux[i] *= scale; s.err[i] *= scale; }
  }
  return { series, exponent };
}

/** The y range for what is on screen: autoRange over the visible traces' pixels in window xr. */
export function yRangeFor(traces, xr) {
  const values = [];
  for (const t of traces) {
    if (!t.visible) continue;
    const [a, b] = visibleSpan(t, xr);
    for (let i = a; i < b; i++) values.push(t.flux[i]);
  }
  return autoRange(values);
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

/** The readout under the mouse: "λ 1.2345 µm, rest 4115.2 Å" (no rest without a redshift). */
export function readoutText(wave, z) {
  const rest = z === null || z === undefined ? "" : `, rest ${((wave * 1e4) / (1 + z)).toFixed(1)} Å`;
  return `λ ${wave.toFixed(4)} µm${rest}`;
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

/** Height [px] of the strip of a 2D spectrum with ny rows: 3 px a row, within 24-72. */
export function stripHeight(ny) {
  return Math.max(24, Math.min(72, ny * 3));
}

/**
 * Traces from the `traces` trait: float32 buffers decoded, a colour per grating, the 2D
 * spectrum's column edges; the spectra whose ids are in `hidden` stay hidden.
 * @param {object[]} list  the trait's dicts (spectrum_id, grating, n, wave, fnu, err, sci2d, ny, nx, bin)
 * @param {Set<string>} hidden
 */
export function decodeTraces(list, hidden = new Set()) {
  const colors = gratingColors(list.map((t) => t.grating));
  return list.map((t, i) => {
    const wave = decodeFloat32(t.wave);
    const tr = {
      id: t.spectrum_id, grating: t.grating, color: colors[i], n: t.n, wave,
      fnu: decodeFloat32(t.fnu), err: decodeFloat32(t.err), visible: !hidden.has(t.spectrum_id),
      sci: decodeBytes(t.sci2d), ny: t.ny, nx: t.nx, bin: t.bin, img: null, edges: null,
      flux: null, ferr: null,
    };
    if (tr.sci && tr.nx) tr.edges = columnEdges(wave, tr.n, tr.nx, tr.bin);
    return tr;
  });
}

// ---------------------------------------------------------------------------------------------
// the widget: module-level functions over one state object per view

/**
 * Everything one view of the widget holds.
 * @typedef {object} ViewerState
 * @property {object} model  the anywidget model
 * @property {ReturnType<typeof buildDom>} dom  the view's DOM nodes
 * @property {object[]} traces  decodeTraces() output, with `flux`/`ferr` as drawn (compute)
 * @property {number[]|null} view  the zoom window [x0, x1] um; null shows everything
 * @property {number|null} z  the redshift drawn (ahead of the model while the slider or a line moves)
 * @property {string} zError  why a typed redshift was refused ("" when it was not)
 * @property {number[]} yRange  the y range of the last base drawing
 * @property {number} exponent  the f_lambda axis' power of ten
 * @property {{x: number, rest: number, name: string}[]} lineHits  the lines drawn (linesInWindow), for grabbing
 * @property {null|{kind: "line", rest: number}|{kind: "pan", px: number, start: number[]}} drag
 * @property {number} width  the canvases' width in CSS pixels
 * @property {Map<string, number>} textWidths  line label widths measured so far
 * @property {{count: number, total: number, max: number}} stats  overlay drawing times (ms)
 * @property {number} frame  the pending animation frame (0: none)
 * @property {{base: boolean, over: boolean, two: boolean}} dirty  layers to draw in that frame
 * @property {number} saveTimer  the pending x_range save
 * @property {CanvasPattern|null} hatch  the masked-pixel pattern
 */

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function option(select, value, text) {
  const o = h("option", null, text);
  o.value = value;
  select.appendChild(o);
}

function checkbox(cls, text, tip) {
  const label = h("label", cls);
  const box = h("input");
  box.type = "checkbox";
  label.title = tip;
  label.append(box, document.createTextNode(" " + text));
  return [label, box];
}

/** The view's DOM (tool bar, legend, message, plot canvases, 2D canvas, readout), in el. */
function buildDom(el) {
  const root = h("div", "cf-sv");
  const bar = h("div", "cf-sv-bar");
  const title = h("span", "cf-sv-title");
  const zBox = h("label", "cf-sv-zbox", "z ");
  const zInput = h("input", "cf-sv-z");
  Object.assign(zInput, { type: "text", inputMode: "decimal", size: 7, title: "redshift: type a value and press Enter, or drag a line" });
  const zSlider = h("input", "cf-sv-zslider");
  Object.assign(zSlider, { type: "range", min: "0", max: "12", step: "0.0001", title: "drag to move the lines" });
  zBox.append(zInput, zSlider);
  const unit = h("select", "cf-sv-unit");
  option(unit, "fnu", "fν [µJy]");
  option(unit, "flambda", "fλ [erg/s/cm²/Å]");
  const smoothSel = h("select", "cf-sv-smooth");
  for (const w of [0, 3, 5, 9, 15, 25]) option(smoothSel, String(w), w ? `smooth ${w} px` : "no smoothing");
  const [linesLabel, linesBox] = checkbox("cf-sv-lines", "lines", "show emission lines");
  const [twoLabel, twoBox] = checkbox("cf-sv-2d", "2D", "show the 2D spectra");
  const [holdLabel, holdBox] = checkbox("cf-sv-hold", "hold rest zoom", "keep the rest-frame window when the object changes");
  const reset = h("button", "cf-sv-reset", "Reset zoom");
  reset.type = "button";
  bar.append(title, zBox, unit, smoothSel, linesLabel, twoLabel, holdLabel, reset);
  const legend = h("div", "cf-sv-legend");
  const message = h("div", "cf-sv-message");
  const plot = h("div", "cf-sv-plot");
  const base = h("canvas", "cf-sv-base");
  const over = h("canvas", "cf-sv-over");
  plot.append(base, over);
  const twoD = h("canvas", "cf-sv-twod");
  const readout = h("div", "cf-sv-readout");
  root.append(bar, legend, message, plot, twoD, readout);
  el.appendChild(root);
  return { root, title, zInput, zSlider, unit, smoothSel, linesBox, twoBox, holdBox, reset, legend, message, plot, base, over, twoD, readout };
}

/** @returns {ViewerState} */
function createState(model, el) {
  const dom = buildDom(el);
  return {
    model, dom, traces: [], view: windowFromRange(model.get("x_range")), z: model.get("redshift"),
    zError: "", yRange: [0, 1], exponent: 0, lineHits: [], drag: null,
    width: Math.floor(dom.plot.clientWidth || 600) || 600, textWidths: new Map(),
    stats: { count: 0, total: 0, max: 0 }, frame: 0, dirty: { base: false, over: false, two: false },
    saveTimer: 0, hatch: null,
  };
}

const rectOf = (s) => plotRect(s.width, s.model.get("height"));
const windowOf = (s) => viewWindow(s.view, s.traces);
const hasZ = (s) => s.z !== null && s.z !== undefined;

// -- data

function decode(s) {
  const hidden = new Set(s.traces.filter((t) => !t.visible).map((t) => t.id));
  s.traces = decodeTraces(s.model.get("traces") || [], hidden);
  s.dom.legend.replaceChildren(...s.traces.map((t) => legendChip(s, t)));
  compute(s);
}

function legendChip(s, t) {
  const chip = h("span", "cf-sv-chip" + (t.visible ? "" : " cf-off"), t.grating || t.id);
  chip.style.setProperty("--chip", t.color);
  chip.title = `${t.id}: click to show or hide`;
  chip.addEventListener("click", () => { t.visible = !t.visible; chip.classList.toggle("cf-off", !t.visible); redraw(s); });
  return chip;
}

function compute(s) {
  const { series, exponent } = displayFlux(s.traces, s.model.get("flux_unit"), s.model.get("smoothing"));
  s.traces.forEach((t, i) => { t.flux = series[i].flux; t.ferr = series[i].err; });
  s.exponent = exponent;
}

// -- drawing

function sizeCanvas(canvas, w, hgt) {
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(hgt * dpr);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${hgt}px`;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

function hatchPattern(s, ctx) {
  if (s.hatch) return s.hatch;
  const tile = document.createElement("canvas");
  tile.width = tile.height = 8;
  const t = tile.getContext("2d");
  t.strokeStyle = "rgba(128,128,128,0.45)";
  t.beginPath(); t.moveTo(0, 8); t.lineTo(8, 0); t.stroke();
  s.hatch = ctx.createPattern(tile, "repeat");
  return s.hatch;
}

/** The base layer: axes, ticks, masked pixels, error bands and the spectra. */
function drawBase(s) {
  const height = s.model.get("height");
  const ctx = sizeCanvas(s.dom.base, s.width, height);
  const r = rectOf(s);
  const xr = windowOf(s);
  const fg = getComputedStyle(s.dom.root).color || "#222";
  ctx.clearRect(0, 0, s.width, height);
  s.yRange = yRangeFor(s.traces, xr);
  const yr = s.yRange;
  ctx.font = FONT;
  ctx.fillStyle = fg;
  ctx.strokeStyle = "rgba(128,128,128,0.25)";
  ctx.lineWidth = 1;
  const xt = axisTicks(xr[0], xr[1], tickCount(r.w, 80));
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  xt.values.forEach((v, i) => {
    const px = waveToPx(v, r, xr);
    ctx.beginPath(); ctx.moveTo(px, r.y); ctx.lineTo(px, r.y + r.h); ctx.stroke();
    ctx.fillText(xt.labels[i], px, r.y + r.h + 4);
  });
  ctx.fillText("observed wavelength [µm]", r.x + r.w / 2, r.y + r.h + 18);
  const yt = axisTicks(yr[0], yr[1], tickCount(r.h, 40));
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  yt.values.forEach((v, i) => {
    const py = fluxToPy(v, r, yr);
    ctx.beginPath(); ctx.moveTo(r.x, py); ctx.lineTo(r.x + r.w, py); ctx.stroke();
    ctx.fillText(yt.labels[i], r.x - 4, py);
  });
  ctx.save();
  ctx.translate(12, r.y + r.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = "center";
  ctx.fillText(fluxAxisTitle(s.model.get("flux_unit"), s.exponent), 0, 0);
  ctx.restore();
  ctx.strokeStyle = fg;
  ctx.strokeRect(r.x, r.y, r.w, r.h);
  ctx.save();
  ctx.beginPath(); ctx.rect(r.x, r.y, r.w, r.h); ctx.clip();
  if (yr[0] < 0 && yr[1] > 0) {
    ctx.strokeStyle = "rgba(128,128,128,0.6)";
    ctx.beginPath(); ctx.moveTo(r.x, fluxToPy(0, r, yr)); ctx.lineTo(r.x + r.w, fluxToPy(0, r, yr)); ctx.stroke();
  }
  ctx.fillStyle = hatchPattern(s, ctx);
  for (const t of s.traces) {
    if (!t.visible) continue;
    for (const [x, w] of maskedBoxes(t, r, xr)) ctx.fillRect(x, r.y, w, r.h);
  }
  for (const t of s.traces) if (t.visible) drawTrace(ctx, t, r, xr, yr);
  ctx.restore();
  s.dom.root.dataset.yRange = yr.map((v) => v.toPrecision(4)).join(",");
}

/** One spectrum: its error band (translucent) and its flux, broken at masked pixels. */
function drawTrace(ctx, t, r, xr, yr) {
  const [a, b] = visibleSpan(t, xr);
  const runs = finiteRuns(t.flux, a, b);
  const px = (k) => waveToPx(t.wave[k], r, xr);
  ctx.fillStyle = t.color;
  ctx.globalAlpha = 0.18;
  for (const [start, end] of runs) {
    ctx.beginPath();
    for (let k = start; k < end; k++) ctx.lineTo(px(k), fluxToPy(t.flux[k] + t.ferr[k], r, yr));
    for (let k = end - 1; k >= start; k--) ctx.lineTo(px(k), fluxToPy(t.flux[k] - t.ferr[k], r, yr));
    ctx.closePath();
    ctx.fill();
  }
  ctx.globalAlpha = 1;
  ctx.strokeStyle = t.color;
  ctx.lineWidth = 1.1;
  ctx.beginPath();
  for (const [start, end] of runs) {
    ctx.moveTo(px(start), fluxToPy(t.flux[start], r, yr));
    for (let k = start + 1; k < end; k++) ctx.lineTo(px(k), fluxToPy(t.flux[k], r, yr));
  }
  ctx.stroke();
}

function labelWidth(s, ctx, text) {
  if (!s.textWidths.has(text)) s.textWidths.set(text, ctx.measureText(text).width + 6);
  return s.textWidths.get(text);
}

/** The overlay: emission lines at the current redshift, their labels and the rest-frame axis. */
function drawOverlay(s) {
  const t0 = performance.now();
  const { model, dom } = s;
  const height = model.get("height");
  const ctx = sizeCanvas(dom.over, s.width, height);
  ctx.clearRect(0, 0, s.width, height);
  const r = rectOf(s);
  const xr = windowOf(s);
  ctx.font = FONT;
  let shown = [];
  if (model.get("show_lines") && hasZ(s)) {
    shown = linesInWindow(model.get("lines") || [], s.z, model.get("line_priority"), xr, r);
    drawLines(ctx, shown, r);
    dom.root.dataset.labelsShown = String(drawLabels(s, ctx, shown, r));
    drawRestAxis(s, ctx, r, xr);
  }
  s.lineHits = shown;
  dom.root.dataset.linesDrawn = String(shown.length);
  dom.root.dataset.lineXs = s.lineHits.map((hit) => hit.x.toFixed(1)).join(","); // for browser tests
  dom.root.dataset.redshift = hasZ(s) ? s.z.toFixed(5) : "";
  const ms = performance.now() - t0;
  s.stats.count++; s.stats.total += ms; s.stats.max = Math.max(s.stats.max, ms);
  dom.root.dataset.overlayMs = (s.stats.total / s.stats.count).toFixed(3);
  dom.root.dataset.overlayMaxMs = s.stats.max.toFixed(3);
}

function drawLines(ctx, shown, r) {
  ctx.setLineDash([4, 3]);
  ctx.lineWidth = 1;
  ctx.globalAlpha = 0.7;
  for (const ln of shown) {
    ctx.strokeStyle = ln.color;
    ctx.beginPath(); ctx.moveTo(ln.x, r.y); ctx.lineTo(ln.x, r.y + r.h); ctx.stroke();
  }
  ctx.setLineDash([]);
  ctx.globalAlpha = 1;
}

/** Line labels in rows above the plot, each tied to its line; returns how many are shown. */
function drawLabels(s, ctx, shown, r) {
  for (const ln of shown) ln.width = labelWidth(s, ctx, ln.label);
  const placed = placeLabels(shown, { maxRows: LABEL_ROWS, gap: 3 });
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  let count = 0;
  for (const g of placed) {
    if (!g.visible) continue;
    count++;
    const y = labelRowTop(g.row);
    ctx.fillStyle = g.members[0].color;
    ctx.fillText(g.label, g.x, y);
    ctx.globalAlpha = 0.35;
    ctx.strokeStyle = g.members[0].color;
    ctx.beginPath(); ctx.moveTo(g.x, y + ROW_HEIGHT - 1); ctx.lineTo(g.x, r.y); ctx.stroke();
    ctx.globalAlpha = 1;
  }
  return count;
}

function drawRestAxis(s, ctx, r, xr) {
  const fg = getComputedStyle(s.dom.root).color || "#222";
  ctx.fillStyle = fg; ctx.strokeStyle = fg;
  ctx.textBaseline = "bottom";
  for (const tick of restTicks(xr, s.z, tickCount(r.w, 90))) {
    const px = waveToPx(tick.wave, r, xr);
    ctx.beginPath(); ctx.moveTo(px, r.y); ctx.lineTo(px, r.y + 4); ctx.stroke();
    ctx.fillText(tick.label, px, r.y - 1);
  }
  ctx.textAlign = "right";
  ctx.fillText("rest [Å]", r.x - 4, r.y - 1);
}

/** The 2D spectra, one strip each under the plot, columns aligned with the wavelength axis. */
function draw2D(s) {
  const { twoD } = s.dom;
  const strips = s.model.get("show_2d") ? s.traces.filter((t) => t.visible && t.sci && t.nx) : [];
  if (!strips.length) { twoD.style.display = "none"; return; }
  twoD.style.display = "block";
  const total = strips.reduce((sum, t) => sum + stripHeight(t.ny) + 4, 0);
  const ctx = sizeCanvas(twoD, s.width, total);
  ctx.clearRect(0, 0, s.width, total);
  ctx.imageSmoothingEnabled = false;
  const r = rectOf(s);
  const xr = windowOf(s);
  ctx.font = FONT;
  let y = 0;
  for (const t of strips) {
    const hgt = stripHeight(t.ny);
    if (!t.img) {
      t.img = document.createElement("canvas");
      t.img.width = t.nx; t.img.height = t.ny;
      t.img.getContext("2d").putImageData(new ImageData(levelsToRGBA(t.sci), t.nx, t.ny), 0, 0);
    }
    ctx.fillStyle = "rgba(128,128,128,0.15)";
    ctx.fillRect(r.x, y, r.w, hgt);
    ctx.save();
    ctx.beginPath(); ctx.rect(r.x, y, r.w, hgt); ctx.clip();
    const [first, last] = columnSpan(t.edges, t.nx, xr);
    for (let j = first; j < last; j++) {
      const x0 = waveToPx(t.edges[j], r, xr), x1 = waveToPx(t.edges[j + 1], r, xr);
      ctx.drawImage(t.img, j, 0, 1, t.ny, x0, y, Math.max(1, x1 - x0 + 0.5), hgt);
    }
    ctx.restore();
    ctx.fillStyle = t.color;
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    ctx.fillText(t.grating, r.x - 4, y + hgt / 2);
    y += hgt + 4;
  }
}

/** Draw the layers asked for (base, overlay, 2D) in the next animation frame, once. */
function schedule(s, layers) {
  const { dirty } = s;
  dirty.base ||= layers.base; dirty.over ||= layers.over; dirty.two ||= layers.two;
  if (s.frame) return;
  s.frame = requestAnimationFrame(() => {
    s.frame = 0;
    if (dirty.base) drawBase(s);
    if (dirty.over) drawOverlay(s);
    if (dirty.two) draw2D(s);
    dirty.base = dirty.over = dirty.two = false;
  });
}
const ALL = Object.freeze({ base: true, over: true, two: true });
const OVERLAY = Object.freeze({ base: false, over: true, two: false });
const TWO_D = Object.freeze({ base: false, over: false, two: true });
const redraw = (s) => schedule(s, ALL);

// -- controls and the model

function showZ(s) {
  const { zInput, zSlider } = s.dom;
  if (document.activeElement !== zInput) zInput.value = hasZ(s) ? s.z.toFixed(4) : "";
  zSlider.max = String(sliderMax(s.z));
  zSlider.value = hasZ(s) ? String(s.z) : "0";
  showMessage(s);
}

function showMessage(s) {
  s.dom.message.textContent = s.zError || s.model.get("message") || "";
  s.dom.message.classList.toggle("cf-error", Boolean(s.zError));
}

function commitZ(s) {
  s.model.set("redshift", s.z);
  s.model.save_changes();
}

function syncControls(s) {
  const { model, dom } = s;
  dom.title.textContent = model.get("title") || "";
  dom.unit.value = model.get("flux_unit");
  const smoothing = String(model.get("smoothing"));
  dom.smoothSel.value = smoothing;
  if (dom.smoothSel.value !== smoothing) {
    option(dom.smoothSel, smoothing, `smooth ${smoothing} px`);
    dom.smoothSel.value = smoothing;
  }
  dom.linesBox.checked = model.get("show_lines");
  dom.twoBox.checked = model.get("show_2d");
  dom.holdBox.checked = model.get("hold_rest_zoom");
  showZ(s);
}

function saveView(s) {
  clearTimeout(s.saveTimer);
  s.saveTimer = setTimeout(() => {
    s.model.set("x_range", s.view ? [s.view[0], s.view[1]] : []);
    s.model.save_changes();
  }, 250);
}

function setView(s, next) {
  s.view = next;
  redraw(s);
  saveView(s);
}

/** A redshift typed in the box (Enter or change): drawn and told to the kernel, or refused. */
function typedZ(s) {
  const parsed = parseRedshift(s.dom.zInput.value, s.z);
  if (parsed.error) {
    s.zError = parsed.error;
    showMessage(s);
    return;
  }
  s.zError = "";
  if (parsed.z === s.z) { showMessage(s); return; }
  s.z = parsed.z;
  showZ(s);
  schedule(s, OVERLAY);
  commitZ(s);
}

/** The slider moves the lines at once; the kernel hears of it when the slider is let go. */
function slideZ(s) {
  s.z = Number(s.dom.zSlider.value);
  s.zError = "";
  if (document.activeElement !== s.dom.zInput) s.dom.zInput.value = s.z.toFixed(4);
  schedule(s, OVERLAY);
}

/** Set a model trait from a control and send it. */
function saveTrait(s, name, value) {
  s.model.set(name, value);
  s.model.save_changes();
}

function wireControls(s) {
  const { dom } = s;
  // keys typed in our inputs are ours, not JupyterLab's notebook shortcuts
  dom.root.addEventListener("keydown", (ev) => { if (ev.target.matches("input, select, textarea")) ev.stopPropagation(); });
  dom.zInput.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); typedZ(s); } });
  dom.zInput.addEventListener("change", () => typedZ(s));
  dom.zSlider.addEventListener("input", () => slideZ(s));
  dom.zSlider.addEventListener("change", () => { showZ(s); commitZ(s); });
  dom.unit.addEventListener("change", () => saveTrait(s, "flux_unit", dom.unit.value));
  dom.smoothSel.addEventListener("change", () => saveTrait(s, "smoothing", Number(dom.smoothSel.value)));
  dom.linesBox.addEventListener("change", () => saveTrait(s, "show_lines", dom.linesBox.checked));
  dom.twoBox.addEventListener("change", () => saveTrait(s, "show_2d", dom.twoBox.checked));
  dom.holdBox.addEventListener("change", () => saveTrait(s, "hold_rest_zoom", dom.holdBox.checked));
  dom.reset.addEventListener("click", () => setView(s, null));
}

// -- mouse: the wheel zooms about the cursor, a drag pans, dragging a line changes z,
//    a double-click resets

function localX(s, ev) {
  return ev.clientX - s.dom.over.getBoundingClientRect().left;
}

function onWheel(s, ev) {
  ev.preventDefault();
  const xr = windowOf(s);
  setView(s, zoomWindow(xr, pxToWave(localX(s, ev), rectOf(s), xr), ev.deltaY));
}

function onMouseDown(s, ev) {
  const px = localX(s, ev);
  const hit = nearestLine(s.lineHits, px);
  s.drag = hit ? { kind: "line", rest: hit.rest } : { kind: "pan", px, start: windowOf(s) };
  ev.preventDefault();
}

function onMouseMove(s, ev) {
  const px = localX(s, ev);
  const r = rectOf(s);
  const { drag, dom } = s;
  if (!drag) {
    if (px >= r.x && px <= r.x + r.w) {
      dom.readout.textContent = readoutText(pxToWave(px, r, windowOf(s)), s.z);
      dom.over.style.cursor = nearestLine(s.lineHits, px) ? "ew-resize" : "grab";
    }
    return;
  }
  if (drag.kind === "line") {
    s.z = redshiftForLine(pxToWave(px, r, windowOf(s)), drag.rest);
    if (document.activeElement !== dom.zInput) dom.zInput.value = s.z.toFixed(4);
    dom.zSlider.value = String(s.z);
    schedule(s, OVERLAY);
  } else {
    s.view = panWindow(drag.start, px - drag.px, r.w);
    schedule(s, ALL);
  }
}

function onMouseUp(s) {
  if (!s.drag) return;
  if (s.drag.kind === "line") { showZ(s); commitZ(s); } else saveView(s);
  s.drag = null;
}

/** What each model change does to the view. */
function modelHandlers(s) {
  const { model } = s;
  const overlay = () => schedule(s, OVERLAY);
  const recompute = () => { syncControls(s); compute(s); redraw(s); };
  return {
    "change:traces": () => { decode(s); redraw(s); },
    "change:redshift": () => {
      if (s.drag) return;
      s.z = model.get("redshift");
      s.zError = "";
      showZ(s);
      overlay();
    },
    "change:flux_unit": recompute,
    "change:smoothing": recompute,
    "change:x_range": () => {
      const next = windowFromRange(model.get("x_range"));
      if (!sameWindow(next, s.view)) { s.view = next; redraw(s); }
    },
    "change:show_lines": () => { syncControls(s); overlay(); },
    "change:lines": overlay,
    "change:line_priority": overlay,
    "change:show_2d": () => { syncControls(s); schedule(s, TWO_D); },
    "change:hold_rest_zoom": () => syncControls(s),
    "change:title": () => syncControls(s),
    "change:message": () => showMessage(s),
    "change:height": () => redraw(s),
  };
}

function render({ model, el }) {
  const s = createState(model, el);
  const { dom } = s;
  wireControls(s);
  const onMove = (ev) => onMouseMove(s, ev);
  const onUp = () => onMouseUp(s);
  dom.over.addEventListener("wheel", (ev) => onWheel(s, ev), { passive: false });
  dom.over.addEventListener("mousedown", (ev) => onMouseDown(s, ev));
  dom.over.addEventListener("dblclick", () => setView(s, null));
  window.addEventListener("mousemove", onMove);
  window.addEventListener("mouseup", onUp);
  const handlers = modelHandlers(s);
  for (const [ev, fn] of Object.entries(handlers)) model.on(ev, fn);
  const resize = new ResizeObserver(() => {
    const w = Math.floor(dom.plot.clientWidth || el.clientWidth || 600);
    if (w !== s.width && w > 50) { s.width = w; redraw(s); }
  });
  resize.observe(dom.plot);
  syncControls(s);
  decode(s);
  redraw(s);

  return () => {
    for (const [ev, fn] of Object.entries(handlers)) model.off(ev, fn);
    window.removeEventListener("mousemove", onMove);
    window.removeEventListener("mouseup", onUp);
    resize.disconnect();
    cancelAnimationFrame(s.frame);
    clearTimeout(s.saveTimer);
  };
}

export default { render };
