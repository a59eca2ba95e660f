// Unit tests of the ObjectBrowser's pure functions (run: node --test tests/widgets/js/).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  buildFilters,
  formFromFilters,
  formatCell,
  INSPECTION_CHOICES,
  inspectionChoice,
  headerText,
  moveCursor,
  nextSort,
  pageOffset,
  parseNumber,
  prefetchOffsets,
  rangeText,
  toggleChoice,
} from "../../../widgets/object_browser.js";

test("cells: fixed decimals per column, lists joined, quality named", () => {
  assert.equal(formatCell("ra", 34.4208594526), "34.420859");
  assert.equal(formatCell("redshift", 9.67239512), "9.6724");
  assert.equal(formatCell("max_snr", 8.26), "8.3");
  assert.equal(formatCell("gratings", ["G395M", "PRISM"]), "G395M, PRISM");
  assert.equal(formatCell("redshift_quality", 4), "4 secure");
  assert.equal(formatCell("redshift", null), "");
  assert.equal(formatCell("has_photometry", true), "✓");
  assert.equal(formatCell("object_id", "J021741.00-051017.0"), "J021741.00-051017.0");
});

test("filter form to the filters trait, bad boxes reported and left out", () => {
  const ok = buildFilters({
    fields: ["uds"], programs: [], gratings: ["PRISM"], tags: [], redshift_quality: ["3", "4"],
    zmin: "4", zmax: " 8.5 ", snrmin: "", snrmax: "", ra: "34.4", dec: "-5.2", radius: "30", search: " J0217 ",
  });
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(ok.filters, {
    fields: ["uds"], gratings: ["PRISM"], redshift_quality: [3, 4], redshift_range: [4, 8.5],
    cone_search: [34.4, -5.2, 30], search: "J0217",
  });
  const open = buildFilters({ zmin: "", zmax: "3", snrmin: "5" });
  assert.deepEqual(open.filters, { redshift_range: [null, 3], max_snr_range: [5, null] });
  const bad = buildFilters({ zmin: "four", snrmin: "9", snrmax: "2", ra: "10" });
  assert.equal(bad.errors.length, 3);
  assert.match(bad.errors[0], /redshift: "four" is not a number/);
  assert.match(bad.errors[1], /S\/N: minimum 9 is above maximum 2/);
  assert.match(bad.errors[2], /cone/);
  assert.deepEqual(bad.filters, {});
  assert.equal(parseNumber(""), null);
  assert.ok(Number.isNaN(parseNumber("1e")));
});

test("keyboard: arrows move a row, pages jump, never past the ends", () => {
  const at = (offset, index) => ({ offset, index, total: 103, pageSize: 25 });
  assert.deepEqual(moveCursor(at(0, 3), "ArrowDown"), { offset: 0, index: 4 });
  assert.deepEqual(moveCursor(at(0, 24), "ArrowDown"), { offset: 25, index: 0 });
  assert.deepEqual(moveCursor(at(25, 0), "ArrowUp"), { offset: 0, index: 24 });
  assert.deepEqual(moveCursor(at(0, 0), "ArrowUp"), { offset: 0, index: 0 });
  assert.deepEqual(moveCursor(at(0, 5), "PageDown"), { offset: 25, index: 5 });
  assert.deepEqual(moveCursor(at(75, 20), "PageDown"), { offset: 100, index: 2 }); // row 102 is last
  assert.deepEqual(moveCursor(at(50, 0), "End"), { offset: 100, index: 2 });
  assert.deepEqual(moveCursor(at(50, 7), "Home"), { offset: 0, index: 0 });
  assert.equal(moveCursor(at(0, 0), "x"), null);
  assert.equal(moveCursor({ offset: 0, index: 0, total: 0, pageSize: 25 }, "ArrowDown"), null);
  assert.equal(rangeText(25, 25, 100000), "rows 26–50 of 100,000");
  assert.equal(rangeText(0, 0, 0), "no rows match");
});

test("the filters trait fills the form, and the form gives the same filters back", () => {
  const filters = {
    fields: ["uds"], gratings: ["PRISM"], redshift_quality: [3, 4], redshift_range: [4, 8.5],
    cone_search: [34.4, -5.2, 30], search: "J0217",
  };
  const form = formFromFilters(filters);
  assert.deepEqual(form, {
    fields: ["uds"], programs: [], gratings: ["PRISM"], tags: [], redshift_quality: [3, 4],
    zmin: "4", zmax: "8.5", snrmin: "", snrmax: "", pzmin: "", pzmax: "", tmin: "", tmax: "",
    ra: "34.4", dec: "-5.2", radius: "30", search: "J0217", staleness: false, all_gratings: false,
    inspection: "",
  }); // every box holds text: Explorer(cf, redshift_range=(4, 8.5)) shows 4 and 8.5 in the boxes
  assert.deepEqual(buildFilters(form), { filters, errors: [] });
  const open = { redshift_range: [null, 3], max_snr_range: [5, null] };
  assert.deepEqual(buildFilters(formFromFilters(open)).filters, open);
  const empty = formFromFilters(undefined);
  assert.deepEqual(buildFilters(empty), { filters: {}, errors: [] });
  assert.equal(empty.search, "");
  assert.deepEqual(formFromFilters({ redshift_quality: [4, "x", 2.5], programs: [1180] }).redshift_quality, [4]);
  assert.deepEqual(formFromFilters({ programs: [1180] }).programs, ["1180"]);
});

test("a ticked box adds its value in the vocabulary's order; unticked removes it", () => {
  assert.deepEqual(toggleChoice(["a", "b", "c"], ["c"], "a", true), ["a", "c"]);
  assert.deepEqual(toggleChoice(["a", "b", "c"], ["a", "c"], "c", false), ["a"]);
  assert.deepEqual(toggleChoice([0, 1, 2, 3, 4], ["4"], 2, true), [2, 4]); // quality codes stay numbers
  assert.deepEqual(toggleChoice(["a", "b"], ["zz"], "b", true), ["b"]); // a value gone from the vocabulary drops
});

test("paging buttons never go past either end; the neighbours are fetched ahead", () => {
  // 103 rows, 25 a page: pages start at 0, 25, 50, 75, 100
  assert.equal(pageOffset("first", 50, 25, 103), 0);
  assert.equal(pageOffset("prev", 10, 25, 103), 0);
  assert.equal(pageOffset("prev", 50, 25, 103), 25);
  assert.equal(pageOffset("next", 75, 25, 103), 100);
  assert.equal(pageOffset("next", 100, 25, 103), 100);
  assert.equal(pageOffset("last", 0, 25, 103), 100);
  assert.equal(pageOffset("last", 0, 25, 100), 75);
  assert.equal(pageOffset("last", 0, 25, 0), 0);
  assert.deepEqual(prefetchOffsets(0, 25, 103), [25, 50]);
  assert.deepEqual(prefetchOffsets(75, 25, 103), [100, 50]);
  assert.deepEqual(prefetchOffsets(100, 25, 103), [75]);
  assert.deepEqual(prefetchOffsets(0, 25, 10), []);
});

test("a header click sorts by its column, a second click reverses it; the header shows which", () => {
  assert.deepEqual(nextSort("redshift", "redshift", "asc"), { sort: "redshift", sort_dir: "desc" });
  assert.deepEqual(nextSort("redshift", "redshift", "desc"), { sort: "redshift", sort_dir: "asc" });
  assert.deepEqual(nextSort("ra", "redshift", "desc"), { sort: "ra", sort_dir: "asc" });
  assert.equal(headerText("redshift", "redshift", "asc"), "z ▲");
  assert.equal(headerText("redshift", "redshift", "desc"), "z ▼");
  assert.equal(headerText("ra", "redshift", "asc"), "RA [°]");
});

// -- issue #14: the grid, the new filters, sexagesimal positions, actions

import { columnLabel, columnWidth, isNumeric, jobText, parseAngle, selectionText } from "../../../widgets/object_browser.js";

test("sexagesimal positions: RA in hours (or degrees with d), Dec in degrees", () => {
  const near = (a, b) => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);
  // 02:17:41.0 = (2 + 17/60 + 41/3600) h * 15 = 34.420833 deg
  near(parseAngle("02:17:41.0", "ra"), (2 + 17 / 60 + 41 / 3600) * 15);
  near(parseAngle("2h17m41s", "ra"), (2 + 17 / 60 + 41 / 3600) * 15);
  near(parseAngle("02 17 41", "ra"), (2 + 17 / 60 + 41 / 3600) * 15);
  near(parseAngle("34d25m15s", "ra"), 34 + 25 / 60 + 15 / 3600);
  near(parseAngle("-05:10:17", "dec"), -(5 + 10 / 60 + 17 / 3600));
  near(parseAngle("-5d10m17s", "dec"), -(5 + 10 / 60 + 17 / 3600));
  near(parseAngle("34.4208", "ra"), 34.4208);
  assert.equal(parseAngle("", "ra"), null);
  assert.ok(Number.isNaN(parseAngle("25:00:00", "ra"))); // 375 deg: off the sky
  assert.ok(Number.isNaN(parseAngle("-95:00:00", "dec")));
  assert.ok(Number.isNaN(parseAngle("02:61:00", "ra")));
  assert.ok(Number.isNaN(parseAngle("north", "dec")));
  const f = buildFilters({ ra: "02:17:41.0", dec: "-05:10:17", radius: "30" });
  assert.deepEqual(f.errors, []);
  assert.equal(f.filters.cone_search[2], 30);
  near(f.filters.cone_search[1], -(5 + 10 / 60 + 17 / 3600));
});

test("photo-z, exposure time, needs review and all-gratings filters", () => {
  const f = buildFilters({ gratings: ["PRISM", "G395M"], pzmin: "4", pzmax: "", tmin: "1000", tmax: "5000", staleness: true, all_gratings: true });
  assert.deepEqual(f.filters, {
    gratings: ["PRISM", "G395M"], photo_z_range: [4, null], exposure_time_range: [1000, 5000],
    staleness: true, all_gratings: true,
  });
  // all-gratings means nothing without gratings ticked
  assert.deepEqual(buildFilters({ all_gratings: true }).filters, {});
  assert.match(buildFilters({ pzmin: "5", pzmax: "2" }).errors[0], /photo-z: minimum 5 is above maximum 2/);
  const form = formFromFilters({ photo_z_range: [2, 12], exposure_time_range: [null, 3000], staleness: true });
  assert.deepEqual([form.pzmin, form.pzmax, form.tmin, form.tmax, form.staleness], ["2", "12", "", "3000", true]);
});

test("the grid: labels with units, numbers right-aligned, fixed widths", () => {
  assert.equal(columnLabel("ra"), "RA [°]");
  assert.equal(columnLabel("max_exposure_time"), "t exp max [s]");
  assert.equal(columnLabel("redshift"), "z");
  assert.equal(columnLabel("brand_new"), "brand new");
  assert.deepEqual(["ra", "redshift", "n_spectra", "object_id", "tags"].map(isNumeric), [true, true, true, false, false]);
  assert.equal(columnWidth("object_id"), 21); // "J021741.00-051017.0" is 19 characters
  assert.equal(columnWidth("unknown"), 12);
});

test("download / export buttons and the job line", () => {
  assert.equal(selectionText("Download", 3, 120), "Download 3 checked");
  assert.equal(selectionText("Download", 0, 1200), "Download all 1,200");
  assert.equal(jobText({ kind: "download", state: "running", done: 2, total: 12, current: "s1" }), "download: 2/12 files (s1)");
  assert.equal(jobText({ kind: "download", state: "done", message: "12 files downloaded" }), "12 files downloaded");
  assert.equal(jobText({ kind: "download", state: "error", message: "offline" }), "download failed: offline");
  assert.equal(jobText({}), "");
});

test("inspection filter menu: each choice sets its filters, and reads back from them", () => {
  const base = { fields: [], programs: [], gratings: [], tags: [], redshift_quality: [], search: "" };
  const cases = {
    "": {}, not_inspected: { inspected_only: false }, inspected: { inspected_only: true },
    mine: { inspected_by: "me" },
  };
  for (const [choice, filters] of Object.entries(cases)) {
    assert.deepEqual(buildFilters({ ...base, inspection: choice }).filters, filters);
    assert.equal(inspectionChoice(filters), choice);
    assert.equal(formFromFilters(filters).inspection, choice);
  }
  assert.deepEqual(Object.keys(INSPECTION_CHOICES), Object.keys(cases));
  assert.equal(formatCell("last_inspected_at", "2026-12-07T15:53:05+00:00"), "2026-12-07 15:53");
});

test("inspection columns have short headers; needs review is the staleness box", () => {
  assert.equal(headerText("last_inspected_by_name", "x", "asc"), "inspected by");
  assert.deepEqual(buildFilters({ ...formFromFilters({}), staleness: true, inspection: "not_inspected" }).filters,
    { staleness: true, inspected_only: false });
  assert.equal(headerText("last_inspected_at", "last_inspected_at", "desc"), "inspected ▼");
});
