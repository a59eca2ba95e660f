// SpectrumViewer: spectra overlaid by grating, error bands, masked pixels, emission lines at a
// redshift that follows the mouse, f_nu/f_lambda, smoothing, zoom/pan, and the 2D spectra.
// Python side: campfire/widgets/spectrum_viewer.py. Pure functions are exported for tests.

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
  let lo = pick(qlo), hi = pick(qhi);
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
// the widget

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

function render({ model, el }) {
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
  const check = (cls, text, tip) => {
    const label = h("label", cls);
    const box = h("input");
    box.type = "checkbox";
    label.title = tip;
    label.append(box, document.createTextNode(" " + text));
    return [label, box];
  };
  const [linesLabel, linesBox] = check("cf-sv-lines", "lines", "show emission lines");
  const [twoLabel, twoBox] = check("cf-sv-2d", "2D", "show the 2D spectra");
  const [holdLabel, holdBox] = check("cf-sv-hold", "hold rest zoom", "keep the rest-frame window when the object changes");
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

  let traces = [];
  let view = null; // [x0, x1] um, null = everything
  let z = model.get("redshift");
  let zError = "";
  let yRange = [0, 1];
  let exponent = 0;
  let lineHits = []; // {x, rest} of drawn lines, for dragging
  let drag = null;
  let width = 600;
  const textWidths = new Map();
  const stats = { count: 0, total: 0, max: 0 };
  const margin = { left: 62, right: 12, top: LABEL_ROWS * ROW_HEIGHT + 20, bottom: 34 };

  function plotRect() {
    const height = model.get("height");
    return { x: margin.left, y: margin.top, w: Math.max(10, width - margin.left - margin.right), h: Math.max(10, height - margin.top - margin.bottom) };
  }
  function fullRange() {
    let lo = Infinity, hi = -Infinity;
    for (const t of traces) if (t.n) { lo = Math.min(lo, t.wave[0]); hi = Math.max(hi, t.wave[t.n - 1]); }
    if (!Number.isFinite(lo)) return [0.6, 5.3];
    const pad = (hi - lo) * 0.01;
    return [lo - pad, hi + pad];
  }
  const xView = () => view || fullRange();
  const toX = (wave, r = plotRect(), [x0, x1] = xView()) => r.x + ((wave - x0) / (x1 - x0)) * r.w;
  const fromX = (px, r = plotRect(), [x0, x1] = xView()) => x0 + ((px - r.x) / r.w) * (x1 - x0);

  function decode() {
    const list = model.get("traces") || [];
    const colors = gratingColors(list.map((t) => t.grating));
    const hidden = new Set(traces.filter((t) => !t.visible).map((t) => t.id));
    traces = list.map((t, i) => {
      const wave = decodeFloat32(t.wave);
      const tr = {
        id: t.spectrum_id, grating: t.grating, color: colors[i], n: t.n, wave,
        fnu: decodeFloat32(t.fnu), err: decodeFloat32(t.err), visible: !hidden.has(t.spectrum_id),
        sci: decodeBytes(t.sci2d), ny: t.ny, nx: t.nx, bin: t.bin, img: null, edges: null,
      };
      if (tr.sci && tr.nx) {
        tr.edges = new Float64Array(tr.nx + 1);
        for (let j = 0; j <= tr.nx; j++) tr.edges[j] = pixelEdge(wave, Math.min(tr.n, j * tr.bin));
      }
      return tr;
    });
    legend.replaceChildren(...traces.map((t) => {
      const chip = h("span", "cf-sv-chip" + (t.visible ? "" : " cf-off"), t.grating || t.id);
      chip.style.setProperty("--chip", t.color);
      chip.title = `${t.id}: click to show or hide`;
      chip.addEventListener("click", () => { t.visible = !t.visible; chip.classList.toggle("cf-off", !t.visible); redraw(); });
      return chip;
    }));
    compute();
  }

  function compute() {
    const flam = model.get("flux_unit") === "flambda";
    const w = model.get("smoothing");
    for (const t of traces) {
      const s = smooth(t.fnu, t.err, w);
      t.flux = flam ? fnuToFlam(s.flux, t.wave) : s.flux;
      t.ferr = flam ? fnuToFlam(s.err, t.wave) : s.err;
    }
    exponent = flam ? powerOfTen(traces.map((t) => t.flux)) : 0;
    const scale = Math.pow(10, -exponent);
    if (flam) for (const t of traces) for (let i = 0; i < t.n; i++) { t.flux[i] *= scale; t.ferr[i] *= scale; }
  }

  function visibleSpan(t, [x0, x1]) {
    return [Math.max(0, lowerBound(t.wave, x0) - 1), Math.min(t.n, lowerBound(t.wave, x1) + 1)];
  }

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

  let hatch = null;
  function hatchPattern(ctx) {
    if (hatch) return hatch;
    const tile = document.createElement("canvas");
    tile.width = tile.height = 8;
    const t = tile.getContext("2d");
    t.strokeStyle = "rgba(128,128,128,0.45)";
    t.beginPath(); t.moveTo(0, 8); t.lineTo(8, 0); t.stroke();
    hatch = ctx.createPattern(tile, "repeat");
    return hatch;
  }

  function drawBase() {
    const height = model.get("height");
    const ctx = sizeCanvas(base, width, height);
    const r = plotRect();
    const xr = xView();
    const fg = getComputedStyle(root).color || "#222";
    ctx.clearRect(0, 0, width, height);
    const values = [];
    for (const t of traces) {
      if (!t.visible) continue;
      const [a, b] = visibleSpan(t, xr);
      for (let i = a; i < b; i++) values.push(t.flux[i]);
    }
    yRange = autoRange(values);
    const toY = (v) => r.y + r.h - ((v - yRange[0]) / (yRange[1] - yRange[0])) * r.h;
    ctx.font = FONT;
    ctx.fillStyle = fg;
    ctx.strokeStyle = "rgba(128,128,128,0.25)";
    ctx.lineWidth = 1;
    const xt = niceTicks(xr[0], xr[1], Math.max(2, Math.floor(r.w / 80)));
    const xs = xt.length > 1 ? xt[1] - xt[0] : 1;
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const v of xt) {
      const px = toX(v, r, xr);
      ctx.beginPath(); ctx.moveTo(px, r.y); ctx.lineTo(px, r.y + r.h); ctx.stroke();
      ctx.fillText(tickLabel(v, xs), px, r.y + r.h + 4);
    }
    ctx.fillText("observed wavelength [µm]", r.x + r.w / 2, r.y + r.h + 18);
    const yt = niceTicks(yRange[0], yRange[1], Math.max(2, Math.floor(r.h / 40)));
    const ys = yt.length > 1 ? yt[1] - yt[0] : 1;
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (const v of yt) {
      const py = toY(v);
      ctx.beginPath(); ctx.moveTo(r.x, py); ctx.lineTo(r.x + r.w, py); ctx.stroke();
      ctx.fillText(tickLabel(v, ys), r.x - 4, py);
    }
    ctx.save();
    ctx.translate(12, r.y + r.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    const flam = model.get("flux_unit") === "flambda";
    const scaleText = exponent ? `10${superscript(exponent)} ` : "";
    ctx.fillText(flam ? `fλ [${scaleText}erg s⁻¹ cm⁻² Å⁻¹]` : "fν [µJy]", 0, 0);
    ctx.restore();
    ctx.strokeStyle = fg;
    ctx.strokeRect(r.x, r.y, r.w, r.h);
    ctx.save();
    ctx.beginPath(); ctx.rect(r.x, r.y, r.w, r.h); ctx.clip();
    if (yRange[0] < 0 && yRange[1] > 0) {
      ctx.strokeStyle = "rgba(128,128,128,0.6)";
      ctx.beginPath(); ctx.moveTo(r.x, toY(0)); ctx.lineTo(r.x + r.w, toY(0)); ctx.stroke();
    }
    ctx.fillStyle = hatchPattern(ctx);
    for (const t of traces) {
      if (!t.visible) continue;
      for (const [a, b] of maskedRuns(t.flux)) {
        const x0 = toX(pixelEdge(t.wave, a), r, xr), x1 = toX(pixelEdge(t.wave, b + 1), r, xr);
        if (x1 >= r.x && x0 <= r.x + r.w) ctx.fillRect(x0, r.y, Math.max(1, x1 - x0), r.h);
      }
    }
    for (const t of traces) {
      if (!t.visible) continue;
      const [a, b] = visibleSpan(t, xr);
      ctx.fillStyle = t.color;
      ctx.globalAlpha = 0.18;
      let i = a;
      while (i < b) {
        while (i < b && !Number.isFinite(t.flux[i])) i++;
        const start = i;
        while (i < b && Number.isFinite(t.flux[i])) i++;
        if (i - start < 1) continue;
        ctx.beginPath();
        for (let k = start; k < i; k++) ctx.lineTo(toX(t.wave[k], r, xr), toY(t.flux[k] + t.ferr[k]));
        for (let k = i - 1; k >= start; k--) ctx.lineTo(toX(t.wave[k], r, xr), toY(t.flux[k] - t.ferr[k]));
        ctx.closePath();
        ctx.fill();
      }
      ctx.globalAlpha = 1;
      ctx.strokeStyle = t.color;
      ctx.lineWidth = 1.1;
      ctx.beginPath();
      let pen = false;
      for (let k = a; k < b; k++) {
        const v = t.flux[k];
        if (!Number.isFinite(v)) { pen = false; continue; }
        const px = toX(t.wave[k], r, xr), py = toY(v);
        if (pen) ctx.lineTo(px, py); else ctx.moveTo(px, py);
        pen = true;
      }
      ctx.stroke();
    }
    ctx.restore();
    root.dataset.yRange = yRange.map((v) => v.toPrecision(4)).join(",");
  }

  function labelWidth(ctx, text) {
    if (!textWidths.has(text)) textWidths.set(text, ctx.measureText(text).width + 6);
    return textWidths.get(text);
  }

  function drawOverlay() {
    const t0 = performance.now();
    const height = model.get("height");
    const ctx = sizeCanvas(over, width, height);
    ctx.clearRect(0, 0, width, height);
    lineHits = [];
    const r = plotRect();
    const xr = xView();
    ctx.font = FONT;
    let shown = [];
    if (model.get("show_lines") && z !== null && z !== undefined) {
      shown = observedLines(model.get("lines") || [], z, model.get("line_priority"))
        .filter((ln) => ln.wave >= xr[0] && ln.wave <= xr[1]);
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = 1;
      for (const ln of shown) {
        const px = toX(ln.wave, r, xr);
        lineHits.push({ x: px, rest: ln.rest, name: ln.name });
        ctx.strokeStyle = ln.color;
        ctx.globalAlpha = 0.7;
        ctx.beginPath(); ctx.moveTo(px, r.y); ctx.lineTo(px, r.y + r.h); ctx.stroke();
      }
      ctx.setLineDash([]);
      ctx.globalAlpha = 1;
      const placed = placeLabels(
        shown.map((ln) => ({ x: toX(ln.wave, r, xr), width: labelWidth(ctx, ln.label), label: ln.label, priority: ln.priority, color: ln.color })),
        { maxRows: LABEL_ROWS, gap: 3 },
      );
      ctx.textAlign = "center"; ctx.textBaseline = "top";
      let visibleLabels = 0;
      for (const g of placed) {
        if (!g.visible) continue;
        visibleLabels++;
        const y = 2 + g.row * ROW_HEIGHT;
        ctx.fillStyle = g.members[0].color;
        ctx.fillText(g.label, g.x, y);
        ctx.globalAlpha = 0.35;
        ctx.strokeStyle = g.members[0].color;
        ctx.beginPath(); ctx.moveTo(g.x, y + ROW_HEIGHT - 1); ctx.lineTo(g.x, r.y); ctx.stroke();
        ctx.globalAlpha = 1;
      }
      root.dataset.labelsShown = String(visibleLabels);
      const fg = getComputedStyle(root).color || "#222";
      const rest = [(xr[0] * 1e4) / (1 + z), (xr[1] * 1e4) / (1 + z)];
      const rt = niceTicks(rest[0], rest[1], Math.max(2, Math.floor(r.w / 90)));
      const rs = rt.length > 1 ? rt[1] - rt[0] : 1;
      ctx.fillStyle = fg; ctx.strokeStyle = fg;
      ctx.textBaseline = "bottom";
      for (const v of rt) {
        const px = toX((v * (1 + z)) / 1e4, r, xr);
        ctx.beginPath(); ctx.moveTo(px, r.y); ctx.lineTo(px, r.y + 4); ctx.stroke();
        ctx.fillText(tickLabel(v, rs), px, r.y - 1);
      }
      ctx.textAlign = "right";
      ctx.fillText("rest [Å]", r.x - 4, r.y - 1);
    }
    root.dataset.linesDrawn = String(shown.length);
    root.dataset.lineXs = lineHits.map((hit) => hit.x.toFixed(1)).join(","); // for browser tests
    root.dataset.redshift = z === null || z === undefined ? "" : z.toFixed(5);
    const ms = performance.now() - t0;
    stats.count++; stats.total += ms; stats.max = Math.max(stats.max, ms);
    root.dataset.overlayMs = (stats.total / stats.count).toFixed(3);
    root.dataset.overlayMaxMs = stats.max.toFixed(3);
  }

  function draw2D() {
    const strips = model.get("show_2d") ? traces.filter((t) => t.visible && t.sci && t.nx) : [];
    if (!strips.length) { twoD.style.display = "none"; return; }
    twoD.style.display = "block";
    const stripH = (t) => Math.max(24, Math.min(72, t.ny * 3));
    const total = strips.reduce((s, t) => s + stripH(t) + 4, 0);
    const ctx = sizeCanvas(twoD, width, total);
    ctx.clearRect(0, 0, width, total);
    ctx.imageSmoothingEnabled = false;
    const r = plotRect();
    const xr = xView();
    ctx.font = FONT;
    let y = 0;
    for (const t of strips) {
      const hgt = stripH(t);
      if (!t.img) {
        t.img = document.createElement("canvas");
        t.img.width = t.nx; t.img.height = t.ny;
        t.img.getContext("2d").putImageData(new ImageData(levelsToRGBA(t.sci), t.nx, t.ny), 0, 0);
      }
      ctx.fillStyle = "rgba(128,128,128,0.15)";
      ctx.fillRect(r.x, y, r.w, hgt);
      ctx.save();
      ctx.beginPath(); ctx.rect(r.x, y, r.w, hgt); ctx.clip();
      const first = Math.max(0, lowerBound(t.edges, xr[0]) - 1);
      const last = Math.min(t.nx, lowerBound(t.edges, xr[1]) + 1);
      for (let j = first; j < last; j++) {
        const x0 = toX(t.edges[j], r, xr), x1 = toX(t.edges[j + 1], r, xr);
        ctx.drawImage(t.img, j, 0, 1, t.ny, x0, y, Math.max(1, x1 - x0 + 0.5), hgt);
      }
      ctx.restore();
      ctx.fillStyle = t.color;
      ctx.textAlign = "right"; ctx.textBaseline = "middle";
      ctx.fillText(t.grating, r.x - 4, y + hgt / 2);
      y += hgt + 4;
    }
  }

  let frame = 0;
  const dirty = { base: false, over: false, two: false };
  function schedule(base = true, overlay = true, two = true) {
    dirty.base ||= base; dirty.over ||= overlay; dirty.two ||= two;
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      if (dirty.base) drawBase();
      if (dirty.over) drawOverlay();
      if (dirty.two) draw2D();
      dirty.base = dirty.over = dirty.two = false;
    });
  }
  const redraw = () => schedule(true, true, true);

  function showZ() {
    const has = z !== null && z !== undefined;
    if (document.activeElement !== zInput) zInput.value = has ? z.toFixed(4) : "";
    zSlider.max = String(Math.max(12, Math.ceil((has ? z : 0) * 1.5)));
    zSlider.value = has ? String(z) : "0";
    showMessage();
  }
  function showMessage() {
    message.textContent = zError || model.get("message") || "";
    message.classList.toggle("cf-error", Boolean(zError));
  }
  function commitZ() {
    model.set("redshift", z);
    model.save_changes();
  }
  function syncControls() {
    title.textContent = model.get("title") || "";
    unit.value = model.get("flux_unit");
    smoothSel.value = String(model.get("smoothing"));
    if (smoothSel.value !== String(model.get("smoothing"))) {
      option(smoothSel, String(model.get("smoothing")), `smooth ${model.get("smoothing")} px`);
      smoothSel.value = String(model.get("smoothing"));
    }
    linesBox.checked = model.get("show_lines");
    twoBox.checked = model.get("show_2d");
    holdBox.checked = model.get("hold_rest_zoom");
    showZ();
  }

  let saveTimer = 0;
  function saveView() {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => {
      model.set("x_range", view ? [view[0], view[1]] : []);
      model.save_changes();
    }, 250);
  }
  function setView(next) {
    view = next;
    redraw();
    saveView();
  }

  // -- controls (keys typed in them are ours, not JupyterLab's notebook shortcuts)
  root.addEventListener("keydown", (ev) => { if (ev.target.matches("input, select, textarea")) ev.stopPropagation(); });
  function typedZ() {
    const text = zInput.value.trim();
    const value = Number(text);
    if (text === "" || !Number.isFinite(value) || value < 0 || value > 30) {
      zError = `"${text}" is not a redshift: type a number between 0 and 30 (z stays ${z === null || z === undefined ? "unset" : z.toFixed(4)})`;
      showMessage();
      return;
    }
    zError = "";
    if (value === z) { showMessage(); return; }
    z = value;
    showZ();
    schedule(false, true, false);
    commitZ();
  }
  zInput.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); typedZ(); } });
  zInput.addEventListener("change", typedZ);
  zSlider.addEventListener("input", () => {
    z = Number(zSlider.value);
    zError = "";
    if (document.activeElement !== zInput) zInput.value = z.toFixed(4);
    schedule(false, true, false);
  });
  zSlider.addEventListener("change", () => { showZ(); commitZ(); });
  unit.addEventListener("change", () => { model.set("flux_unit", unit.value); model.save_changes(); });
  smoothSel.addEventListener("change", () => { model.set("smoothing", Number(smoothSel.value)); model.save_changes(); });
  linesBox.addEventListener("change", () => { model.set("show_lines", linesBox.checked); model.save_changes(); });
  twoBox.addEventListener("change", () => { model.set("show_2d", twoBox.checked); model.save_changes(); });
  holdBox.addEventListener("change", () => { model.set("hold_rest_zoom", holdBox.checked); model.save_changes(); });
  reset.addEventListener("click", () => setView(null));

  // -- mouse: wheel zooms about the cursor, drag pans, drag a line to change z, double-click resets
  const local = (ev) => { const b = over.getBoundingClientRect(); return [ev.clientX - b.left, ev.clientY - b.top]; };
  const nearLine = (px) => lineHits.reduce((best, hit) => (Math.abs(hit.x - px) <= 5 && (!best || Math.abs(hit.x - px) < Math.abs(best.x - px)) ? hit : best), null);
  over.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const [px] = local(ev);
    const r = plotRect();
    const [x0, x1] = xView();
    const at = fromX(px, r, [x0, x1]);
    const f = Math.exp(Math.max(-1, Math.min(1, ev.deltaY * 0.0015)));
    setView([at - (at - x0) * f, at + (x1 - at) * f]);
  }, { passive: false });
  over.addEventListener("mousedown", (ev) => {
    const [px] = local(ev);
    const hit = nearLine(px);
    drag = hit ? { kind: "line", rest: hit.rest } : { kind: "pan", px, start: xView() };
    ev.preventDefault();
  });
  const onMove = (ev) => {
    const [px] = local(ev);
    const r = plotRect();
    if (!drag) {
      if (px >= r.x && px <= r.x + r.w) {
        const wave = fromX(px, r);
        const rest = z === null || z === undefined ? "" : `, rest ${((wave * 1e4) / (1 + z)).toFixed(1)} Å`;
        readout.textContent = `λ ${wave.toFixed(4)} µm${rest}`;
        over.style.cursor = nearLine(px) ? "ew-resize" : "grab";
      }
      return;
    }
    if (drag.kind === "line") {
      z = redshiftForLine(fromX(px, r), drag.rest);
      if (document.activeElement !== zInput) zInput.value = z.toFixed(4);
      zSlider.value = String(z);
      schedule(false, true, false);
    } else {
      const [x0, x1] = drag.start;
      const shift = ((px - drag.px) / r.w) * (x1 - x0);
      view = [x0 - shift, x1 - shift];
      schedule(true, true, true);
    }
  };
  const onUp = () => {
    if (!drag) return;
    if (drag.kind === "line") { showZ(); commitZ(); } else saveView();
    drag = null;
  };
  over.addEventListener("dblclick", () => setView(null));
  window.addEventListener("mousemove", onMove);
  window.addEventListener("mouseup", onUp);

  // -- model
  const handlers = {
    "change:traces": () => { decode(); redraw(); },
    "change:redshift": () => { if (!drag) { z = model.get("redshift"); zError = ""; showZ(); schedule(false, true, false); } },
    "change:flux_unit": () => { syncControls(); compute(); redraw(); },
    "change:smoothing": () => { syncControls(); compute(); redraw(); },
    "change:x_range": () => {
      const rng = model.get("x_range");
      const next = rng && rng.length === 2 ? [rng[0], rng[1]] : null;
      const same = (next === null && view === null) || (next && view && Math.abs(next[0] - view[0]) < 1e-9 && Math.abs(next[1] - view[1]) < 1e-9);
      if (!same) { view = next; redraw(); }
    },
    "change:show_lines": () => { syncControls(); schedule(false, true, false); },
    "change:lines": () => schedule(false, true, false),
    "change:line_priority": () => schedule(false, true, false),
    "change:show_2d": () => { syncControls(); schedule(false, false, true); },
    "change:hold_rest_zoom": syncControls,
    "change:title": syncControls,
    "change:message": showMessage,
    "change:height": redraw,
  };
  for (const [ev, fn] of Object.entries(handlers)) model.on(ev, fn);

  const resize = new ResizeObserver(() => {
    const w = Math.floor(plot.clientWidth || el.clientWidth || 600);
    if (w !== width && w > 50) { width = w; redraw(); }
  });
  resize.observe(plot);
  width = Math.floor(plot.clientWidth || 600) || 600;
  const rng = model.get("x_range");
  view = rng && rng.length === 2 ? [rng[0], rng[1]] : null;
  syncControls();
  decode();
  redraw();

  return () => {
    for (const [ev, fn] of Object.entries(handlers)) model.off(ev, fn);
    window.removeEventListener("mousemove", onMove);
    window.removeEventListener("mouseup", onUp);
    resize.disconnect();
    cancelAnimationFrame(frame);
    clearTimeout(saveTimer);
  };
}

export default { render };
