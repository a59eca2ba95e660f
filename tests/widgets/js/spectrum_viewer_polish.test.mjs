// Unit tests of the SpectrumViewer's issue-#14 behaviour (run: node --test tests/widgets/js/):
// the redshift box, the robust y range, masked-pixel bands, legend chips, the palette, Gaussian
// smoothing, axis units, box/y zoom, the line-list control and the CSV export.
// Expected values are hand computations, not the code's own output.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DASHES,
  GRATING_PALETTE,
  activeLines,
  boxZoom,
  chipLabels,
  colormap,
  contrast,
  csvText,
  gaussianSmooth,
  gratingStyles,
  levelsToRGBAStretched,
  lineGroup,
  maskedBands,
  medianDlnLambda,
  parseCustomLine,
  parseYLimits,
  peakValue,
  pixelAt,
  quantileRangeFor,
  robustRange,
  smoothSpectrum,
  stretched,
  stripHeight,
  stripRowToPy,
  themeOf,
  xAxis,
  xAxisTicks,
  yRangeFor,
  zBoxAction,
  zText,
  zoomY,
} from "../../../widgets/spectrum_viewer.js";

const close = (a, b, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

// -- defect 1: the redshift box never undoes a line drag

test("a blur after a line drag keeps the dragged redshift (the box shows what is drawn)", () => {
  // typed 3.0 + Enter, then a line drag to 3.5028: the box was given "3.5028"
  const shown = zText(3.50283);
  assert.equal(shown, "3.5028");
  // clicking elsewhere fires `change` with the box's text: nothing to do
  assert.deepEqual(zBoxAction("3.5028", shown, 3.50283), { action: "keep" });
  // the stale text the old code left in the box would have been applied; the new code never
  // leaves it there, and a genuinely typed value still applies
  assert.deepEqual(zBoxAction("3.0", shown, 3.50283), { action: "set", z: 3 });
  assert.equal(zBoxAction("three", shown, 3.50283).action, "error");
  assert.equal(zText(null), "");
});

// -- defect 2: the y range keeps line peaks

function spectrumWithLine() {
  // 1000 pixels of continuum 1 +- small ripple, a 3-pixel emission line of 40 at 500-502
  // and one hot pixel of 500 at 100
  const n = 1000;
  const wave = Float64Array.from({ length: n }, (_, i) => 1 + i * 0.001);
  const flux = Float64Array.from({ length: n }, (_, i) => 1 + 0.01 * Math.sin(i));
  flux[500] = 30; flux[501] = 40; flux[502] = 30;
  flux[100] = 500;
  const ferr = new Float64Array(n).fill(0.05);
  return { wave, flux, ferr, n, visible: true };
}

test("the automatic y range holds the strongest line, not a one-pixel spike", () => {
  const t = spectrumWithLine();
  const xr = [0.99, 2.01];
  const [, oldHi] = quantileRangeFor([t], xr);
  assert.ok(oldHi < 30, `the old quantile range clipped the line (top ${oldHi})`);
  const [lo, hi] = yRangeFor([t], xr);
  // the line's two-pixel peak is min(40, 30) = 30 ... its top pixel pair: (30,40),(40,30) -> 30
  assert.equal(peakValue(t.flux), 30);
  assert.equal(peakValue(t.flux, 0, 1000, t.ferr), 30);
  // noise: two neighbouring pixels of 0.5 with errors of 0.2 are not a detection at 5 sigma
  assert.equal(peakValue([0.1, 0.5, 0.5, 0.1], 0, 4, [0.2, 0.2, 0.2, 0.2]), -Infinity);
  assert.equal(peakValue([0.1, 0.5, 0.5, 0.1], 0, 4), 0.5);
  assert.ok(hi >= 30 && hi < 500, `range top ${hi}`);
  assert.ok(lo < 1);
  // padded 12% above: hi = 30 + 0.12 * (30 - q0.005)
  const q = [...t.flux].sort((a, b) => a - b)[Math.round(0.005 * 999)];
  close(hi, 30 + 0.12 * (30 - q), 1e-9);
});

test("robust range: no data gives [0, 1]; the peak only widens", () => {
  assert.deepEqual(robustRange([], -Infinity), [0, 1]);
  const [lo, hi] = robustRange([0, 1, 2, 3, 4], 2);
  close(lo, 0 - 0.08 * 4); close(hi, 4 + 0.12 * 4);
});

test("y zoom about a value, typed y limits, a box zoom", () => {
  // zoom in by e^-0.6 about 5 in [0, 10]
  const f = Math.exp(-0.6);
  const [a, b] = zoomY([0, 10], 5, -400);
  close(a, 5 - 5 * f); close(b, 5 + 5 * f);
  assert.deepEqual(parseYLimits("", ""), { y: null });
  assert.deepEqual(parseYLimits("-1", "2.5"), { y: [-1, 2.5] });
  assert.ok(parseYLimits("3", "1").error.includes("lower first"));
  assert.ok(parseYLimits("1", "").error);
  // plot area x 62..662 (600 px) for 1-4 um, y 72..272 (200 px) for flux 0-10
  const rect = { x: 62, y: 72, w: 600, h: 200 };
  const z = boxZoom(162, 122, 362, 222, rect, [1, 4], [0, 10]);
  close(z.x[0], 1.5); close(z.x[1], 2.5); // 100 px = 0.5 um
  close(z.y[0], 2.5); close(z.y[1], 7.5); // 50 px from the bottom = 2.5
  assert.equal(boxZoom(100, 100, 103, 200, rect, [1, 4], [0, 10]), null); // a click, not a box
});

// -- defect 3 and 6: palette, chips

test("grating palette: colour-blind-safe families, legible on light and dark", () => {
  for (const shades of Object.values(GRATING_PALETTE)) {
    for (const c of shades) {
      assert.ok(contrast(c, "#ffffff") >= 3, `${c} on white`);
      assert.ok(contrast(c, "#111111") >= 3, `${c} on JupyterLab dark`);
    }
  }
  // the old PRISM trace (#1a1a1a) was 1.1:1 on the dark background
  assert.ok(contrast("#1a1a1a", "#111111") < 1.2);
  const st = gratingStyles(["PRISM", "G140M", "G235M", "G395M", "PRISM", "G395H"]);
  assert.deepEqual(st.map((s) => s.color), ["#7a7a7a", "#0072b2", "#009e73", "#d55e00", "#8d6e63", "#b07800"]);
  assert.deepEqual(st.map((s) => s.dash), [DASHES[0], [], [], [], [6, 3], []]);
  assert.equal(themeOf("rgb(17, 17, 17)"), "dark");
  assert.equal(themeOf("#ffffff"), "light");
  assert.equal(themeOf("#111"), "dark"); // JupyterLab dark writes --jp-layout-color0: #111
});

test("legend chips tell two spectra of one grating apart", () => {
  const labels = chipLabels([
    { grating: "PRISM", id: "jw01234-o001_s00042" }, { grating: "PRISM", id: "jw01234-o002_s00042" },
    { grating: "G395M", id: "x1" }, { grating: "G395M", id: "x1" },
  ]);
  assert.deepEqual(labels, ["PRISM · 1_s00042", "PRISM · 2_s00042", "G395M · #1", "G395M · #2"]);
  assert.deepEqual(chipLabels([{ grating: "PRISM", id: "a" }, { grating: "G140M", id: "b" }]), ["PRISM", "G140M"]);
});

// -- defect 4: masked pixels

test("one spectrum's masked pixels do not hatch another's good data", () => {
  const wave = Float64Array.from({ length: 11 }, (_, i) => 1 + 0.1 * i); // 1.0-2.0 um
  const masked = Float64Array.from({ length: 11 }, (_, i) => (i >= 4 && i <= 6 ? NaN : 1));
  const good = new Float64Array(11).fill(2);
  const rect = { x: 0, y: 0, w: 1000, h: 300 };
  const xr = [1, 2];
  const a = { wave, flux: masked, n: 11, visible: true, color: "#7a7a7a" };
  const b = { wave, flux: good, n: 11, visible: true, color: "#d55e00" };
  const bands = maskedBands([a, b], rect, xr);
  assert.equal(bands.length, 1); // a's own band at the bottom, no full-height hatch
  assert.deepEqual([bands[0].y, bands[0].h, bands[0].color], [296, 4, "#7a7a7a"]);
  close(bands[0].x, 350); close(bands[0].w, 300); // pixels 4-6: edges 1.35-1.65 um
  // alone, its gap is hatched full height too
  const alone = maskedBands([a], rect, xr);
  assert.deepEqual(alone.map((x) => x.h).sort((p, q) => p - q), [4, 300]);
});

// -- smoothing

test("Gaussian smoothing: a delta becomes the normalised kernel; NaN stays masked", () => {
  const flux = new Float64Array(41); flux[20] = 1;
  const err = new Float64Array(41).fill(1);
  const { flux: f, err: e } = gaussianSmooth(flux, err, 2);
  // far from the edges f[20 + k] = exp(-k^2/8) / sum_j exp(-j^2/8) over |j| <= 8 (4 sigma)
  let norm = 0;
  for (let j = -8; j <= 8; j++) norm += Math.exp(-(j * j) / 8);
  close(f[20], 1 / norm, 1e-12); close(f[23], Math.exp(-9 / 8) / norm, 1e-12);
  // the error of the mean of unit errors: sqrt(sum w^2) / sum w
  let w2 = 0;
  for (let j = -8; j <= 8; j++) w2 += Math.exp(-(j * j) / 4);
  close(e[20], Math.sqrt(w2) / norm, 1e-12);
  const withNaN = Float64Array.from([1, NaN, 1]);
  assert.ok(Number.isNaN(gaussianSmooth(withNaN, [1, 1, 1], 1).flux[1]));
});

test("σ in km/s becomes pixels through the spectrum's Δλ/λ", () => {
  // constant Δlnλ = 0.001 per pixel: 299.792458 km/s per pixel, so σ = 599.58 km/s is 2 px
  const wave = Float64Array.from({ length: 41 }, (_, i) => Math.exp(0.001 * i));
  close(medianDlnLambda(wave), 0.001, 1e-12);
  const flux = new Float64Array(41); flux[20] = 1;
  const err = new Float64Array(41).fill(0.1);
  const kms = smoothSpectrum(flux, err, wave, { kind: "gauss_kms", value: 2 * 299.792458 });
  const px = gaussianSmooth(flux, err, 2);
  for (let i = 0; i < 41; i++) close(kms.flux[i], px.flux[i], 1e-12);
  assert.deepEqual(Array.from(smoothSpectrum(flux, err, wave, { kind: "none", value: 9 }).flux), Array.from(flux));
});

// -- axis units

test("the wavelength axis in µm, Å and rest-frame Å", () => {
  assert.equal(xAxis("um", 2).scale, 1);
  assert.equal(xAxis("A", 2).scale, 1e4);
  close(xAxis("rest_A", 3).scale, 2500);
  assert.equal(xAxis("rest_A", null).unit, "um"); // no redshift: observed µm
  // 2-4 um at z = 3 is 5000-10000 Å rest; ticks every 1000 Å, each placed at its observed µm
  const ticks = xAxisTicks([2, 4], xAxis("rest_A", 3), 6);
  assert.deepEqual(ticks.map((t) => t.value), [5000, 6000, 7000, 8000, 9000, 10000]);
  close(ticks[1].wave, 2.4);
});

// -- line list

test("line groups, custom lines, hidden lines", () => {
  assert.deepEqual(["Hα", "Lyα", "Paβ", "H9", "HeI", "[OIII]", "CIII]", "MgII"].map(lineGroup),
    ["H", "H", "H", "H", "He", "forbidden", "forbidden", "other"]);
  assert.deepEqual(parseCustomLine("FeII* 2612.6"), { label: "FeII*", rest: 2612.6 });
  assert.deepEqual(parseCustomLine("my line, 5000 Å"), { label: "my line", rest: 5000 });
  assert.ok(parseCustomLine("2612").error);
  assert.ok(parseCustomLine("x 12").error); // not a rest wavelength in Å
  const lines = [
    { label: "Hα", rest: 6564.6, priority: 5 }, { label: "[OIII]", rest: 5008.2, priority: 5 },
    { label: "HeI", rest: 10833, priority: 5 },
  ];
  const drawn = activeLines(lines, ["[OIII]", "group:He"], [{ label: "FeII*", rest: 2612.6 }]);
  assert.deepEqual(drawn.map((l) => l.label), ["Hα", "FeII*"]);
  assert.equal(drawn[1].priority, 9);
});

// -- 2D strips

test("2D: stretch, colour maps, rows from the bottom, no strip for no rows", () => {
  close(stretched(0.25, "sqrt"), 0.5);
  close(stretched(1, "asinh"), 1);
  assert.deepEqual(colormap("grey", 1), [0, 0, 0]); // high flux dark
  assert.deepEqual(colormap("inverted", 1), [255, 255, 255]);
  assert.deepEqual(colormap("viridis", 0), [68, 1, 84]);
  // 2 rows x 2 columns: row 0 (levels 0, 254) is drawn at the bottom; 255 is transparent
  const rgba = levelsToRGBAStretched(Uint8Array.from([0, 254, 255, 0]), 2, 2);
  assert.deepEqual(Array.from(rgba.slice(0, 8)), [0, 0, 0, 0, 255, 255, 255, 255]); // top: row 1
  assert.deepEqual(Array.from(rgba.slice(8, 16)), [255, 255, 255, 255, 0, 0, 0, 255]); // bottom: row 0
  assert.equal(stripHeight(0), 0);
  close(stripRowToPy(0, 10, 30), 28.5); // bottom row's centre
  const t = { wave: Float64Array.from([1, 2, 3]), n: 3 };
  assert.deepEqual([pixelAt(t, 1.4), pixelAt(t, 1.6), pixelAt(t, 3.5)], [0, 1, -1]);
});

// -- export

test("CSV of the data shown: visible spectra inside the window, unit and scale", () => {
  const t = { id: "s1", grating: "PRISM", visible: true, n: 4, wave: Float64Array.from([1, 2, 3, 4]),
    flux: Float64Array.from([1, 2, NaN, 4]), ferr: Float64Array.from([0.1, 0.2, 0.3, 0.4]) };
  const hidden = { ...t, id: "s2", visible: false };
  const text = csvText([t, hidden], [1.5, 3.5], "flambda", -20, "fλ");
  const rows = text.trim().split("\n");
  assert.equal(rows[1], "spectrum_id,grating,wavelength_um,flux_erg/s/cm2/A,err_erg/s/cm2/A");
  assert.deepEqual(rows.slice(2), ["s1,PRISM,2.000000,2.000000e-20,2.000000e-21", "s1,PRISM,3.000000,,3.000000e-21"]);
});

// defect 9: an empty 2D spectrum takes no strip
import { hasData } from "../../../widgets/sv_draw.js";

test("a 2D spectrum with no data gets no strip", () => {
  assert.equal(hasData(Uint8Array.from([255, 255, 255])), false);
  assert.equal(hasData(Uint8Array.from([255, 3, 255])), true);
  assert.equal(hasData(null), false);
});
