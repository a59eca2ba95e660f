// ObjectBrowser: the synced catalog as a paged data grid. Pages come from the kernel on demand
// (custom messages), only the visible page travels; filters, sort and columns are synced
// traits the kernel validates. Rows can be checked, and the checked rows (or the whole table)
// downloaded with a progress bar or exported. Python side:
// campfire/views/widgets/object_browser.py. Pure functions live in ob_data.js (joined with this
// file by _assets.py); this file is the widget as functions over a state object (BrowserState).

import { saveFile } from "./files.js";
import {
  INSPECTION_LABELS, QUALITY, buildFilters, columnLabel, columnWidth, formFromFilters, formatCell, headerText, isNumeric,
  jobText, moveCursor, nextSort, pageOffset, prefetchOffsets, rangeText, selectionText, toggleChoice,
} from "./ob_data.js";

export * from "./ob_data.js";
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
  const actions = h("div", "cf-ob-actions");
  const download = navButton("Download", "download the FITS files of the checked objects (or of every row), verified, into products/");
  const exportCsv = navButton("Export CSV", "save the checked objects (or every row) as a CSV file");
  const exportHtml = navButton("Export HTML", "save the checked objects (or every row) as a standalone HTML page");
  const clearChecks = navButton("Uncheck", "uncheck every row");
  const jobBar = h("progress", "cf-ob-jobbar");
  jobBar.max = 1;
  const jobInfo = h("span", "cf-ob-jobinfo");
  actions.append(download, exportCsv, exportHtml, clearChecks, jobBar, jobInfo);
  const footer = h("div", "cf-ob-footer");
  const first = navButton("«", "first page (Home)"), prev = navButton("‹", "previous page (PageUp)");
  const next = navButton("›", "next page (PageDown)"), last = navButton("»", "last page (End)");
  const info = h("span", "cf-ob-info");
  footer.append(first, prev, info, next, last);
  root.append(top, panel, columnPanel, sqlBox, errorBox, tableWrap, footer, actions);
  el.appendChild(root);
  return {
    root, search, filterToggle, columnToggle, sqlToggle, panel, columnPanel, sqlBox, errorBox, table, thead, tbody,
    first, prev, next, last, info, download, exportCsv, exportHtml, clearChecks, jobBar, jobInfo,
  };
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

function flagBox(s, key, text, tip) {
  const label = h("label", "cf-ob-check");
  const box = h("input");
  box.type = "checkbox";
  box.dataset.key = key;
  box.checked = Boolean(s.form[key]);
  label.title = tip;
  box.addEventListener("change", () => { s.form[key] = box.checked; sendFilters(s); });
  label.append(box, document.createTextNode(" " + text));
  return label;
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

function inspectionMenu(s) {
  const menu = h("select", "cf-ob-inspection");
  for (const [value, label] of Object.entries(INSPECTION_LABELS)) {
    const o = h("option", null, label);
    o.value = value;
    menu.append(o);
  }
  menu.value = s.form.inspection || "";
  menu.addEventListener("change", () => { s.form.inspection = menu.value; sendFilters(s); });
  return menu;
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
      h("span", "cf-ob-glabel", "photo-z"), numberBox(s, "pzmin", "min"), numberBox(s, "pzmax", "max"),
      h("span", "cf-ob-glabel", "S/N"), numberBox(s, "snrmin", "min"), numberBox(s, "snrmax", "max"),
      h("span", "cf-ob-glabel", "t exp [s]"), numberBox(s, "tmin", "min"), numberBox(s, "tmax", "max")),
    row(h("span", "cf-ob-glabel", "position"), numberBox(s, "ra", "RA ° or hh:mm:ss"), numberBox(s, "dec", "Dec ° or dd:mm:ss"), numberBox(s, "radius", 'radius "'),
      flagBox(s, "all_gratings", "all gratings ticked", "objects observed with every grating ticked above (not any of them)"),
      flagBox(s, "staleness", "needs review", "data changed since the last inspection, or never inspected")),
    row(h("span", "cf-ob-glabel", "inspection"), inspectionMenu(s)),
  );
  const clear = h("button", "cf-ob-clear", "Clear filters");
  clear.type = "button";
  clear.addEventListener("click", () => {
    for (const k of Object.keys(s.form)) s.form[k] = Array.isArray(s.form[k]) ? [] : typeof s.form[k] === "boolean" ? false : "";
    dom.search.value = "";
    buildPanel(s);
    sendFilters(s);
  });
  dom.panel.append(clear);
  for (const [k, box] of Object.entries(s.inputs)) box.value = form[k] === undefined || form[k] === null ? "" : String(form[k]);
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
    label.append(box, document.createTextNode(" " + columnLabel(c)));
    label.title = c;
    return label;
  }));
}

/** The header row and fixed column widths (a check column first): widths never jump. */
function drawHead(s) {
  const { model, dom } = s;
  const cols = model.get("columns");
  const tr = h("tr");
  const all = h("th", "cf-ob-th cf-ob-checkcol");
  all.title = "check or uncheck the rows of this page";
  all.textContent = "☐";
  all.addEventListener("click", () => {
    const page = s.rows.map((r) => r.object_id);
    const checked = new Set(model.get("checked"));
    const every = page.every((id) => checked.has(id));
    for (const id of page) if (every) checked.delete(id); else checked.add(id);
    model.set("checked", [...checked]);
    model.save_changes();
  });
  tr.append(all);
  for (const c of cols) {
    const th = h("th", "cf-ob-th" + (isNumeric(c) ? " cf-num" : ""), headerText(c, model.get("sort"), model.get("sort_dir")));
    th.title = `${c}: click to sort`;
    th.dataset.column = c;
    th.addEventListener("click", () => {
      const next = nextSort(c, model.get("sort"), model.get("sort_dir"));
      if (next.sort !== model.get("sort")) model.set("sort", next.sort);
      model.set("sort_dir", next.sort_dir);
      model.save_changes();
    });
    tr.append(th);
  }
  const group = h("colgroup");
  const widths = [3, ...cols.map(columnWidth)];
  for (const w of widths) { const col = h("col"); col.style.width = `${w + 1.5}ch`; group.append(col); }
  dom.table.style.width = `${widths.reduce((a, b) => a + b + 1.5, 0)}ch`;
  dom.table.querySelector("colgroup")?.remove();
  dom.table.prepend(group);
  dom.thead.replaceChildren(tr);
}

function drawRows(s) {
  const { model, dom } = s;
  const cols = model.get("columns");
  const selected = model.get("selected");
  const checked = new Set(model.get("checked"));
  const t0 = performance.now();
  dom.tbody.replaceChildren(...s.rows.map((r, i) => {
    const tr = h("tr", "cf-ob-row");
    if (r.object_id === selected) tr.classList.add("cf-selected");
    if (i === s.cursor) tr.classList.add("cf-cursor");
    tr.dataset.objectId = r.object_id;
    const check = h("td", "cf-ob-checkcol");
    const box = h("input");
    box.type = "checkbox";
    box.checked = checked.has(r.object_id);
    box.title = "check to download or export with the others";
    box.addEventListener("click", (ev) => { ev.stopPropagation(); toggleChecked(s, r.object_id, box.checked); });
    check.append(box);
    tr.append(check);
    for (const c of cols) {
      const text = formatCell(c, r[c]);
      const td = h("td", isNumeric(c) ? "cf-num" : null, text);
      if (text.length > columnWidth(c)) td.title = text;
      tr.append(td);
    }
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

/** Rows the kernel changed (a save): updated in every cached page and on screen. */
function patchRows(s, rows) {
  const byId = new Map(rows.map((r) => [r.object_id, r]));
  const patch = (list) => list.map((r) => (byId.has(r.object_id) ? { ...r, ...byId.get(r.object_id) } : r));
  for (const [key, list] of s.cache) s.cache.set(key, patch(list));
  s.rows = patch(s.rows);
  drawRows(s);
}

function onCustomMessage(s, msg) {
  if (!msg) return;
  if (msg.type === "patch") { patchRows(s, msg.rows || []); return; }
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

// -- checked rows, download and export

function toggleChecked(s, objectId, on) {
  const checked = new Set(s.model.get("checked"));
  if (on) checked.add(objectId); else checked.delete(objectId);
  s.model.set("checked", [...checked]);
  s.model.save_changes();
}

function drawActions(s) {
  const { model, dom } = s;
  const n = (model.get("checked") || []).length, total = model.get("total");
  dom.download.textContent = selectionText("Download", n, total);
  dom.exportCsv.textContent = selectionText("CSV of", n, total);
  dom.exportHtml.textContent = selectionText("HTML of", n, total);
  dom.exportHtml.style.display = model.get("can_export_html") ? "" : "none";
  dom.clearChecks.disabled = n === 0;
  const job = model.get("job") || {};
  const running = job.state === "running";
  dom.download.disabled = running || total === 0;
  dom.jobBar.style.visibility = running ? "visible" : "hidden";
  dom.jobBar.value = job.total ? job.done / job.total : 0;
  dom.jobInfo.textContent = jobText(job);
  dom.jobInfo.classList.toggle("cf-error", job.state === "error");
  dom.root.dataset.job = job.state || "idle";
  dom.root.dataset.checked = String(n);
}

function onExport(s, msg, buffers) {
  const view = buffers && buffers[0];
  if (!view) return;
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  s.dom.root.dataset.exported = `${msg.format}:${bytes.length}`;
  saveFile(new Blob([bytes], { type: msg.mime || "text/plain" }), msg.filename);
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
  dom.download.addEventListener("click", () => model.send({ type: "download" }));
  dom.exportCsv.addEventListener("click", () => model.send({ type: "export", format: "csv" }));
  dom.exportHtml.addEventListener("click", () => model.send({ type: "export", format: "html" }));
  dom.clearChecks.addEventListener("click", () => { model.set("checked", []); model.save_changes(); });
  dom.columnToggle.addEventListener("click", () => dom.columnPanel.classList.toggle("cf-hidden"));
  dom.sqlToggle.addEventListener("click", () => dom.sqlBox.classList.toggle("cf-hidden"));
}

/** What each model change (and custom message) does to the view. */
function modelHandlers(s) {
  const { model } = s;
  return {
    "msg:custom": (msg, buffers) => (msg && msg.type === "export" ? onExport(s, msg, buffers) : onCustomMessage(s, msg)),
    "change:checked": () => { drawRows(s); drawActions(s); },
    "change:job": () => drawActions(s),
    "change:total": () => drawActions(s),
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
  drawActions(s);
  prefetch(s);
  s.dom.root.dataset.firstRowsAt = String(performance.now());

  return () => {
    for (const [ev, fn] of Object.entries(handlers)) model.off(ev, fn);
    clearTimeout(s.searchTimer);
    clearTimeout(s.selectTimer);
  };
}

export default { render };

