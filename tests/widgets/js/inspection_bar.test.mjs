// Unit tests of the inspection bar's pure functions (run: node --test tests/widgets/js/).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  barState, dqSummary, flagToggles, keyAction, parseSlug, parseZ, qualityText, queueText, stateText,
  storedText, toggleFlag, whenText,
} from "../../../widgets/inspection_bar.js";

const FLAGS = [
  { name: "CHIP_GAP", value: 1 }, { name: "CONTAMINATION", value: 2 }, { name: "LOW_SNR", value: 32 },
];

test("typed redshifts: the archive's range, empty clears, anything else explained", () => {
  assert.deepEqual(parseZ("2.315"), { z: 2.315 });
  assert.deepEqual(parseZ(" -0.1 "), { z: -0.1 });
  assert.deepEqual(parseZ("30"), { z: 30 });
  assert.deepEqual(parseZ(""), { z: null });
  assert.match(parseZ("two").error, /"two" is not a redshift: type a number from -0.1 to 30/);
  assert.ok(parseZ("30.5").error && parseZ("-1").error && parseZ("NaN").error);
});

test("keys: 0-4 choose the quality, Enter saves, s skips; never inside a text box", () => {
  assert.deepEqual(keyAction("4"), { quality: 4 });
  assert.deepEqual(keyAction("0"), { quality: 0 });
  assert.equal(keyAction("5"), null);
  assert.deepEqual(keyAction("Enter"), { save: true });
  assert.deepEqual(keyAction("s"), { skip: true });
  assert.equal(keyAction("4", true), null);
  assert.equal(keyAction("Enter", false, true), null); // Ctrl+Enter is the notebook's
  assert.equal(keyAction("ArrowDown"), null);
});

test("quality and time texts", () => {
  assert.equal(qualityText(4), "4 secure");
  assert.equal(qualityText(1), "1 impossible");
  assert.equal(qualityText(null), "");
  assert.equal(whenText("2026-12-07T15:53:05.123+00:00"), "2026-12-07 15:53");
  assert.equal(whenText(null), "");
});

test("the stored line says who inspected, when, or that nobody did", () => {
  const base = { object_id: "J1", redshift_auto: 2.30521, redshift_inspected: null, redshift_quality: 0 };
  assert.equal(storedText(base), "J1 · auto z = 2.3052 · not inspected");
  assert.equal(
    storedText({ ...base, redshift_inspected: 2.31, redshift_quality: 4, last_inspected_by: "Ana", last_inspected_at: "2026-12-07T15:00:00+00:00" }),
    "J1 · auto z = 2.3052 · inspected: z = 2.3100, 4 secure by Ana at 2026-12-07 15:00",
  );
  assert.equal(storedText({}), "no object chosen");
});

test("the state line: an unsaved draft, then the save's own text", () => {
  assert.equal(barState({}, {}), "clean");
  assert.equal(stateText({}, {}), "");
  assert.equal(barState({}, { quality: 4 }), "edited");
  assert.equal(stateText({}, { redshift: 2.31, quality: 4 }), "not saved: z = 2.3100, 4 secure (Enter saves)");
  const sent = { state: "sending", text: "saved locally, sending: 4 secure" };
  assert.equal(barState(sent, {}), "sending");
  assert.equal(stateText(sent, {}), "saved locally, sending: 4 secure");
  assert.equal(barState({ state: "conflict", text: "conflict: …" }, {}), "conflict");
  assert.equal(barState(sent, { quality: 3 }), "edited"); // a new draft over a saved one
  assert.equal(barState({ state: "discarded", text: "dropped" }, {}), "discarded");
});

test("DQ toggles follow the bitmask; a toggle flips one bit", () => {
  assert.deepEqual(flagToggles(33, FLAGS).map((f) => f.on), [true, false, true]);
  assert.equal(toggleFlag(33, 32), 1);
  assert.equal(toggleFlag(1, 2), 3);
  assert.equal(toggleFlag(0, 256), 256);
});

test("queue position and tag slugs", () => {
  assert.equal(queueText({ name: "uninspected", position: 2, total: 100 }), "uninspected: 3 of 100");
  assert.equal(queueText({ name: "list", position: null, total: 3 }), "list: – of 3");
  assert.equal(queueText({}), "");
  assert.deepEqual(parseSlug(" LRD "), { slug: "lrd" });
  assert.match(parseSlug("two words").error, /is not a tag/);
});

test("the DQ section's title counts the flagged spectra", () => {
  assert.equal(dqSummary([{ dq_flags: 0 }, { dq_flags: 34 }, { dq_flags: 1 }]), "DQ flags: 3 spectra, 2 flagged");
  assert.equal(dqSummary([{ dq_flags: 0 }]), "DQ flags: 1 spectrum, 0 flagged");
  assert.equal(dqSummary([]), "DQ flags: no spectra");
});
