// Unit tests of the CutoutPanel's pure functions (run: node --test tests/widgets/js/).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  canvasToSky,
  compassArrows,
  cornerSegments,
  drawOrder,
  footprintStyle,
  hoverText,
  lengthLabel,
  niceLength,
  pointInPolygon,
  scaleBar,
  skyToCanvas,
  visibleFootprints,
  offsetToRaDec,
  sexagesimal,
  stretchLUT,
} from "../../../widgets/cutout_panel.js";

test("scale bar: the largest round length within a third of the field", () => {
  // by hand: fov/3 = 1.667 -> 1"; 10 -> 2" (3.33); 30 -> 10"; 0.9 -> 0.25" (0.3); 0.2 -> 0.05"
  assert.equal(niceLength(5), 1);
  assert.equal(niceLength(10), 2);
  assert.equal(niceLength(30), 10);
  assert.equal(niceLength(0.9), 0.25);
  assert.equal(niceLength(0.2), 0.05);
  assert.equal(lengthLabel(0.25), "0.25″");
  assert.equal(lengthLabel(1), "1″");
});

test("sky offsets land north up and east left", () => {
  // 300 px over 5": 60 px per arcsec, centre (150, 150)
  assert.deepEqual(skyToCanvas(0, 0, 5, 300), [150, 150]);
  assert.deepEqual(skyToCanvas(1, 0, 5, 300), [90, 150]); // east is to the left
  assert.deepEqual(skyToCanvas(0, 1, 5, 300), [150, 90]); // north is up
  assert.deepEqual(skyToCanvas(-2.5, -2.5, 5, 300), [300, 300]); // south-west corner
});

test("corner marks run 30% along each side from each corner", () => {
  const square = [[0, 0], [10, 0], [10, 10], [0, 10]];
  const segs = cornerSegments(square, 0.3);
  assert.equal(segs.length, 4);
  assert.deepEqual(segs[0], [[0, 3], [0, 0], [3, 0]]);
  // corner 2 (10, 10): towards corner 1 (10, 0) first, then corner 3 (0, 10)
  assert.deepEqual(segs[2], [[10, 7], [10, 10], [7, 10]]);
});

test("hit testing and the shutter modes", () => {
  const shutter = [[0.23, -0.1], [0.23, 0.1], [-0.23, 0.1], [-0.23, -0.1]];
  assert.ok(pointInPolygon([0, 0], shutter));
  assert.ok(!pointInPolygon([0.3, 0], shutter));
  const feet = [{ category: "target" }, { category: "other" }, { category: "stuck_closed" }];
  assert.equal(visibleFootprints(feet, "all").length, 3);
  assert.deepEqual(visibleFootprints(feet, "target"), [{ category: "target" }]);
  assert.deepEqual(visibleFootprints(feet, "none"), []);
});

const near = (a, b, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

test("canvas back to sky: the inverse of skyToCanvas", () => {
  assert.deepEqual(canvasToSky(90, 150, 5, 300), [1, 0]);
  assert.deepEqual(canvasToSky(150, 90, 5, 300), [0, 1]);
  for (const [e, n] of [[0.3, -1.7], [-2.5, 2.5]]) {
    const [x, y] = skyToCanvas(e, n, 7.5, 420);
    const [e2, n2] = canvasToSky(x, y, 7.5, 420);
    near(e2, e, 1e-12);
    near(n2, n, 1e-12);
  }
});

test("shutters drawn others first, the target's last; unknown categories as white boxes", () => {
  const fps = ["target", "other", "stuck_closed", "weird"].map((category) => ({ category }));
  assert.deepEqual(drawOrder(fps).map((f) => f.category), ["other", "weird", "stuck_closed", "target"]);
  assert.deepEqual(fps.map((f) => f.category), ["target", "other", "stuck_closed", "weird"]); // not sorted in place
  const target = { color: "red", width: 2, dash: [], alpha: 1, marker: "corners" };
  assert.equal(footprintStyle({ target }, "target"), target);
  assert.deepEqual(footprintStyle(null, "other"), { color: "white", width: 1, dash: [], alpha: 1, marker: "box" });
});

test("scale bar and compass geometry in a 300 px view", () => {
  // 5" field: a 1" bar of 60 px, 8% (24 px) in from the lower left corner
  assert.deepEqual(scaleBar(5, 300), { length: 1, label: "1″", x0: 24, x1: 84, y: 276, px: 60 });
  // arms of 36 px from (276, 60): north up to (276, 24), east left to (240, 60)
  const [n, e] = compassArrows(300);
  assert.deepEqual([n.label, n.from, n.to, n.at], ["N", [276, 60], [276, 24], [276, 15]]);
  assert.deepEqual([e.label, e.from, e.to, e.at], ["E", [276, 60], [240, 60], [231, 60]]);
  // arrow heads: barbs 6 px behind the tip, 0.45 rad either side of the shaft
  const [tip, left, right] = n.head;
  assert.deepEqual(tip, [276, 24]);
  near(left[0], 276 + 6 * Math.sin(0.45));
  near(right[0], 276 - 6 * Math.sin(0.45));
  near(left[1], 24 + 6 * Math.cos(0.45));
  near(right[1], 24 + 6 * Math.cos(0.45));
  near(e.head[1][0], 240 + 6 * Math.cos(0.45));
  near(Math.abs(e.head[1][1] - 60), 6 * Math.sin(0.45));
});

test("the readout names the shutter under the mouse", () => {
  const box = [[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]];
  const fps = [{ category: "target", corners: box, observation: "o1", object_id: "J1", state: "open" }];
  assert.equal(hoverText(0.1, 0.1, fps), "0.10″ E, 0.10″ N: target shutter, o1 J1 (open)");
  assert.equal(hoverText(2, 0, fps), "2.00″ E, 0.00″ N");
});

test("overlapping shutters are all named; the readout gives RA and Dec (issue #14)", () => {
  const box = [[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]];
  const fps = [
    { category: "target", corners: box, observation: "o1", object_id: "J1", state: "open" },
    { category: "other", corners: box, observation: "o2", object_id: "J2", state: "open" },
  ];
  assert.equal(hoverText(0, 0, fps), "0.00″ E, 0.00″ N: target shutter, o1 J1 (open); other shutter, o2 J2 (open)");
  // 36″ east at Dec 0 is 0.01 deg of RA; 36″ north is 0.01 deg of Dec (by hand)
  const [ra, dec] = offsetToRaDec(30, 0, 36, 0);
  assert.ok(Math.abs(ra - 30.01) < 1e-9 && Math.abs(dec) < 1e-12);
  const [ra2, dec2] = offsetToRaDec(30, 60, 0, 36);
  assert.ok(Math.abs(ra2 - 30) < 1e-12 && Math.abs(dec2 - 60.01) < 1e-9);
  // at Dec 60 an east offset spans twice the RA (1 / cos 60°), to first order
  assert.ok(Math.abs(offsetToRaDec(30, 60, 3.6, 0)[0] - 30.002) < 1e-6);
  // 34.420833 deg = 2h17m41.0s; -5.171389 deg = -5°10'17.0"
  assert.equal(sexagesimal(34.420833, -5.171389), "02:17:41.00 −05:10:17.0");
  assert.match(hoverText(0, 0, [], [34.420833, -5.171389]), /02:17:41.00 −05:10:17.0 \(34.42083, -5.17139\)/);
});

test("stretches lift the faint end and keep the ends fixed", () => {
  for (const kind of ["linear", "sqrt", "asinh", "log"]) {
    const lut = stretchLUT(kind);
    assert.equal(lut[0], 0); assert.equal(lut[255], 255);
  }
  assert.equal(stretchLUT("sqrt")[64], Math.round(255 * Math.sqrt(64 / 255)));
  assert.ok(stretchLUT("asinh")[20] > 3 * stretchLUT("linear")[20]);
});
