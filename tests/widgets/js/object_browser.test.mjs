// Unit tests of the ObjectBrowser's pure functions (run: node --test tests/widgets/js/).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  buildFilters,
  formFromFilters,
  formatCell,
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
    zmin: 4, zmax: 8.5, snrmin: "", snrmax: "", ra: 34.4, dec: -5.2, radius: 30, search: "J0217",
  });
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
  assert.equal(headerText("redshift", "redshift", "asc"), "redshift ▲");
  assert.equal(headerText("redshift", "redshift", "desc"), "redshift ▼");
  assert.equal(headerText("ra", "redshift", "asc"), "ra");
});
