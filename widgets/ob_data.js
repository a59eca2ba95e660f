// ObjectBrowser, its data: cell formats, column labels and units, the filter form (with
// sexagesimal positions), the keyboard cursor and paging. Pure functions (tested with
// node --test), joined with object_browser.js into one ES module by _assets.py.

export const QUALITY = ["none", "impossible", "tentative", "probable", "secure"];
const DECIMALS = {
  ra: 6, dec: 6, redshift: 4, redshift_auto: 4, redshift_inspected: 4, photo_z: 3,
  photo_z_err_lo: 3, photo_z_err_hi: 3, max_snr: 1, max_exposure_time: 0, distance: 2,
};

/** A cell's text: fixed decimals per column, lists joined, quality with its name. */
export function formatCell(column, value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.join(", ");
  if (typeof value === "boolean") return value ? "✓" : "";
  if (column === "redshift_quality" && Number.isInteger(value)) return `${value} ${QUALITY[value] ?? ""}`.trim();
  if (column.endsWith("_at") && typeof value === "string") return value.replace("T", " ").slice(0, 16);
  if (typeof value === "number" && column in DECIMALS) return value.toFixed(DECIMALS[column]);
  return String(value);
}

/** A number typed in a filter box: null when empty, NaN when it is not a number. */
export function parseNumber(text) {
  const s = String(text ?? "").trim();
  if (s === "") return null;
  const v = Number(s);
  return Number.isFinite(v) ? v : NaN;
}

/**
 * The filters trait from the filter form. Bad boxes give messages (and no filter for them),
 * so a typo never reaches the kernel and never clears what was typed.
 * @returns {{filters: object, errors: string[]}}
 */
export function buildFilters(form) {
  const filters = {};
  const errors = [];
  for (const key of ["fields", "programs", "gratings", "tags"]) if (form[key]?.length) filters[key] = [...form[key]];
  if (form.redshift_quality?.length) filters.redshift_quality = form.redshift_quality.map(Number);
  const range = (key, lo, hi, what) => {
    const a = parseNumber(lo), b = parseNumber(hi);
    if (Number.isNaN(a) || Number.isNaN(b)) { errors.push(`${what}: "${Number.isNaN(a) ? lo : hi}" is not a number`); return; }
    if (a === null && b === null) return;
    if (a !== null && b !== null && a > b) { errors.push(`${what}: minimum ${a} is above maximum ${b}`); return; }
    filters[key] = [a, b];
  };
  range("redshift_range", form.zmin, form.zmax, "redshift");
  range("max_snr_range", form.snrmin, form.snrmax, "S/N");
  range("photo_z_range", form.pzmin, form.pzmax, "photo-z");
  range("exposure_time_range", form.tmin, form.tmax, "exposure time");
  if (form.staleness) filters.staleness = true;
  Object.assign(filters, INSPECTION_CHOICES[form.inspection || ""] || {});
  if (form.all_gratings && filters.gratings) filters.all_gratings = true;
  const cone = [parseAngle(form.ra, "ra"), parseAngle(form.dec, "dec"), parseNumber(form.radius)];
  const given = cone.filter((v) => v !== null).length;
  if (cone.some(Number.isNaN)) errors.push('position (cone search): RA and Dec in degrees or sexagesimal ("02:17:41.0", "-05:10:17"), radius in arcsec');
  else if (given === 3) filters.cone_search = cone;
  else if (given > 0) errors.push("position (cone search): give RA, Dec and a radius (arcsec), or none of them");
  const search = String(form.search ?? "").trim();
  if (search) filters.search = search;
  return { filters, errors };
}

/**
 * Where the cursor goes on a key: {offset, index} of the page and the row within it.
 * Rows past the end are never reached; a key that is not navigation returns null.
 */
export function moveCursor({ offset, index, total, pageSize }, key) {
  if (!total) return null;
  const last = total - 1;
  const here = offset + index;
  const jump = {
    ArrowDown: here + 1, ArrowUp: here - 1, PageDown: here + pageSize, PageUp: here - pageSize,
    Home: 0, End: last,
  }[key];
  if (jump === undefined) return null;
  const row = Math.max(0, Math.min(last, jump));
  const pageStart = Math.floor(row / pageSize) * pageSize;
  return { offset: pageStart, index: row - pageStart };
}

/** "rows 26–50 of 100,000" */
export function rangeText(offset, count, total) {
  if (!total) return "no rows match";
  return `rows ${(offset + 1).toLocaleString("en-US")}–${(offset + count).toLocaleString("en-US")} of ${total.toLocaleString("en-US")}`;
}

// ---------------------------------------------------------------------------------------------

/** The inspection menu of the filters: each choice and the filters it sets ("needs review" is
 * the staleness box beside it). */
export const INSPECTION_CHOICES = {
  "": {},
  not_inspected: { inspected_only: false },
  inspected: { inspected_only: true },
  mine: { inspected_by: "me" },
};
export const INSPECTION_LABELS = { "": "any", not_inspected: "not inspected", inspected: "inspected", mine: "inspected by me" };

/** The inspection menu's choice for a filters trait (the inverse of INSPECTION_CHOICES). */
export function inspectionChoice(filters) {
  const f = filters || {};
  if (f.inspected_by) return "mine";
  if (f.inspected_only === true) return "inspected";
  if (f.inspected_only === false) return "not_inspected";
  return "";
}

/**
 * The filter form for a filters trait (the inverse of buildFilters), as on first render. Every
 * box value is text, so numbers given in Python (redshift_range=(2, 12)) show in their boxes.
 */
export function formFromFilters(filters) {
  const f = filters || {};
  const form = {};
  const text = (v) => (v === null || v === undefined ? "" : String(v));
  for (const k of ["fields", "programs", "gratings", "tags"]) form[k] = (f[k] || []).map(String);
  form.redshift_quality = (f.redshift_quality || []).map(Number).filter(Number.isInteger);
  const pair = (key, a, b) => { const v = f[key] || []; form[a] = text(v[0]); form[b] = text(v[1]); };
  pair("redshift_range", "zmin", "zmax");
  pair("max_snr_range", "snrmin", "snrmax");
  pair("photo_z_range", "pzmin", "pzmax");
  pair("exposure_time_range", "tmin", "tmax");
  const c = f.cone_search || [];
  [form.ra, form.dec, form.radius] = [text(c[0]), text(c[1]), text(c[2])];
  form.search = f.search || "";
  form.staleness = f.staleness === true;
  form.inspection = inspectionChoice(f);
  form.all_gratings = f.all_gratings === true;
  return form;
}

/** A check group's choice after one box changes: the values ticked, in the vocabulary's order. */
export function toggleChoice(values, chosen, value, on) {
  const set = new Set(chosen.map(String));
  if (on) set.add(String(value)); else set.delete(String(value));
  return values.filter((x) => set.has(String(x)));
}

/** The offset a paging button goes to: "first", "prev", "next" or "last" (never past the end). */
export function pageOffset(button, offset, size, total) {
  const lastPage = Math.max(0, Math.floor((total - 1) / size) * size);
  if (button === "first") return 0;
  if (button === "prev") return Math.max(0, offset - size);
  if (button === "next") return Math.min(lastPage, offset + size);
  return lastPage;
}

/** The pages fetched ahead so next/previous show at once: the next two and the previous. */
export function prefetchOffsets(offset, size, total) {
  return [offset + size, offset + 2 * size, offset - size].filter((off) => off >= 0 && off < total);
}

/** The sort after a click on a column's header: the same column flips, another sorts ascending. */
export function nextSort(column, sort, dir) {
  if (column === sort) return { sort, sort_dir: dir === "asc" ? "desc" : "asc" };
  return { sort: column, sort_dir: "asc" };
}

/** A column header: its label and unit, with ▲ or ▼ when the table is sorted by it. */
export function headerText(column, sort, dir) {
  return columnLabel(column) + (column === sort ? (dir === "asc" ? " ▲" : " ▼") : "");
}


/**
 * An angle typed in the position box, in degrees: a number of degrees, or sexagesimal
 * ("02:17:41.0", "2h17m41s", "02 17 41" for RA in hours; "-05:10:17", "-5d10m17s" for Dec).
 * null when empty, NaN when unreadable or off the sky.
 * @param {string} text
 * @param {"ra"|"dec"} axis
 */
export function parseAngle(text, axis) {
  const s = String(text ?? "").trim();
  if (s === "") return null;
  const plain = Number(s);
  let deg;
  if (Number.isFinite(plain) && !/[hdms:'"°\s]/i.test(s)) deg = plain;
  else {
    const m = s.match(/^([+-])?\s*(\d+(?:\.\d*)?)\s*[hd°:\s]\s*(\d+(?:\.\d*)?)?\s*[m':\s]?\s*(\d+(?:\.\d*)?)?\s*[s"]?$/i);
    if (!m) return NaN;
    const [a, b, c] = [m[2], m[3] || "0", m[4] || "0"].map(Number);
    if (b >= 60 || c >= 60) return NaN;
    const sign = m[1] === "-" ? -1 : 1;
    const hours = axis === "ra" && !/[d°]/i.test(s);
    deg = sign * (a + b / 60 + c / 3600) * (hours ? 15 : 1);
  }
  if (axis === "ra" ? !(deg >= 0 && deg < 360) : !(deg >= -90 && deg <= 90)) return NaN;
  return deg;
}

/** Column labels with units, their kind (numbers align right) and width (ch) in the grid. */
export const COLUMN_META = {
  object_id: ["object", "", 21, false], field: ["field", "", 7, false], ra: ["RA", "°", 11, true],
  dec: ["Dec", "°", 11, true], redshift: ["z", "", 8, true], redshift_auto: ["z auto", "", 8, true],
  redshift_inspected: ["z inspected", "", 9, true], redshift_quality: ["z quality", "", 11, false],
  n_targets: ["targets", "", 7, true], n_spectra: ["spectra", "", 7, true], programs: ["programs", "", 14, false],
  gratings: ["gratings", "", 16, false], observations: ["observations", "", 16, false],
  member_target_ids: ["targets", "", 16, false], tags: ["tags", "", 14, false], max_snr: ["S/N max", "", 8, true],
  max_exposure_time: ["t exp max", "s", 10, true], has_photometry: ["phot", "", 5, false],
  photo_z: ["z phot", "", 8, true], photo_z_err_lo: ["z phot −", "", 8, true], photo_z_err_hi: ["z phot +", "", 8, true],
  last_inspected_at: ["inspected", "", 12, false], last_inspected_by: ["inspected by", "", 10, false],
  last_inspected_by_name: ["inspected by", "", 12, false],
  last_data_change_at: ["data changed", "", 12, false], staleness_reason: ["needs review", "", 12, false],
  distance: ["distance", "″", 9, true],
};

/** A column's header label with its unit: "RA [°]", "t exp max [s]", "z". */
export function columnLabel(column) {
  const meta = COLUMN_META[column];
  if (!meta) return column.replace(/_/g, " ");
  return meta[1] ? `${meta[0]} [${meta[1]}]` : meta[0];
}

/** Whether a column holds numbers (right-aligned, tabular figures). */
export function isNumeric(column) {
  return Boolean(COLUMN_META[column]?.[3]);
}

/** A column's width in ch: fixed, so widths never jump on sort or page. */
export function columnWidth(column) {
  return COLUMN_META[column]?.[2] ?? 12;
}

/** "Download 3 objects" / "Download all 120" for the checked rows or, with none, the table. */
export function selectionText(verb, checked, total) {
  if (checked > 0) return `${verb} ${checked} checked`;
  return `${verb} all ${total.toLocaleString("en-US")}`;
}

/** "downloading 3/12 files", "12 files downloaded (2 already here)", "" when idle. */
export function jobText(job) {
  if (!job || !job.state) return "";
  const what = job.kind === "export" ? "export" : "download";
  if (job.state === "running") return `${what}: ${job.done}/${job.total} ${job.unit || "files"}${job.current ? ` (${job.current})` : ""}`;
  if (job.state === "error") return `${what} failed: ${job.message}`;
  return job.message || `${what} done`;
}
