// Unit tests of the Explorer header's pure functions (run: node --test tests/widgets/js/).
import assert from "node:assert/strict";
import { test } from "node:test";

import { objectSummary, progressFraction, progressText } from "../../../widgets/explorer.js";

test("object summary line", () => {
  const info = {
    object_id: "J021741.00-051017.0", field: "uds", redshift: 9.672395, quality_label: "secure",
    tags: ["lrd", "blagn"], n_spectra: 4, gratings: ["G140M", "G395M", "PRISM"],
  };
  assert.equal(
    objectSummary(info),
    "J021741.00-051017.0 · uds · z = 9.6724 (secure) · tags: lrd, blagn · 4 spectra (G140M, G395M, PRISM)",
  );
  assert.equal(objectSummary({ object_id: "X", redshift: null, quality_label: "impossible", n_spectra: 1 }), "X · no redshift (impossible) · 1 spectrum");
  assert.equal(objectSummary({}), "choose an object in the table");
});

test("progress text and fraction", () => {
  const p = { done: 1, total: 4, state: "loading", action: "fetching", current: "abc_g395m" };
  assert.equal(progressText(p), "fetching 2/4: abc_g395m");
  assert.equal(progressFraction(p), 0.25);
  assert.equal(progressText({ done: 4, total: 4, state: "done" }), "4 spectra loaded");
  assert.equal(progressFraction({ done: 0, total: 0, state: "done" }), 1);
  assert.equal(progressText({ done: 0, total: 2, state: "loading" }), "loading 0/2");
  assert.equal(progressText({}), "");
});
