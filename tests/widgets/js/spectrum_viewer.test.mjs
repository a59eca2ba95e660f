// Unit tests of the SpectrumViewer's pure functions (run: node --test tests/widgets/js/).
// Expected values are hand computations, not the code's own output.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  autoRange,
  decodeFloat32,
  fnuToFlam,
  levelsToRGBA,
  lowerBound,
  maskedRuns,
  niceTicks,
  observedLines,
  pixelEdge,
  placeLabels,
  powerOfTen,
  redshiftForLine,
  smooth,
  superscript,
  tickLabel,
} from "../../../widgets/spectrum_viewer.js";

const close = (a, b, rel = 1e-9) => assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${a} != ${b}`);

test("f_nu to f_lambda: 3631 Jy at 1 um is 1.0885e-9 erg/s/cm2/A (c / lambda^2 by hand)", () => {
  // 3631e-23 erg/s/cm2/Hz * 2.99792458e18 A/s / (1e4 A)^2
  const expected = (3631e-23 * 2.99792458e18) / 1e8;
  const [flam] = fnuToFlam([3631e6], [1.0]);
  close(flam, expected, 1e-12);
  // 1 uJy at 2 um: 1e-29 * c / (2e4)^2
  close(fnuToFlam([1], [2])[0], (1e-29 * 2.99792458e18) / 4e8, 1e-12);
});

test("f_lambda axis scale: power of ten of the largest finite value", () => {
  assert.equal(powerOfTen([[3.2e-20, -7.9e-20, NaN]]), -20);
  assert.equal(powerOfTen([[1.0e-19], [Infinity]]), -19);
  assert.equal(powerOfTen([[]]), 0);
  assert.equal(superscript(-20), "⁻²⁰");
});

test("redshift to observed line positions and back", () => {
  const lines = [
    { name: "Ha", rest: 6564.697, priority: 5 },
    { name: "OIII-4363", rest: 4364.436, priority: 4.1 },
    { name: "faint", rest: 5000, priority: 2 },
  ];
  const at1 = observedLines(lines, 1.0, 4);
  assert.deepEqual(at1.map((l) => l.name), ["Ha", "OIII-4363"]);
  close(at1[0].wave, 1.3129394); // 6564.697 A * 2 / 1e4
  close(observedLines(lines, 6.5, 5)[0].wave, (6564.697 * 7.5) / 1e4);
  assert.deepEqual(observedLines(lines, null), []);
  close(redshiftForLine(1.3129394, 6564.697), 1.0);
  assert.equal(redshiftForLine(0.5, 6564.697), 0); // never negative
});

test("boxcar smoothing ignores masked pixels and propagates errors", () => {
  const { flux, err } = smooth([1, 2, 3, NaN, 5], [1, 1, 1, NaN, 1], 3);
  const want = [1.5, 2, 2.5, NaN, 5];
  want.forEach((w, i) => (Number.isNaN(w) ? assert.ok(Number.isNaN(flux[i])) : close(flux[i], w)));
  close(err[0], Math.SQRT2 / 2);
  close(err[1], Math.sqrt(3) / 3);
  close(err[4], 1);
  assert.ok(Number.isNaN(err[3]));
  const copy = smooth([1, 2], [0.1, 0.2], 0);
  assert.deepEqual(Array.from(copy.flux), [1, 2]);
});

test("nice ticks on 1-2-5 steps", () => {
  assert.deepEqual(niceTicks(0.6, 5.3, 6), [1, 2, 3, 4, 5]);
  assert.deepEqual(niceTicks(1.2341, 1.2379, 4), [1.235, 1.236, 1.237]);
  assert.deepEqual(niceTicks(-3, 3, 3), [-2, 0, 2]);
  assert.deepEqual(niceTicks(3000, 9000, 4), [4000, 6000, 8000]);
  assert.deepEqual(niceTicks(1, 1, 4), []);
  assert.equal(tickLabel(1.235, 0.001), "1.235");
  assert.equal(tickLabel(4000, 2000), "4000");
  assert.equal(tickLabel(0.5, 0.5), "0.5");
});

test("auto y range keeps the bulk and pads it, ignoring NaN and spikes", () => {
  const values = [];
  for (let i = 0; i <= 1000; i++) values.push(i / 10); // 0..100
  values.push(1e6, NaN); // one cosmic ray
  const [lo, hi] = autoRange(values, 0.005, 0.995);
  assert.ok(lo < 1 && lo > -10, `lo ${lo}`);
  assert.ok(hi > 99 && hi < 115, `hi ${hi}`); // the spike does not set the scale
  assert.deepEqual(autoRange([NaN]), [0, 1]);
});

test("masked runs and pixel edges", () => {
  assert.deepEqual(maskedRuns([NaN, 1, 2, NaN, NaN, 3, NaN]), [[0, 0], [3, 4], [6, 6]]);
  assert.deepEqual(maskedRuns([1, 2]), []);
  const wave = [1.0, 1.2, 1.6];
  close(pixelEdge(wave, 0), 0.9);
  close(pixelEdge(wave, 1), 1.1);
  close(pixelEdge(wave, 3), 1.8);
  assert.equal(lowerBound([1, 2, 3], 2.5), 2);
});

test("line labels never overlap in a row; doublets merge; strongest kept when crowded", () => {
  const items = [
    { x: 100, width: 40, label: "[OII]", priority: 5 },
    { x: 101, width: 40, label: "[OII]", priority: 5 },
    { x: 120, width: 30, label: "Hδ", priority: 5.1 },
    { x: 130, width: 30, label: "HeI", priority: 4.1 },
    { x: 135, width: 30, label: "Hε", priority: 4.1 },
    { x: 140, width: 30, label: "[NeIII]", priority: 4 },
    { x: 145, width: 30, label: "H9", priority: 3 },
    { x: 400, width: 30, label: "Hα", priority: 5 },
  ];
  const placed = placeLabels(items, { maxRows: 3, gap: 2 });
  const oii = placed.filter((g) => g.label === "[OII]");
  assert.equal(oii.length, 1);
  assert.equal(oii[0].members.length, 2);
  close(oii[0].x, 100.5);
  const shown = placed.filter((g) => g.visible);
  for (const a of shown) for (const b of shown) {
    if (a === b || a.row !== b.row) continue;
    const apart = a.x + a.width / 2 + 2 <= b.x - b.width / 2 || b.x + b.width / 2 + 2 <= a.x - a.width / 2;
    assert.ok(apart, `${a.label} and ${b.label} overlap in row ${a.row}`);
  }
  // Hα is alone: first row. Hδ (strongest) is shown; the faintest crowded label is dropped first.
  assert.equal(placed.find((g) => g.label === "Hα").row, 0);
  assert.ok(placed.find((g) => g.label === "Hδ").visible);
  assert.equal(placed.find((g) => g.label === "H9").visible, false);
  // [NII] on both sides of Hα merges into one label, Hα keeps its own
  const nii = placeLabels([
    { x: 200, width: 30, label: "[NII]", priority: 5.1 },
    { x: 202, width: 20, label: "Hα", priority: 5 },
    { x: 205, width: 30, label: "[NII]", priority: 5.1 },
  ]);
  assert.deepEqual(nii.map((g) => [g.label, g.members.length]), [["[NII]", 2], ["Hα", 1]]);
  assert.ok(nii.every((g) => g.visible) && nii[0].row !== nii[1].row);
  // with room, every label shows
  const spread = items.map((it, i) => ({ ...it, x: i * 100, label: `L${i}` }));
  assert.ok(placeLabels(spread, { maxRows: 1 }).every((g) => g.visible && g.row === 0));
});

test("2D levels become grey RGBA with no-data transparent; float32 buffers decode at any offset", () => {
  const rgba = levelsToRGBA(Uint8Array.from([0, 254, 255]));
  assert.deepEqual(Array.from(rgba), [255, 255, 255, 255, 1, 1, 1, 255, 0, 0, 0, 0]);
  const bytes = new Uint8Array(new Float32Array([1.5, -2.25]).buffer);
  const shifted = new Uint8Array(9);
  shifted.set(bytes, 1);
  const view = new DataView(shifted.buffer, 1, 8);
  assert.deepEqual(Array.from(decodeFloat32(view)), [1.5, -2.25]);
  const aligned = new DataView(new Float32Array([3, 4]).buffer);
  assert.deepEqual(Array.from(decodeFloat32(aligned)), [3, 4]);
});
