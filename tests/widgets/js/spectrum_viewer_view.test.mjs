// Unit tests of the SpectrumViewer's view geometry and interaction: the pure functions the widget's
// drawing and mouse handlers call (run: node --test tests/widgets/js/). No DOM is needed.
// Expected values are hand computations, not the code's own output.
import assert from "node:assert/strict";
import { test } from "node:test";

import viewer, {
  GRAB_PX,
  MARGIN,
  axisTicks,
  columnEdges,
  columnSpan,
  decodeTraces,
  displayFlux,
  finiteRuns,
  fluxAxisTitle,
  fluxToPy,
  fullRange,
  labelRowTop,
  linesInWindow,
  maskedBoxes,
  nearestLine,
  panWindow,
  parseRedshift,
  placeLabels,
  plotRect,
  pxToWave,
  readoutText,
  redshiftForLine,
  restTicks,
  sameWindow,
  sliderMax,
  stripHeight,
  tickCount,
  viewWindow,
  visibleSpan,
  waveToPx,
  windowFromRange,
  yRangeFor,
  zoomWindow,
} from "../../../widgets/spectrum_viewer.js";

const close = (a, b, rel = 1e-9) => assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${a} != ${b}`);
const closeAll = (a, b, rel = 1e-9) => {
  assert.equal(a.length, b.length, `${Array.from(a)} vs ${b}`);
  b.forEach((v, i) => close(a[i], v, rel));
};

test("the module loads without a DOM and exports the anywidget render", () => {
  assert.equal(typeof viewer.render, "function");
});

test("plot area: the margins (4 label rows of 13 px + 20 on top) and a 10 px floor", () => {
  assert.deepEqual(MARGIN, { left: 62, right: 12, top: 72, bottom: 34 });
  assert.deepEqual(plotRect(600, 340), { x: 62, y: 72, w: 526, h: 234 });
  assert.deepEqual(plotRect(50, 100), { x: 62, y: 72, w: 10, h: 10 });
  assert.equal(labelRowTop(0), 2);
  assert.equal(labelRowTop(3), 41);
});

test("window: every trace padded 1%, a default without data, the zoom when there is one", () => {
  const traces = [{ n: 3, wave: [1, 2, 3] }, { n: 2, wave: [2.5, 5] }, { n: 0, wave: [] }];
  closeAll(fullRange(traces), [0.96, 5.04]);
  assert.deepEqual(fullRange([]), [0.6, 5.3]);
  assert.deepEqual(fullRange([{ n: 0, wave: [] }]), [0.6, 5.3]);
  closeAll(viewWindow(null, traces), [0.96, 5.04]);
  assert.deepEqual(viewWindow([2, 3], traces), [2, 3]);
});

test("data <-> pixels: wavelength to column and back, flux to row with y0 at the bottom", () => {
  const r = plotRect(600, 340); // x 62, w 526, y 72, h 234
  assert.equal(waveToPx(1, r, [1, 2]), 62);
  assert.equal(waveToPx(1.5, r, [1, 2]), 325);
  assert.equal(waveToPx(2, r, [1, 2]), 588);
  assert.equal(pxToWave(325, r, [1, 2]), 1.5);
  for (const w of [0.7, 1.234567, 4.9]) close(pxToWave(waveToPx(w, r, [0.6, 5.3]), r, [0.6, 5.3]), w);
  assert.equal(fluxToPy(0, r, [0, 10]), 306);
  assert.equal(fluxToPy(10, r, [0, 10]), 72);
  assert.equal(fluxToPy(2.5, r, [0, 10]), 247.5);
  assert.equal(fluxToPy(-5, r, [-10, 10]), 247.5);
});

test("visible span: the pixels inside the window plus one each side", () => {
  const wave = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0];
  const t = { n: wave.length, wave };
  assert.deepEqual(visibleSpan(t, [1.25, 1.55]), [2, 7]); // 1.2 .. 1.6
  assert.deepEqual(visibleSpan(t, [0, 10]), [0, 11]);
  assert.deepEqual(visibleSpan(t, [3, 4]), [10, 11]); // right of the data: only the last pixel
});

test("flux shown: f_nu as given, f_lambda = f_nu c / lambda^2 scaled by a power of ten", () => {
  const traces = [{ fnu: [1, 2], err: [0.1, 0.2], wave: [1, 2] }];
  // 1 uJy = 1e-29 erg/s/cm2/Hz; c = 2.99792458e18 A/s; 1 um = 1e4 A
  const flam0 = (1e-29 * 2.99792458e18) / 1e8; // 2.998e-19 at 1 um
  const flam1 = (2e-29 * 2.99792458e18) / 4e8; // 1.499e-19 at 2 um
  const { series, exponent } = displayFlux(traces, "flambda", 0);
  assert.equal(exponent, -19);
  closeAll(series[0].flux, [flam0 * 1e19, flam1 * 1e19], 1e-12);
  closeAll(series[0].err, [0.1 * flam0 * 1e19, (0.2 * flam0 * 1e19) / 4], 1e-12);
  assert.equal(fluxAxisTitle("flambda", exponent), "fλ [10⁻¹⁹ erg s⁻¹ cm⁻² Å⁻¹]");
  assert.equal(fluxAxisTitle("flambda", 0), "fλ [erg s⁻¹ cm⁻² Å⁻¹]");
  assert.equal(fluxAxisTitle("fnu", -19), "fν [µJy]");
  const fnu = displayFlux(traces, "fnu", 0);
  assert.equal(fnu.exponent, 0);
  closeAll(fnu.series[0].flux, [1, 2]);
  closeAll(fnu.series[0].err, [0.1, 0.2]);
  // smoothing first, then the unit: a 3-pixel boxcar of 1, 2, 3 is 1.5, 2, 2.5
  const smoothed = displayFlux([{ fnu: [1, 2, 3], err: [1, 1, 1], wave: [1, 1, 1] }], "fnu", 3);
  closeAll(smoothed.series[0].flux, [1.5, 2, 2.5]);
  assert.deepEqual(Array.from(traces[0].fnu), [1, 2]); // the input is left alone
});

test("y range: the visible traces' pixels in the window, padded 8% below and 12% above", () => {
  const shown = { n: 3, wave: [1, 2, 3], flux: [2, 4, 6], visible: true };
  const hidden = { n: 3, wave: [1, 2, 3], flux: [100, 100, 100], visible: false };
  closeAll(yRangeFor([shown, hidden], [0, 10]), [2 - 0.32, 6 + 0.48]);
  closeAll(yRangeFor([shown, { ...hidden, visible: true }], [0, 10]), [2 - 0.08 * 98, 100 + 0.12 * 98]);
  closeAll(yRangeFor([shown], [2.6, 2.9]), [4 - 0.16, 6 + 0.24]); // pixels 2 and 3 only
  assert.deepEqual(yRangeFor([hidden], [0, 10]), [0, 1]);
});

test("axis ticks: how many fit, 1-2-5 values, labels with the decimals the step needs", () => {
  assert.equal(tickCount(526, 80), 6);
  assert.equal(tickCount(100, 80), 2);
  assert.equal(tickCount(234, 40), 5);
  assert.deepEqual(axisTicks(0.96, 5.04, 6), { values: [1, 2, 3, 4, 5], labels: ["1", "2", "3", "4", "5"] });
  assert.deepEqual(axisTicks(1.2, 1.5, 4), { values: [1.2, 1.3, 1.4, 1.5], labels: ["1.2", "1.3", "1.4", "1.5"] });
  assert.deepEqual(axisTicks(-0.31, 0.72, 6), { values: [-0.2, 0, 0.2, 0.4, 0.6], labels: ["-0.2", "0.0", "0.2", "0.4", "0.6"] });
  assert.deepEqual(axisTicks(-0.31, 0.72, 5), { values: [0, 0.5], labels: ["0.0", "0.5"] }); // span/5 = 0.206: step 0.5
  assert.deepEqual(axisTicks(2, 2, 5), { values: [], labels: [] });
});

test("rest-frame axis: ticks in Angstrom at z, each placed at rest (1 + z) / 1e4 um", () => {
  // 1.2-1.5 um at z = 1 is 6000-7500 A; a step of 500 A
  const ticks = restTicks([1.2, 1.5], 1, 4);
  assert.deepEqual(ticks.map((t) => t.rest), [6000, 6500, 7000, 7500]);
  assert.deepEqual(ticks.map((t) => t.label), ["6000", "6500", "7000", "7500"]);
  closeAll(ticks.map((t) => t.wave), [1.2, 1.3, 1.4, 1.5]);
  // z = 6: 1-5 um is 1428.6-7142.9 A
  assert.deepEqual(restTicks([1, 5], 6, 6).map((t) => t.rest), [2000, 3000, 4000, 5000, 6000, 7000]);
});

test("masked pixels: runs of finite values between them, hatched boxes between pixel edges", () => {
  const flux = [NaN, 1, 2, NaN, 3, Infinity, 4];
  assert.deepEqual(finiteRuns(flux, 0, 7), [[1, 3], [4, 5], [6, 7]]);
  assert.deepEqual(finiteRuns(flux, 2, 5), [[2, 3], [4, 5]]);
  assert.deepEqual(finiteRuns([NaN, NaN], 0, 2), []);
  const trace = { wave: [1, 2, 3, 4, 5], flux: [1, NaN, NaN, 4, 5] };
  const rect = { x: 0, y: 0, w: 400, h: 100 };
  // pixels 1-2 are masked: from the edge 1.5 um to the edge 3.5 um, 100 px per um from 1 um
  assert.deepEqual(maskedBoxes(trace, rect, [1, 5]), [[50, 200]]);
  assert.deepEqual(maskedBoxes(trace, { ...rect, w: 140 }, [3.6, 5]), []); // left of the window
  const [[x, w]] = maskedBoxes({ wave: [1, 1.001, 1.002], flux: [1, NaN, 1] }, rect, [1, 5]);
  close(x, 0.05); // from the edge at 1.0005 um
  assert.equal(w, 1); // 0.1 px wide, drawn 1 px wide
});

const LINES = [
  { name: "Ha", label: "Hα", rest: 6564.61, priority: 5, color: "#c00" },
  { name: "Hb", label: "Hβ", rest: 4862.68, priority: 5, color: "#c00" },
  { name: "faint", label: "x", rest: 7000, priority: 2, color: "#999" },
];

test("lines in the window at z, with their pixel columns; none without a redshift", () => {
  const rect = { x: 0, y: 72, w: 500, h: 200 }; // 1000 px per um over 1.0-1.5 um
  const shown = linesInWindow(LINES, 1, 4, [1.0, 1.5], rect);
  assert.deepEqual(shown.map((ln) => ln.name), ["Ha"]); // Hb at 0.9725 um is left; faint is faint
  close(shown[0].wave, 1.312922);
  close(shown[0].x, 312.922);
  assert.equal(linesInWindow(LINES, 1, 0, [1.0, 1.5], rect).length, 2); // faint at 1.4 um too
  assert.deepEqual(linesInWindow(LINES, null, 0, [1.0, 1.5], rect), []);
  assert.equal(LINES[0].x, undefined); // the line list is left alone
});

test("grabbing a line: the nearest within 5 px, the first on a tie; dragging it sets z", () => {
  const hits = [{ x: 100, rest: 1, name: "a" }, { x: 104, rest: 2, name: "b" }, { x: 120, rest: 3, name: "c" }];
  assert.equal(GRAB_PX, 5);
  assert.equal(nearestLine(hits, 103).name, "b");
  assert.equal(nearestLine(hits, 110), null);
  assert.equal(nearestLine(hits, 115).name, "c"); // exactly 5 px
  assert.equal(nearestLine([{ x: 100, name: "a" }, { x: 106, name: "b" }], 103).name, "a");
  assert.equal(nearestLine([], 3), null);
  // Hα drawn at z = 1, dragged 50 px to the right, sits at 1.362922 um: z = 13629.22 / 6564.61 - 1
  const rect = { x: 0, y: 72, w: 500, h: 200 };
  const [ha] = linesInWindow(LINES, 1, 4, [1.0, 1.5], rect);
  const z = redshiftForLine(pxToWave(ha.x + 50, rect, [1.0, 1.5]), ha.rest);
  close(z, 13629.22 / 6564.61 - 1, 1e-7);
  close(linesInWindow([LINES[0]], z, 4, [1.0, 1.5], rect)[0].x, ha.x + 50, 1e-7); // it follows the mouse
});

test("wheel zoom keeps the point under the mouse; drag pans by the pixels moved", () => {
  assert.deepEqual(zoomWindow([1, 3], 2, 0), [1, 3]);
  const f = Math.exp(-0.6); // deltaY -400: 0.0015 per unit
  closeAll(zoomWindow([1, 3], 2, -400), [2 - f, 2 + f]);
  closeAll(zoomWindow([1, 3], 2, -1e5), [2 - 1 / Math.E, 2 + 1 / Math.E]); // at most e x a step
  closeAll(zoomWindow([1, 3], 2, 1e5), [2 - Math.E, 2 + Math.E]);
  const [x0, x1] = zoomWindow([1, 3], 1.5, -250);
  close((1.5 - x0) / (x1 - x0), 0.25); // 1.5 um stays a quarter of the way across
  assert.deepEqual(panWindow([1, 3], 50, 100), [0, 2]); // half the width right: 1 um bluer
  assert.deepEqual(panWindow([1, 3], -25, 100), [1.5, 3.5]);
});

test("the x_range trait and the zoom window", () => {
  assert.equal(windowFromRange([]), null);
  assert.equal(windowFromRange(null), null);
  assert.equal(windowFromRange([1.5]), null);
  assert.deepEqual(windowFromRange([1.5, 2.5]), [1.5, 2.5]);
  assert.ok(sameWindow(null, null));
  assert.ok(!sameWindow(null, [1, 2]) && !sameWindow([1, 2], null));
  assert.ok(sameWindow([1, 2], [1 + 1e-12, 2]));
  assert.ok(!sameWindow([1, 2], [1.001, 2]));
});

test("typed redshift: numbers 0-30 accepted, anything else refused with the z kept", () => {
  assert.deepEqual(parseRedshift("  2.5 ", 1), { z: 2.5 });
  assert.deepEqual(parseRedshift("0", 1), { z: 0 });
  assert.deepEqual(parseRedshift("30", 1), { z: 30 });
  assert.deepEqual(parseRedshift("1e1", 1), { z: 10 });
  assert.equal(parseRedshift("two", 1.23456).error,
    '"two" is not a redshift: type a number between 0 and 30 (z stays 1.2346)');
  assert.match(parseRedshift("", null).error, /"" is not a redshift.*z stays unset/);
  for (const bad of ["-1", "30.5", "Infinity", "NaN", "2,5"]) assert.ok(parseRedshift(bad, 0).error, bad);
});

test("slider end, mouse readout, 2D columns and strip heights", () => {
  assert.equal(sliderMax(null), 12);
  assert.equal(sliderMax(7), 12);
  assert.equal(sliderMax(8.1), 13); // ceil(12.15)
  assert.equal(sliderMax(10), 15);
  assert.equal(readoutText(1.3129394, 1), "λ 1.3129 µm, rest 6564.7 Å");
  assert.equal(readoutText(2, null), "λ 2.0000 µm");
  // 6 pixels binned by 2 into 3 columns: edges halfway between pixels, half a pixel out at the ends
  const wave = [1, 1.2, 1.4, 1.6, 1.8, 2.0];
  const edges = columnEdges(wave, 6, 3, 2);
  closeAll(edges, [0.9, 1.3, 1.7, 2.1]);
  closeAll(columnEdges(wave.slice(0, 5), 5, 3, 2), [0.9, 1.3, 1.7, 1.9]); // a short last column
  assert.deepEqual(columnSpan(edges, 3, [1.35, 1.6]), [1, 3]);
  assert.deepEqual(columnSpan(edges, 3, [0, 5]), [0, 3]);
  assert.equal(stripHeight(4), 24);
  assert.equal(stripHeight(10), 30);
  assert.equal(stripHeight(40), 72);
});

test("traces decode from the trait's buffers, coloured by grating, hidden ones kept hidden", () => {
  const view = (array) => new DataView(array.buffer);
  const list = [
    { spectrum_id: "a", grating: "PRISM", n: 3, wave: view(new Float32Array([1, 2, 3])),
      fnu: view(new Float32Array([5, 6, 7])), err: view(new Float32Array([1, 1, 1])),
      sci2d: view(new Uint8Array([0, 254])), ny: 1, nx: 2, bin: 2 },
    { spectrum_id: "b", grating: "G395M", n: 2, wave: view(new Float32Array([3, 4])),
      fnu: view(new Float32Array([1, 2])), err: view(new Float32Array([1, 1])), sci2d: null },
  ];
  const [a, b] = decodeTraces(list, new Set(["b"]));
  assert.deepEqual([a.id, a.color, a.visible, b.id, b.color, b.visible], ["a", "#7a7a7a", true, "b", "#d55e00", false]);
  assert.deepEqual(Array.from(a.wave), [1, 2, 3]);
  assert.deepEqual(Array.from(a.fnu), [5, 6, 7]);
  assert.deepEqual(Array.from(a.sci), [0, 254]);
  assert.deepEqual(Array.from(a.edges), [0.5, 2.5, 3.5]); // pixels 0-1 | pixel 2
  assert.equal(b.edges, null);
  assert.ok(decodeTraces(list).every((t) => t.visible));
});

test("labels of the lines at a real redshift: one per line or doublet, never overlapping", () => {
  // the rest-optical lines of a z = 6 galaxy across a 600 px plot of 2.5-4.8 um, 7 px per character
  const lines = [
    ["[OII]", 3727.09], ["[OII]", 3729.88], ["[NeIII]", 3869.86], ["Hδ", 4102.89], ["Hγ", 4341.69],
    ["[OIII]", 4364.44], ["Hβ", 4862.68], ["[OIII]", 4960.30], ["[OIII]", 5008.24], ["HeI", 5877.25],
    ["[OI]", 6302.05], ["[NII]", 6549.86], ["Hα", 6564.61], ["[NII]", 6585.27], ["[SII]", 6718.29],
  ].map(([label, rest], i) => ({ name: `l${i}`, label, rest, priority: 5, color: "#000" }));
  const rect = { x: 62, y: 72, w: 600, h: 200 };
  const shown = linesInWindow(lines, 6, 0, [2.5, 4.8], rect);
  assert.equal(shown.length, 15);
  const placed = placeLabels(shown.map((ln) => ({ x: ln.x, width: 7 * ln.label.length + 6, label: ln.label, priority: 5 })), { maxRows: 4, gap: 3 });
  // [OII] 3727/3729 merge (0.5 px apart); [OIII] 4960/5008 merge (9 px), not with [OIII] 4364
  // (109 px); [NII] 6550/6585 merge around Hα (6.5 px)
  assert.deepEqual(placed.filter((g) => g.members.length > 1).map((g) => g.label), ["[OII]", "[OIII]", "[NII]"]);
  const visible = placed.filter((g) => g.visible);
  assert.equal(visible.length, 12); // 12 labels for 15 lines, all fit in 4 rows
  for (const p of visible) for (const q of visible) {
    if (p === q || p.row !== q.row) continue;
    assert.ok(p.x + p.width / 2 + 3 <= q.x - q.width / 2 || q.x + q.width / 2 + 3 <= p.x - p.width / 2,
      `${p.label} and ${q.label} overlap in row ${p.row}`);
  }
  assert.ok(visible.every((g) => g.row >= 0 && g.row < 4));
});
