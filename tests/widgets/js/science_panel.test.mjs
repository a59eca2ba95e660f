// Unit tests of the SciencePanel's pure functions (run: node --test tests/widgets/js/).
// Expected values are hand computations.
import assert from "node:assert/strict";
import { test } from "node:test";

import { deltaChi2, nearbyText, photoZText, scaleTo, sedRanges } from "../../../widgets/science_panel.js";

test("log and linear scales", () => {
  assert.equal(scaleTo(10, 1, 100, 0, 200, true), 100); // one decade of two
  assert.equal(scaleTo(5, 0, 10, 50, 150), 100);
  assert.equal(scaleTo(1, 1, 100, 0, 200, true), 0);
});

test("SED ranges: log in flux when every flux is positive, linear otherwise", () => {
  const pos = sedRanges([{ wave: [1, 4], flux: [2, 8], err: [1, 1] }]);
  assert.deepEqual(pos.x, [1 / 1.15, 4 * 1.15]);
  assert.equal(pos.logY, true);
  assert.deepEqual(pos.y, [1 / 1.5, 9 * 1.5]); // 2-1 and 8+1
  const neg = sedRanges([{ wave: [1, 2], flux: [-1, 3], err: [null, null] }]);
  assert.equal(neg.logY, false);
  assert.deepEqual(neg.y, [-1 - 0.32, 3 + 0.32]); // padded 8% of 4
  assert.deepEqual(sedRanges([]), { x: [0.5, 5], y: [0, 1], logY: false });
});

test("photo-z with its errors, neighbours, Δχ²", () => {
  assert.equal(photoZText({ z: 5.123, lo: 0.25, hi: 0.3 }), "z_phot = 5.12 (+0.30 −0.25)");
  assert.equal(photoZText({ z: 5.1, lo: null, hi: null }), "z_phot = 5.10");
  assert.equal(photoZText({}), "no photo-z");
  assert.equal(nearbyText({ object_id: "J1", distance: 12.34, redshift: 5.1, quality: 3 }), "J1 12.3″ z = 5.100 (3)");
  assert.equal(nearbyText({ object_id: "J2", distance: null, redshift: null }), "J2");
  const { delta, zMin } = deltaChi2([10, 4, 7, NaN], [1, 2, 3, 4]);
  assert.deepEqual(delta.slice(0, 3), [6, 0, 3]);
  assert.equal(zMin, 2);
});
