// Unit tests of the CutoutPanel's pure functions (run: node --test tests/widgets/js/).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  cornerSegments,
  lengthLabel,
  niceLength,
  pointInPolygon,
  skyToCanvas,
  visibleFootprints,
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
