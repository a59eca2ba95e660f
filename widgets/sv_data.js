// SpectrumViewer, its data: decoding the wire buffers, flux units, smoothing (boxcar and
// Gaussian), the robust y range, masked pixels, emission lines and their labels, 2D levels.
// Pure functions over arrays (tested with node --test); bundled with the viewer's other modules
// into one ES module by campfire/views/widgets/_assets.py.

/** Level of a 2D pixel with no data (levels 0-254 span [vmin, vmax]). */
export const NO_DATA = 255;
/** f_lambda [erg/s/cm2/A] = f_nu [uJy] * FLAM_PER_UJY_UM2 / lambda[um]^2 */
export const FLAM_PER_UJY_UM2 = 2.99792458e-19;
export const ROW_HEIGHT = 13;
export const LABEL_ROWS = 4;
export const FONT = "11px sans-serif";
/** Speed of light in km/s. */
export const C_KMS = 299792.458;
const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

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

/**
 * NaN-aware Gaussian smoothing: each unmasked pixel becomes the weighted mean of the unmasked
 * pixels within 4 sigma (weights exp(-d^2 / 2 sigma^2)), its error sqrt(sum w^2 err^2) / sum w;
 * masked pixels stay NaN. sigma is in pixels (<= 0: a copy).
 * @param {ArrayLike<number>} flux
 * @param {ArrayLike<number>} err
 * @param {number} sigma
 */
export function gaussianSmooth(flux, err, sigma) {
  const n = flux.length;
  const f = new Float64Array(n);
  const e = new Float64Array(n);
  if (!(sigma > 0)) {
    for (let i = 0; i < n; i++) { f[i] = flux[i]; e[i] = err[i]; }
    return { flux: f, err: e };
  }
  const half = Math.max(1, Math.ceil(4 * sigma));
  const w = new Float64Array(2 * half + 1);
  for (let k = -half; k <= half; k++) w[k + half] = Math.exp(-(k * k) / (2 * sigma * sigma));
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(flux[i])) { f[i] = NaN; e[i] = NaN; continue; }
    let sw = 0, sf = 0, se = 0;
    const lo = Math.max(0, i - half), hi = Math.min(n - 1, i + half);
    for (let j = lo; j <= hi; j++) {
      if (!Number.isFinite(flux[j])) continue;
      const wj = w[j - i + half];
      const ej = Number.isFinite(err[j]) ? err[j] : 0;
      sw += wj; sf += wj * flux[j]; se += wj * wj * ej * ej;
    }
    f[i] = sf / sw;
    e[i] = Math.sqrt(se) / sw;
  }
  return { flux: f, err: e };
}

/** The median of Δλ/λ between neighbouring pixels (a spectrum's resolution element in ln λ). */
export function medianDlnLambda(wave) {
  const d = [];
  for (let i = 1; i < wave.length; i++) if (wave[i] > 0 && wave[i - 1] > 0) d.push(Math.log(wave[i] / wave[i - 1]));
  if (!d.length) return NaN;
  d.sort((a, b) => a - b);
  return d[d.length >> 1];
}

/**
 * Smoothing as asked ({kind: "none"|"boxcar"|"gauss_px"|"gauss_kms", value}) of one spectrum.
 * A σ in km/s becomes pixels through the spectrum's median Δλ/λ per pixel: σ_px = σ/c / Δlnλ.
 */
export function smoothSpectrum(flux, err, wave, smoothing) {
  const { kind = "boxcar", value = 0 } = smoothing || {};
  if (kind === "gauss_px") return gaussianSmooth(flux, err, value);
  if (kind === "gauss_kms") return gaussianSmooth(flux, err, value / C_KMS / medianDlnLambda(wave));
  return smooth(flux, err, kind === "none" ? 0 : value);
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

/**
 * The highest value a real feature reaches among indices [a, b): max over i of
 * min(v[i], v[i+1]) where both pixels are detected (value > nsigma × error, when errors are
 * given). A line keeps its peak in view; a lone hot pixel or cosmic ray (one pixel) and the
 * noise of a faint spectrum do not stretch the axis. -Infinity when nothing qualifies.
 */
export function peakValue(values, a = 0, b = values.length, err = null, nsigma = 5) {
  let best = -Infinity;
  const detected = (i) => !err || !Number.isFinite(err[i]) || values[i] > nsigma * err[i];
  for (let i = a; i < b - 1; i++) {
    const lo = Math.min(values[i], values[i + 1]);
    if (Number.isFinite(lo) && lo > best && detected(i) && detected(i + 1)) best = lo;
  }
  return best;
}

/** The y range [lo, hi] that holds the bulk (quantiles) and the peak, padded 8% and 12%. */
export function robustRange(values, peak, qlo = 0.005, qhi = 0.995) {
  const finite = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finite.push(values[i]);
  if (!finite.length) return [0, 1];
  finite.sort((x, y) => x - y);
  const pick = (q) => finite[Math.min(finite.length - 1, Math.max(0, Math.round(q * (finite.length - 1))))];
  const lo = pick(qlo);
  const hi = Math.max(pick(qhi), Number.isFinite(peak) ? peak : -Infinity);
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

/**
 * The family a line belongs to in the line-list control: "H" (Lyman, Balmer, Paschen,
 * Brackett), "He", "forbidden" ([X], X]) or "other".
 */
export function lineGroup(label) {
  const t = String(label || "");
  if (/^(Ly|H[αβγδεζη0-9]|H\d|Pa|Br)/.test(t)) return "H";
  if (t.startsWith("He")) return "He";
  if (t.includes("[") || t.includes("]")) return "forbidden";
  return "other";
}

/** A custom line typed as "name wavelength" (rest Å, e.g. "FeII* 2612.6"): {label, rest} or {error}. */
export function parseCustomLine(text) {
  const m = String(text || "").trim().match(/^(.*?)[\s,]+([0-9]+(?:\.[0-9]*)?)\s*(?:Å|A)?$/);
  const rest = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || !(rest >= 500 && rest <= 60000)) {
    return { error: `"${text}": type a name and a rest wavelength in Å between 500 and 60000, e.g. "FeII* 2612.6"` };
  }
  return { label: m[1].trim(), rest };
}

/**
 * The lines the viewer draws: the list's own (minus hidden labels and groups) plus the custom
 * ones (drawn always, priority 9, in the theme's text colour).
 */
export function activeLines(lines, hidden, custom) {
  const off = new Set(hidden || []);
  const out = (lines || []).filter((ln) => !off.has(ln.label) && !off.has(`group:${lineGroup(ln.label)}`));
  for (const c of custom || []) out.push({ name: `custom-${c.label}`, label: c.label, rest: c.rest, priority: 9, color: c.color || "#cc79a7" });
  return out;
}

/**
 * Legend chip texts: the grating, and where a grating repeats, what tells its spectra apart
 * (the part of the spectrum id after what they share, else #1, #2).
 */
export function chipLabels(items) {
  const byGrating = new Map();
  for (const it of items) byGrating.set(it.grating, (byGrating.get(it.grating) || 0) + 1);
  const count = new Map();
  return items.map((it) => {
    const g = it.grating || it.id || "?";
    if (byGrating.get(it.grating) < 2) return g;
    const nth = (count.get(it.grating) || 0) + 1;
    count.set(it.grating, nth);
    const ids = items.filter((o) => o.grating === it.grating).map((o) => String(o.id || ""));
    let k = 0;
    while (ids.every((x) => x[k] === ids[0][k]) && k < ids[0].length) k++;
    const tail = String(it.id || "").slice(k).replace(/^[-_.]+/, "");
    return `${g} · ${tail || "#" + nth}`;
  });
}

/**
 * A 2D spectrum's 8-bit levels (ny rows of nx) as RGBA through a stretch ("linear", "sqrt",
 * "asinh") and a colour map ("grey": high flux dark, as in print; "inverted"; "viridis"),
 * flipped so that row 0 is at the bottom (FITS / origin="lower"); no-data pixels transparent.
 */
export function levelsToRGBAStretched(levels, nx, ny, stretch = "linear", cmap = "grey") {
  const lut = new Uint8ClampedArray(256 * 4);
  for (let v = 0; v < 255; v++) {
    lut.set([...colormap(cmap, stretched(v / 254, stretch)), 255], 4 * v);
  }
  lut.set([0, 0, 0, 0], 4 * 255);
  const out = new Uint8ClampedArray(nx * ny * 4);
  for (let row = 0; row < ny; row++) {
    const src = row * nx, dst = (ny - 1 - row) * nx;
    for (let j = 0; j < nx; j++) {
      const v = levels[src + j];
      out.set(lut.subarray(4 * v, 4 * v + 4), 4 * (dst + j));
    }
  }
  return out;
}

/** A level in [0, 1] through a stretch: "linear", "sqrt" or "asinh" (asinh(10x)/asinh(10)). */
export function stretched(x, stretch) {
  if (stretch === "sqrt") return Math.sqrt(x);
  if (stretch === "asinh") return Math.asinh(10 * x) / Math.asinh(10);
  return x;
}

const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

/** A colour map at x in [0, 1]: [r, g, b]. */
export function colormap(name, x) {
  const t = Math.max(0, Math.min(1, x));
  if (name === "viridis") {
    const p = t * (VIRIDIS.length - 1), i = Math.min(VIRIDIS.length - 2, Math.floor(p)), f = p - i;
    return VIRIDIS[i].map((c, k) => Math.round(c + f * (VIRIDIS[i + 1][k] - c)));
  }
  const c = Math.round(255 * (name === "inverted" ? t : 1 - t));
  return [c, c, c];
}
