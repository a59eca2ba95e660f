// ObjectBrowser: the synced catalog as a paged table. Pages come from the kernel on demand
// (custom messages), only the visible page travels; filters, sort and columns are synced
// traits the kernel validates. Python side: campfire/views/widgets/object_browser.py. Pure
// functions (exported and tested with node --test) first, then the widget as module-level
// functions over a state object (BrowserState).

const QUALITY = ["none", "impossible", "tentative", "probable", "secure"];
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
  const cone = [form.ra, form.dec, form.radius].map(parseNumber);
  const given = cone.filter((v) => v !== null).length;
  if (cone.some(Number.isNaN)) errors.push("cone: RA, Dec and radius must be numbers (deg, deg, arcsec)");
  else if (given === 3) filters.cone_search = cone;
  else if (given > 0) errors.push("cone: give RA and Dec (deg) and a radius (arcsec), or none of them");
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

/** The filter form for a filters trait (the inverse of buildFilters), as on first render. */
export function formFromFilters(filters) {
  const f = filters || {};
  const form = {};
  for (const k of ["fields", "programs", "gratings", "tags"]) form[k] = (f[k] || []).map(String);
  form.redshift_quality = (f.redshift_quality || []).map(Number).filter(Number.isInteger);
  const pair = (key, a, b) => { const v = f[key] || []; form[a] = v[0] ?? ""; form[b] = v[1] ?? ""; };
  pair("redshift_range", "zmin", "zmax");
  pair("max_snr_range", "snrmin", "snrmax");
  const c = f.cone_search || [];
  [form.ra, form.dec, form.radius] = [c[0] ?? "", c[1] ?? "", c[2] ?? ""];
  form.search = f.search || "";
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

/** A column header: its name, with ▲ or ▼ when the table is sorted by it. */
export function headerText(column, sort, dir) {
  return column + (column === sort ? (dir === "asc" ? " ▲" : " ▼") : "");
}

// ---------------------------------------------------------------------------------------------
// the widget: module-level functions over one state object per view

/**
 * Everything one view of the widget holds.
 * @typedef {object} BrowserState
 * @property {object} model  the anywidget model
 * @property {ReturnType<typeof buildDom>} dom  the view's DOM nodes
 * @property {number} offset  the first row of the page shown
 * @property {object[]} rows  the page shown
 * @property {number} cursor  the keyboard row within the page (-1: none)
 * @property {number} seq  the last page request's number
 * @property {number} wanted  the request whose page is to be shown when it arrives (0: none)
 * @property {number|null} pendingCursor  where the cursor goes on that page
 * @property {Map<string, object[]>} cache  pages by `${query_id}:${offset}`
 * @property {Map<string, number>} inflight  pages asked for, by the same key, to their seq
 * @property {object} form  the filter form (see buildFilters)
 * @property {string[]} formErrors  what is wrong in the form
 * @property {Object<string, HTMLInputElement>} inputs  the form's number boxes by key
 * @property {number} searchTimer  the pending search (typing pauses 250 ms)
 * @property {number} selectTimer  the pending selection (keyboard: 150 ms)
 */

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function navButton(text, tip) {
  const b = h("button", "cf-ob-nav", text);
  b.type = "button";
  b.title = tip;
  return b;
}

/** The view's DOM (search, toggles, panels, table, paging footer), in el. */
function buildDom(el) {
  const root = h("div", "cf-ob");
  root.tabIndex = 0;
  const top = h("div", "cf-ob-top");
  const search = h("input", "cf-ob-search");
  Object.assign(search, { type: "search", placeholder: "search object or target id", spellcheck: false });
  const filterToggle = h("button", "cf-ob-toggle", "Filters ▾");
  const columnToggle = h("button", "cf-ob-toggle", "Columns ▾");
  const sqlToggle = h("button", "cf-ob-toggle", "SQL");
  for (const b of [filterToggle, columnToggle, sqlToggle]) b.type = "button";
  top.append(search, filterToggle, columnToggle, sqlToggle);
  const panel = h("div", "cf-ob-panel cf-hidden");
  const columnPanel = h("div", "cf-ob-panel cf-ob-columns cf-hidden");
  const sqlBox = h("pre", "cf-ob-sql cf-hidden");
  const errorBox = h("div", "cf-ob-error");
  const tableWrap = h("div", "cf-ob-wrap");
  const table = h("table", "cf-ob-table");
  const thead = h("thead");
  const tbody = h("tbody");
  table.append(thead, tbody);
  tableWrap.append(table);
  const footer = h("div", "cf-ob-footer");
  const first = navButton("«", "first page (Home)"), prev = navButton("‹", "previous page (PageUp)");
  const next = navButton("›", "next page (PageDown)"), last = navButton("»", "last page (End)");
  const info = h("span", "cf-ob-info");
  footer.append(first, prev, info, next, last);
  root.append(top, panel, columnPanel, sqlBox, errorBox, tableWrap, footer);
  el.appendChild(root);
  return { root, search, filterToggle, columnToggle, sqlToggle, panel, columnPanel, sqlBox, errorBox, thead, tbody, first, prev, next, last, info };
}

/** @returns {BrowserState} */
function createState(model, el) {
  return {
    model, dom: buildDom(el), offset: model.get("offset"), rows: model.get("rows"), cursor: -1,
    seq: 0, wanted: 0, pendingCursor: null, cache: new Map(), inflight: new Map(),
    form: { fields: [], programs: [], gratings: [], tags: [], redshift_quality: [] }, formErrors: [],
    inputs: {}, searchTimer: 0, selectTimer: 0,
  };
}

// -- the filter panel, built from the vocabulary

function numberBox(s, key, placeholder) {
  const box = h("input", "cf-ob-num");
  Object.assign(box, { type: "text", inputMode: "decimal", placeholder, size: 7 });
  box.dataset.key = key;
  box.addEventListener("change", () => { s.form[key] = box.value; sendFilters(s); });
  s.inputs[key] = box;
  return box;
}

function checkGroup(s, key, values, labels = values) {
  const group = h("div", "cf-ob-group");
  group.append(h("span", "cf-ob-glabel", key.replace("_", " ")));
  values.forEach((v, i) => {
    const label = h("label", "cf-ob-check");
    const box = h("input");
    box.type = "checkbox";
    box.value = String(v);
    box.checked = s.form[key].map(String).includes(String(v));
    box.addEventListener("change", () => {
      s.form[key] = toggleChoice(values, s.form[key], v, box.checked);
      sendFilters(s);
    });
    label.append(box, document.createTextNode(" " + labels[i]));
    group.append(label);
  });
  return group;
}

function buildPanel(s) {
  const { dom, form } = s;
  const vocab = s.model.get("vocab") || {};
  const row = (...items) => { const d = h("div", "cf-ob-frow"); d.append(...items); return d; };
  dom.panel.replaceChildren(
    checkGroup(s, "fields", vocab.fields || []),
    checkGroup(s, "programs", vocab.programs || []),
    checkGroup(s, "gratings", vocab.gratings || []),
    checkGroup(s, "tags", vocab.tags || []),
    checkGroup(s, "redshift_quality", [0, 1, 2, 3, 4], QUALITY.map((q, i) => `${i} ${q}`)),
    row(h("span", "cf-ob-glabel", "redshift"), numberBox(s, "zmin", "min"), numberBox(s, "zmax", "max"),
      h("span", "cf-ob-glabel", "S/N"), numberBox(s, "snrmin", "min"), numberBox(s, "snrmax", "max")),
    row(h("span", "cf-ob-glabel", "cone"), numberBox(s, "ra", "RA °"), numberBox(s, "dec", "Dec °"), numberBox(s, "radius", 'radius "')),
  );
  const clear = h("button", "cf-ob-clear", "Clear filters");
  clear.type = "button";
  clear.addEventListener("click", () => {
    for (const k of Object.keys(s.form)) s.form[k] = Array.isArray(s.form[k]) ? [] : "";
    dom.search.value = "";
    buildPanel(s);
    sendFilters(s);
  });
  dom.panel.append(clear);
  for (const [k, box] of Object.entries(s.inputs)) if (form[k] !== undefined && typeof form[k] === "string") box.value = form[k];
}

/** The filters trait into the form (on first render). */
function loadForm(s) {
  s.form = formFromFilters(s.model.get("filters"));
  s.dom.search.value = s.form.search;
}

function sendFilters(s) {
  const { filters, errors } = buildFilters(s.form);
  s.formErrors = errors;
  showError(s);
  if (errors.length) return;
  s.model.set("filters", filters);
  s.model.save_changes();
}

function showError(s) {
  const text = [...s.formErrors, s.model.get("error")].filter(Boolean).join("; ");
  s.dom.errorBox.textContent = text;
  s.dom.errorBox.style.display = text ? "block" : "none";
}

// -- columns and the table

function buildColumns(s) {
  const { model } = s;
  const shown = new Set(model.get("columns"));
  s.dom.columnPanel.replaceChildren(...model.get("all_columns").map((c) => {
    const label = h("label", "cf-ob-check");
    const box = h("input");
    box.type = "checkbox";
    box.checked = shown.has(c);
    box.disabled = c === "object_id";
    box.addEventListener("change", () => {
      model.set("columns", toggleChoice(model.get("all_columns"), model.get("columns"), c, box.checked));
      model.save_changes();
    });
    label.append(box, document.createTextNode(" " + c));
    return label;
  }));
}

function drawHead(s) {
  const { model } = s;
  const tr = h("tr");
  for (const c of model.get("columns")) {
    const th = h("th", "cf-ob-th", headerText(c, model.get("sort"), model.get("sort_dir")));
    th.title = `sort by ${c}`;
    th.addEventListener("click", () => {
      const next = nextSort(c, model.get("sort"), model.get("sort_dir"));
      if (next.sort !== model.get("sort")) model.set("sort", next.sort);
      model.set("sort_dir", next.sort_dir);
      model.save_changes();
    });
    tr.append(th);
  }
  s.dom.thead.replaceChildren(tr);
}

function drawRows(s) {
  const { model, dom } = s;
  const cols = model.get("columns");
  const selected = model.get("selected");
  const t0 = performance.now();
  dom.tbody.replaceChildren(...s.rows.map((r, i) => {
    const tr = h("tr", "cf-ob-row");
    if (r.object_id === selected) tr.classList.add("cf-selected");
    if (i === s.cursor) tr.classList.add("cf-cursor");
    tr.dataset.objectId = r.object_id;
    for (const c of cols) tr.append(h("td", null, formatCell(c, r[c])));
    tr.addEventListener("click", () => { s.cursor = i; select(s, r.object_id, true); drawRows(s); dom.root.focus(); });
    return tr;
  }));
  const total = model.get("total");
  dom.info.textContent = rangeText(s.offset, s.rows.length, total);
  dom.first.disabled = dom.prev.disabled = s.offset <= 0;
  dom.next.disabled = dom.last.disabled = s.offset + s.rows.length >= total;
  dom.root.dataset.offset = String(s.offset);
  dom.root.dataset.renderMs = (performance.now() - t0).toFixed(2);
}

// -- pages: asked of the kernel by custom message, cached, the neighbours fetched ahead

const cacheKey = (s, off) => `${s.model.get("query_id")}:${off}`;

/** Ask the kernel for the page at `off`, unless it is on its way; returns the request's seq. */
function send(s, off) {
  const key = cacheKey(s, off);
  if (s.inflight.has(key)) return s.inflight.get(key);
  const mine = ++s.seq;
  s.inflight.set(key, mine);
  s.model.send({ type: "page", offset: off, limit: s.model.get("page_size"), seq: mine });
  return mine;
}

function requestPage(s, off, cursorAfter = null) {
  s.pendingCursor = cursorAfter;
  const hit = s.cache.get(cacheKey(s, off));
  if (hit) { s.wanted = 0; showPage(s, off, hit); return; }
  s.wanted = send(s, off); // a prefetch already on its way is waited for, not asked again
}

function prefetch(s) {
  for (const off of prefetchOffsets(s.offset, s.model.get("page_size"), s.model.get("total"))) {
    if (!s.cache.has(cacheKey(s, off))) send(s, off);
  }
}

function showPage(s, off, pageRows) {
  s.offset = off;
  s.rows = pageRows;
  if (s.pendingCursor !== null) {
    s.cursor = Math.min(s.pendingCursor, s.rows.length - 1);
    s.pendingCursor = null;
    if (s.rows[s.cursor]) select(s, s.rows[s.cursor].object_id, false);
  }
  drawRows(s);
  s.dom.root.dataset.shownAt = String(performance.now());
  prefetch(s);
}

/** Select an object: at once (a click, Enter) or after 150 ms of no more keys (arrows). */
function select(s, objectId, now) {
  clearTimeout(s.selectTimer);
  const commit = () => { s.model.set("selected", objectId); s.model.save_changes(); };
  if (now) commit(); else s.selectTimer = setTimeout(commit, 150);
  for (const tr of s.dom.tbody.children) tr.classList.toggle("cf-selected", tr.dataset.objectId === objectId);
}

/** Move the keyboard cursor for a key; false when the key is not for paging. */
function go(s, key) {
  const to = moveCursor({ offset: s.offset, index: Math.max(s.cursor, 0), total: s.model.get("total"), pageSize: s.model.get("page_size") }, key);
  if (!to) return false;
  if (s.cursor < 0 && key === "ArrowDown" && s.offset === to.offset) to.index = 0;
  if (to.offset === s.offset) {
    s.cursor = to.index;
    if (s.rows[s.cursor]) select(s, s.rows[s.cursor].object_id, false);
    drawRows(s);
  } else requestPage(s, to.offset, to.index);
  return true;
}

function onKeyDown(s, ev) {
  if (ev.target.matches("input, select, textarea")) { ev.stopPropagation(); return; } // not JupyterLab's
  if (ev.key === "Enter" && s.rows[s.cursor]) { select(s, s.rows[s.cursor].object_id, true); ev.preventDefault(); ev.stopPropagation(); return; }
  if (go(s, ev.key)) { ev.preventDefault(); ev.stopPropagation(); }
}

function onCustomMessage(s, msg) {
  if (!msg) return;
  if (msg.query_id === s.model.get("query_id") && msg.type === "page") {
    s.inflight.delete(cacheKey(s, msg.offset));
    s.cache.set(cacheKey(s, msg.offset), msg.rows);
    if (s.cache.size > 64) s.cache.delete(s.cache.keys().next().value);
    if (msg.seq === s.wanted) showPage(s, msg.offset, msg.rows);
  }
  if (msg.type === "error") {
    for (const [key, mine] of s.inflight) if (mine === msg.seq) s.inflight.delete(key);
    s.dom.errorBox.textContent = msg.message;
    s.dom.errorBox.style.display = "block";
  }
}

function wireControls(s) {
  const { dom, model } = s;
  dom.search.addEventListener("input", () => {
    clearTimeout(s.searchTimer);
    s.searchTimer = setTimeout(() => { s.form.search = dom.search.value; sendFilters(s); }, 250);
  });
  dom.root.addEventListener("keydown", (ev) => onKeyDown(s, ev));
  const pageBy = (button) => () => {
    const to = pageOffset(button, s.offset, model.get("page_size"), model.get("total"));
    if (to !== s.offset) requestPage(s, to, null);
  };
  dom.first.addEventListener("click", pageBy("first"));
  dom.prev.addEventListener("click", pageBy("prev"));
  dom.next.addEventListener("click", pageBy("next"));
  dom.last.addEventListener("click", pageBy("last"));
  dom.filterToggle.addEventListener("click", () => dom.panel.classList.toggle("cf-hidden"));
  dom.columnToggle.addEventListener("click", () => dom.columnPanel.classList.toggle("cf-hidden"));
  dom.sqlToggle.addEventListener("click", () => dom.sqlBox.classList.toggle("cf-hidden"));
}

/** What each model change (and custom message) does to the view. */
function modelHandlers(s) {
  const { model } = s;
  return {
    "msg:custom": (msg) => onCustomMessage(s, msg),
    "change:rows": () => {
      s.cache.clear(); s.inflight.clear();
      s.offset = model.get("offset"); s.rows = model.get("rows"); s.cursor = -1;
      drawRows(s); prefetch(s);
    },
    "change:columns": () => { drawHead(s); buildColumns(s); },
    "change:sort": () => drawHead(s),
    "change:sort_dir": () => drawHead(s),
    "change:error": () => showError(s),
    "change:selected": () => drawRows(s),
    "change:sql": () => { s.dom.sqlBox.textContent = model.get("sql"); },
    "change:vocab": () => buildPanel(s),
  };
}

function render({ model, el }) {
  const s = createState(model, el);
  wireControls(s);
  const handlers = modelHandlers(s);
  for (const [ev, fn] of Object.entries(handlers)) model.on(ev, fn);

  loadForm(s);
  buildPanel(s);
  buildColumns(s);
  drawHead(s);
  s.dom.sqlBox.textContent = model.get("sql");
  showError(s);
  drawRows(s);
  prefetch(s);
  s.dom.root.dataset.firstRowsAt = String(performance.now());

  return () => {
    for (const [ev, fn] of Object.entries(handlers)) model.off(ev, fn);
    clearTimeout(s.searchTimer);
    clearTimeout(s.selectTimer);
  };
}

export default { render };
