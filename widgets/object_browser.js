// ObjectBrowser: the synced catalog as a paged table. Pages come from the kernel on demand
// (custom messages), only the visible page travels; filters, sort and columns are synced
// traits the kernel validates. Python side: campfire/widgets/object_browser.py.

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
  const pageOffset = Math.floor(row / pageSize) * pageSize;
  return { offset: pageOffset, index: row - pageOffset };
}

/** "rows 26–50 of 100,000" */
export function rangeText(offset, count, total) {
  if (!total) return "no rows match";
  return `rows ${(offset + 1).toLocaleString("en-US")}–${(offset + count).toLocaleString("en-US")} of ${total.toLocaleString("en-US")}`;
}

// ---------------------------------------------------------------------------------------------

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el }) {
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
  const nav = (text, tip) => { const b = h("button", "cf-ob-nav", text); b.type = "button"; b.title = tip; return b; };
  const first = nav("«", "first page (Home)"), prev = nav("‹", "previous page (PageUp)");
  const next = nav("›", "next page (PageDown)"), lastBtn = nav("»", "last page (End)");
  const info = h("span", "cf-ob-info");
  footer.append(first, prev, info, next, lastBtn);
  root.append(top, panel, columnPanel, sqlBox, errorBox, tableWrap, footer);
  el.appendChild(root);

  let offset = model.get("offset");
  let rows = model.get("rows");
  let cursor = -1; // index within the page
  let seq = 0;
  let wanted = 0; // seq of the page request we are waiting for
  let pendingCursor = null;
  const cache = new Map(); // `${query_id}:${offset}` -> rows
  const form = { fields: [], programs: [], gratings: [], tags: [], redshift_quality: [] };
  let formErrors = [];

  // -- filter panel, built from the vocabulary
  const inputs = {};
  function numberBox(key, placeholder) {
    const box = h("input", "cf-ob-num");
    Object.assign(box, { type: "text", inputMode: "decimal", placeholder, size: 7 });
    box.dataset.key = key;
    box.addEventListener("change", () => { form[key] = box.value; sendFilters(); });
    inputs[key] = box;
    return box;
  }
  function checkGroup(key, values, labels = values) {
    const group = h("div", "cf-ob-group");
    group.append(h("span", "cf-ob-glabel", key.replace("_", " ")));
    values.forEach((v, i) => {
      const label = h("label", "cf-ob-check");
      const box = h("input");
      box.type = "checkbox";
      box.value = String(v);
      box.checked = form[key].map(String).includes(String(v));
      box.addEventListener("change", () => {
        const set = new Set(form[key].map(String));
        if (box.checked) set.add(String(v)); else set.delete(String(v));
        form[key] = values.filter((x) => set.has(String(x)));
        sendFilters();
      });
      label.append(box, document.createTextNode(" " + labels[i]));
      group.append(label);
    });
    return group;
  }
  function buildPanel() {
    const vocab = model.get("vocab") || {};
    const row = (...items) => { const d = h("div", "cf-ob-frow"); d.append(...items); return d; };
    panel.replaceChildren(
      checkGroup("fields", vocab.fields || []),
      checkGroup("programs", vocab.programs || []),
      checkGroup("gratings", vocab.gratings || []),
      checkGroup("tags", vocab.tags || []),
      checkGroup("redshift_quality", [0, 1, 2, 3, 4], QUALITY.map((q, i) => `${i} ${q}`)),
      row(h("span", "cf-ob-glabel", "redshift"), numberBox("zmin", "min"), numberBox("zmax", "max"),
        h("span", "cf-ob-glabel", "S/N"), numberBox("snrmin", "min"), numberBox("snrmax", "max")),
      row(h("span", "cf-ob-glabel", "cone"), numberBox("ra", "RA °"), numberBox("dec", "Dec °"), numberBox("radius", 'radius "')),
    );
    const clear = h("button", "cf-ob-clear", "Clear filters");
    clear.type = "button";
    clear.addEventListener("click", () => {
      for (const k of Object.keys(form)) form[k] = Array.isArray(form[k]) ? [] : "";
      search.value = "";
      buildPanel();
      sendFilters();
    });
    panel.append(clear);
    for (const [k, box] of Object.entries(inputs)) if (form[k] !== undefined && typeof form[k] === "string") box.value = form[k];
  }
  function loadForm() { // the filters trait -> the form (on first render)
    const f = model.get("filters") || {};
    for (const k of ["fields", "programs", "gratings", "tags"]) form[k] = (f[k] || []).map(String);
    form.redshift_quality = (f.redshift_quality || []).map(Number).filter(Number.isInteger);
    const pair = (key, a, b) => { const v = f[key] || []; form[a] = v[0] ?? ""; form[b] = v[1] ?? ""; };
    pair("redshift_range", "zmin", "zmax");
    pair("max_snr_range", "snrmin", "snrmax");
    const c = f.cone_search || [];
    [form.ra, form.dec, form.radius] = [c[0] ?? "", c[1] ?? "", c[2] ?? ""];
    form.search = f.search || "";
    search.value = form.search;
  }
  function sendFilters() {
    const { filters, errors } = buildFilters(form);
    formErrors = errors;
    showError();
    if (errors.length) return;
    model.set("filters", filters);
    model.save_changes();
  }
  let searchTimer = 0;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { form.search = search.value; sendFilters(); }, 250);
  });
  function showError() {
    const text = [...formErrors, model.get("error")].filter(Boolean).join("; ");
    errorBox.textContent = text;
    errorBox.style.display = text ? "block" : "none";
  }

  // -- columns
  function buildColumns() {
    const shown = new Set(model.get("columns"));
    columnPanel.replaceChildren(...model.get("all_columns").map((c) => {
      const label = h("label", "cf-ob-check");
      const box = h("input");
      box.type = "checkbox";
      box.checked = shown.has(c);
      box.disabled = c === "object_id";
      box.addEventListener("change", () => {
        const now = new Set(model.get("columns"));
        if (box.checked) now.add(c); else now.delete(c);
        model.set("columns", model.get("all_columns").filter((x) => now.has(x)));
        model.save_changes();
      });
      label.append(box, document.createTextNode(" " + c));
      return label;
    }));
  }

  // -- table
  function drawHead() {
    const sort = model.get("sort"), dir = model.get("sort_dir");
    const tr = h("tr");
    for (const c of model.get("columns")) {
      const th = h("th", "cf-ob-th", c + (c === sort ? (dir === "asc" ? " ▲" : " ▼") : ""));
      th.title = `sort by ${c}`;
      th.addEventListener("click", () => {
        if (c === model.get("sort")) model.set("sort_dir", model.get("sort_dir") === "asc" ? "desc" : "asc");
        else { model.set("sort", c); model.set("sort_dir", "asc"); }
        model.save_changes();
      });
      tr.append(th);
    }
    thead.replaceChildren(tr);
  }
  function drawRows() {
    const cols = model.get("columns");
    const selected = model.get("selected");
    const t0 = performance.now();
    tbody.replaceChildren(...rows.map((r, i) => {
      const tr = h("tr", "cf-ob-row");
      if (r.object_id === selected) tr.classList.add("cf-selected");
      if (i === cursor) tr.classList.add("cf-cursor");
      tr.dataset.objectId = r.object_id;
      for (const c of cols) tr.append(h("td", null, formatCell(c, r[c])));
      tr.addEventListener("click", () => { cursor = i; select(r.object_id, true); drawRows(); root.focus(); });
      return tr;
    }));
    info.textContent = rangeText(offset, rows.length, model.get("total"));
    const total = model.get("total");
    first.disabled = prev.disabled = offset <= 0;
    next.disabled = lastBtn.disabled = offset + rows.length >= total;
    root.dataset.offset = String(offset);
    root.dataset.renderMs = (performance.now() - t0).toFixed(2);
  }
  function cacheKey(off) { return `${model.get("query_id")}:${off}`; }
  const inflight = new Map(); // cacheKey -> seq of the request on its way
  function send(off) {
    const key = cacheKey(off);
    if (inflight.has(key)) return inflight.get(key);
    const mine = ++seq;
    inflight.set(key, mine);
    model.send({ type: "page", offset: off, limit: model.get("page_size"), seq: mine });
    return mine;
  }
  function requestPage(off, cursorAfter = null) {
    pendingCursor = cursorAfter;
    const hit = cache.get(cacheKey(off));
    if (hit) { wanted = 0; showPage(off, hit); return; }
    wanted = send(off); // a prefetch already on its way is waited for, not asked again
  }
  function prefetch() { // the pages around this one, so next/previous show at once
    const size = model.get("page_size");
    for (const off of [offset + size, offset + 2 * size, offset - size]) {
      if (off >= 0 && off < model.get("total") && !cache.has(cacheKey(off))) send(off);
    }
  }
  function showPage(off, pageRows) {
    offset = off;
    rows = pageRows;
    if (pendingCursor !== null) {
      cursor = Math.min(pendingCursor, rows.length - 1);
      pendingCursor = null;
      if (rows[cursor]) select(rows[cursor].object_id, false);
    }
    drawRows();
    root.dataset.shownAt = String(performance.now());
    prefetch();
  }
  let selectTimer = 0;
  function select(objectId, now) {
    clearTimeout(selectTimer);
    const commit = () => { model.set("selected", objectId); model.save_changes(); };
    if (now) commit(); else selectTimer = setTimeout(commit, 150);
    for (const tr of tbody.children) tr.classList.toggle("cf-selected", tr.dataset.objectId === objectId);
  }
  function go(key) {
    const size = model.get("page_size");
    const to = moveCursor({ offset, index: Math.max(cursor, 0), total: model.get("total"), pageSize: size }, key);
    if (!to) return false;
    if (cursor < 0 && key === "ArrowDown" && offset === to.offset) to.index = 0;
    if (to.offset === offset) {
      cursor = to.index;
      if (rows[cursor]) select(rows[cursor].object_id, false);
      drawRows();
    } else requestPage(to.offset, to.index);
    return true;
  }
  root.addEventListener("keydown", (ev) => {
    if (ev.target.matches("input, select, textarea")) { ev.stopPropagation(); return; } // not JupyterLab's
    if (ev.key === "Enter" && rows[cursor]) { select(rows[cursor].object_id, true); ev.preventDefault(); ev.stopPropagation(); return; }
    if (go(ev.key)) { ev.preventDefault(); ev.stopPropagation(); }
  });
  const pageBy = (fn) => () => { const size = model.get("page_size"); const to = fn(size, model.get("total")); if (to !== offset) requestPage(to, null); };
  first.addEventListener("click", pageBy(() => 0));
  prev.addEventListener("click", pageBy((size) => Math.max(0, offset - size)));
  next.addEventListener("click", pageBy((size, total) => Math.min(Math.max(0, Math.floor((total - 1) / size) * size), offset + size)));
  lastBtn.addEventListener("click", pageBy((size, total) => Math.max(0, Math.floor((total - 1) / size) * size)));
  filterToggle.addEventListener("click", () => panel.classList.toggle("cf-hidden"));
  columnToggle.addEventListener("click", () => columnPanel.classList.toggle("cf-hidden"));
  sqlToggle.addEventListener("click", () => sqlBox.classList.toggle("cf-hidden"));

  const onMsg = (msg) => {
    if (!msg || msg.query_id !== model.get("query_id")) return;
    if (msg.type === "page") {
      inflight.delete(cacheKey(msg.offset));
      cache.set(cacheKey(msg.offset), msg.rows);
      if (cache.size > 64) cache.delete(cache.keys().next().value);
      if (msg.seq === wanted) showPage(msg.offset, msg.rows);
    }
  };
  const onError = (msg) => {
    if (!msg || msg.type !== "error") return;
    for (const [key, mine] of inflight) if (mine === msg.seq) inflight.delete(key);
    errorBox.textContent = msg.message;
    errorBox.style.display = "block";
  };
  const handlers = {
    "msg:custom": (msg) => { onMsg(msg); onError(msg); },
    "change:rows": () => { cache.clear(); inflight.clear(); offset = model.get("offset"); rows = model.get("rows"); cursor = -1; drawRows(); prefetch(); },
    "change:columns": () => { drawHead(); buildColumns(); },
    "change:sort": drawHead,
    "change:sort_dir": drawHead,
    "change:error": showError,
    "change:selected": () => drawRows(),
    "change:sql": () => { sqlBox.textContent = model.get("sql"); },
    "change:vocab": buildPanel,
  };
  for (const [ev, fn] of Object.entries(handlers)) model.on(ev, fn);

  loadForm();
  buildPanel();
  buildColumns();
  drawHead();
  sqlBox.textContent = model.get("sql");
  showError();
  drawRows();
  prefetch();
  root.dataset.firstRowsAt = String(performance.now());

  return () => {
    for (const [ev, fn] of Object.entries(handlers)) model.off(ev, fn);
    clearTimeout(searchTimer);
    clearTimeout(selectTimer);
  };
}

export default { render };
