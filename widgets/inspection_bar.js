// InspectionBar: the redshift, quality, DQ flags, comments and tags of the object shown, with
// the state of each save (saved, queued offline, conflict). Python side:
// campfire/views/widgets/inspection.py. Pure functions (exported, tested with node --test)
// first, then the widget as module-level functions over one state object (BarState).
//
// Keys (anywhere in the Explorer but a text box): 0-4 choose the quality, Enter saves and moves
// to the next object, "s" skips to the next without saving. In the redshift box Enter applies
// the value and hands the keys back to the bar.

export const MIN_Z = -0.1;
export const MAX_Z = 30;
const QUALITY = ["none", "impossible", "tentative", "probable", "secure"];

/** A typed redshift: {z} for a number in [-0.1, 30], {z: null} for an empty box, else {error}. */
export function parseZ(text) {
  const typed = String(text ?? "").trim();
  if (typed === "") return { z: null };
  const value = Number(typed);
  if (!Number.isFinite(value) || value < MIN_Z || value > MAX_Z) {
    return { error: `"${typed}" is not a redshift: type a number from ${MIN_Z} to ${MAX_Z}` };
  }
  return { z: value };
}

/** "4 secure" for 4; "" for null. */
export function qualityText(q) {
  if (q === null || q === undefined || !Number.isInteger(q)) return "";
  return `${q} ${QUALITY[q] ?? ""}`.trim();
}

/** "2026-12-07 15:53" from an ISO time (UTC as sent); "" for none. */
export function whenText(iso) {
  if (!iso) return "";
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})/.exec(String(iso));
  return m ? `${m[1]} ${m[2]}` : String(iso);
}

/**
 * What a key does in the bar: {quality: n}, {save: true}, {skip: true}, or null (not ours).
 * Keys typed into text boxes are never the bar's.
 */
export function keyAction(key, inTextBox = false, modifiers = false) {
  if (inTextBox || modifiers) return null;
  if (/^[0-4]$/.test(key)) return { quality: Number(key) };
  if (key === "Enter") return { save: true };
  if (key === "s") return { skip: true };
  return null;
}

/** One line about the object's stored inspection: automatic z, inspected z, quality, who, when. */
export function storedText(obj) {
  if (!obj || !obj.object_id) return "no object chosen";
  const parts = [obj.object_id];
  if (obj.redshift_auto !== null && obj.redshift_auto !== undefined) parts.push(`auto z = ${Number(obj.redshift_auto).toFixed(4)}`);
  if (obj.redshift_quality > 0 || obj.last_inspected_at) {
    const z = obj.redshift_inspected === null || obj.redshift_inspected === undefined ? "" : `z = ${Number(obj.redshift_inspected).toFixed(4)}, `;
    const who = obj.last_inspected_by ? ` by ${obj.last_inspected_by}` : "";
    const when = obj.last_inspected_at ? ` at ${whenText(obj.last_inspected_at)}` : "";
    parts.push(`inspected: ${z}${qualityText(obj.redshift_quality)}${who}${when}`);
  } else parts.push("not inspected");
  return parts.join(" · ");
}

/** The state shown for the object: its last save's, else "edited" or "clean". */
export function barState(status, changes) {
  if (status && status.state && status.state !== "discarded" && !(changes && Object.keys(changes).length)) return status.state;
  if (changes && Object.keys(changes).length) return "edited";
  return status && status.state ? status.state : "clean";
}

/** The state line: what a save did, or what Enter would do. */
export function stateText(status, changes) {
  const state = barState(status, changes);
  if (state === "edited") {
    const parts = [];
    if ("redshift" in changes) parts.push(`z = ${Number(changes.redshift).toFixed(4)}`);
    if ("quality" in changes) parts.push(qualityText(changes.quality));
    return `not saved: ${parts.join(", ")} (Enter saves)`;
  }
  if (state === "clean") return "";
  return status.text || state;
}

/** The toggles of a DQ bitmask: [{name, value, on}] for every known flag. */
export function flagToggles(mask, flags) {
  return (flags || []).map((f) => ({ ...f, on: (Number(mask) & f.value) !== 0 }));
}

/** The bitmask after one flag is toggled. */
export function toggleFlag(mask, value) {
  return (Number(mask) ^ Number(value)) >>> 0;
}

/** The DQ section's title: "DQ flags: 3 spectra, 1 flagged". */
export function dqSummary(spectra) {
  const list = spectra || [];
  const flagged = list.filter((sp) => Number(sp.dq_flags) !== 0).length;
  if (!list.length) return "DQ flags: no spectra";
  return `DQ flags: ${list.length} ${list.length === 1 ? "spectrum" : "spectra"}, ${flagged} flagged`;
}

/** "queue 3 of 100"; "" outside queue mode. */
export function queueText(queue) {
  if (!queue || !queue.total) return "";
  const where = queue.position === null || queue.position === undefined ? "–" : String(queue.position + 1);
  return `${queue.name ? queue.name + ": " : ""}${where} of ${queue.total}`;
}

/** A tag typed in the box: a valid slug, or {error}. */
export function parseSlug(text) {
  const slug = String(text ?? "").trim().toLowerCase();
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(slug)) return { error: `"${text}" is not a tag: use a-z, 0-9, - and _ (up to 64)` };
  return { slug };
}

// ---------------------------------------------------------------------------------------------
// the widget

/**
 * Everything one view of the bar holds.
 * @typedef {object} BarState
 * @property {object} model  the anywidget model
 * @property {HTMLElement} el  the element the bar renders into
 * @property {ReturnType<typeof buildDom>} dom  the view's DOM nodes
 * @property {string} zError  what is wrong with the typed redshift
 * @property {HTMLElement|null} scope  the Explorer around the bar (keys anywhere in it are ours)
 * @property {number} frame  the pending look for the Explorer's box
 */

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(cls, text, title) {
  const b = h("button", cls, text);
  b.type = "button";
  if (title) b.title = title;
  return b;
}

function buildDom(el) {
  const root = h("div", "cf-ib");
  root.tabIndex = 0;
  const head = h("div", "cf-ib-line");
  const stored = h("span", "cf-ib-stored");
  const queue = h("span", "cf-ib-queue");
  head.append(stored, queue);
  const controls = h("div", "cf-ib-line");
  const zLabel = h("label", "cf-ib-zlabel", "z ");
  const z = h("input", "cf-ib-z");
  Object.assign(z, { type: "text", inputMode: "decimal", spellcheck: false, size: 8 });
  z.title = "proposed redshift (drag a line in the viewer, or type and press Enter)";
  zLabel.append(z);
  const qualities = h("span", "cf-ib-qs");
  const qButtons = QUALITY.map((name, q) => {
    const b = button("cf-ib-q", `${q} ${name}`, `quality ${q}: ${name} (key ${q})`);
    b.dataset.q = String(q);
    qualities.append(b);
    return b;
  });
  const save = button("cf-ib-save", "Save ⏎", "save, then the next object (Enter)");
  const skip = button("cf-ib-skip", "Skip ▶", "the next object, without saving (s)");
  const state = h("span", "cf-ib-state");
  controls.append(zLabel, qualities, save, skip, state);
  const conflict = h("div", "cf-ib-conflict");
  const error = h("div", "cf-ib-error");
  const details = h("div", "cf-ib-details");
  const dq = h("details", "cf-ib-dq");
  const dqTitle = h("summary", "cf-ib-title", "DQ flags");
  const dqRows = h("div", "cf-ib-dqrows");
  dq.append(dqTitle, dqRows);
  const talk = h("div", "cf-ib-talk");
  const comments = h("ul", "cf-ib-comments");
  const commentBox = h("textarea", "cf-ib-comment");
  Object.assign(commentBox, { rows: 2, placeholder: "add a comment (Enter posts, Shift+Enter a new line)" });
  const post = button("cf-ib-post", "Comment");
  talk.append(h("div", "cf-ib-title", "Comments"), comments, commentBox, post);
  const tagLine = h("div", "cf-ib-tags");
  const chips = h("span", "cf-ib-chips");
  const tagBox = h("input", "cf-ib-tagbox");
  Object.assign(tagBox, { type: "text", placeholder: "add tag", size: 10, spellcheck: false });
  const tagList = h("datalist");
  tagList.id = `cf-ib-tags-${Math.random().toString(36).slice(2)}`;
  tagBox.setAttribute("list", tagList.id);
  tagLine.append(h("span", "cf-ib-title", "Tags "), chips, tagBox, tagList);
  details.append(dq, talk);
  const recent = h("ul", "cf-ib-recent");
  root.append(head, controls, conflict, error, recent, tagLine, details);
  el.appendChild(root);
  return { root, stored, queue, z, qButtons, save, skip, state, conflict, error, dq, dqTitle, dqRows, comments, commentBox, post, chips, tagBox, tagList, recent };
}

function send(s, msg) {
  s.model.send(msg);
}

function setTrait(s, name, value) {
  s.model.set(name, value);
  s.model.save_changes();
}

function applyZ(s) {
  const parsed = parseZ(s.dom.z.value);
  if (parsed.error) { s.zError = parsed.error; drawError(s); return false; }
  s.zError = "";
  drawError(s);
  if (parsed.z !== s.model.get("redshift")) setTrait(s, "redshift", parsed.z);
  return true;
}

function chooseQuality(s, q) {
  setTrait(s, "quality", q);
  drawQuality(s);
}

function saveAndNext(s) {
  const { dom, model } = s;
  if (document.activeElement === dom.z && !applyZ(s)) return;
  const changes = model.get("changes") || {};
  if (Object.keys(changes).length) {
    // drawn at once; the kernel's confirmation (after the local write) replaces it
    dom.state.textContent = stateText({}, changes).replace(/^not saved/, "saving").replace(" (Enter saves)", "");
    dom.root.dataset.state = "saving";
    dom.root.dataset.pressedAt = String(performance.now());
  }
  send(s, { type: "save", redshift: model.get("redshift"), quality: model.get("quality"), next: true });
}

// -- drawing

function drawStored(s) {
  const { dom, model } = s;
  const obj = model.get("object") || {};
  dom.stored.textContent = storedText(obj);
  dom.root.dataset.objectId = obj.object_id || "";
  dom.queue.textContent = queueText(model.get("queue"));
}

function drawZ(s) {
  if (document.activeElement === s.dom.z) return; // never overwrite what is being typed
  const z = s.model.get("redshift");
  s.dom.z.value = z === null || z === undefined ? "" : Number(z).toFixed(4);
}

function drawQuality(s) {
  const q = s.model.get("quality");
  for (const b of s.dom.qButtons) b.classList.toggle("cf-on", Number(b.dataset.q) === q);
}

function drawState(s) {
  const { dom, model } = s;
  const status = model.get("status") || {};
  const changes = model.get("changes") || {};
  const state = barState(status, changes);
  dom.state.textContent = stateText(status, changes);
  dom.root.dataset.state = state;
  if (status.state === "sending" && dom.root.dataset.confirmedSeq !== String(status.seq)) {
    dom.root.dataset.confirmedSeq = String(status.seq); // the confirmation of a save, on screen
    dom.root.dataset.confirmedAt = String(performance.now());
  }
  dom.conflict.replaceChildren();
  if (state === "conflict") dom.conflict.append(...conflictControls(s, status));
  dom.conflict.style.display = state === "conflict" ? "flex" : "none";
}

function conflictControls(s, rec) {
  const th = rec.theirs || {};
  const mine = button("cf-ib-mine", "keep mine", "write my values over theirs");
  const theirs = button("cf-ib-theirs", "take theirs", "drop my values");
  mine.addEventListener("click", () => send(s, { type: "resolve", object_id: rec.object_id, choice: "mine" }));
  theirs.addEventListener("click", () => send(s, { type: "resolve", object_id: rec.object_id, choice: "theirs" }));
  const z = (v) => (v === null || v === undefined ? "z unset" : `z = ${Number(v).toFixed(4)}`);
  const text = h("span", "cf-ib-conflict-text",
    `${rec.object_id}: yours ${[rec.redshift !== null ? z(rec.redshift) : "", qualityText(rec.quality)].filter(Boolean).join(", ")}` +
    ` · theirs ${z(th.redshift)}, ${qualityText(th.quality)} by ${th.by}${th.at ? ` at ${whenText(th.at)}` : ""}`);
  return [text, mine, theirs];
}

function drawError(s) {
  const text = [s.zError, s.model.get("error")].filter(Boolean).join("; ");
  s.dom.error.textContent = text;
  s.dom.error.style.display = text ? "block" : "none";
}

function drawDq(s) {
  const { dom, model } = s;
  const flags = model.get("flags") || [];
  const spectra = model.get("spectra") || [];
  dom.dqTitle.textContent = dqSummary(spectra);
  dom.dqRows.replaceChildren(...spectra.map((sp) => {
    const row = h("div", "cf-ib-dqrow");
    row.dataset.spectrumId = sp.spectrum_id;
    row.append(h("span", "cf-ib-sp", `${sp.grating || "?"} ${sp.spectrum_id}`));
    for (const f of flagToggles(sp.dq_flags, flags)) {
      const b = button(`cf-ib-flag${f.on ? " cf-on" : ""}`, f.name.toLowerCase().replace(/_/g, " "), f.description);
      b.dataset.flag = f.name;
      b.addEventListener("click", () => send(s, { type: "dq", spectrum_id: sp.spectrum_id, flags: toggleFlag(sp.dq_flags, f.value) }));
      row.append(b);
    }
    return row;
  }));
}

function drawComments(s) {
  const items = s.model.get("comments") || [];
  s.dom.comments.replaceChildren(...items.map((c) => {
    const li = h("li", c.pending ? "cf-ib-pending" : null);
    li.append(h("span", "cf-ib-who", `${c.user_name || "me"} · ${whenText(c.created_at)}${c.pending ? " · queued" : ""}`), h("div", "cf-ib-body", c.body));
    return li;
  }));
  if (!items.length) s.dom.comments.append(h("li", "cf-ib-none", "no comments"));
}

function drawTags(s) {
  const { dom, model } = s;
  dom.chips.replaceChildren(...(model.get("tags") || []).map((slug) => {
    const chip = h("span", "cf-ib-chip", slug);
    chip.dataset.tag = slug;
    const x = button("cf-ib-untag", "×", `remove tag ${slug}`);
    x.addEventListener("click", () => send(s, { type: "untag", slug }));
    chip.append(x);
    return chip;
  }));
  dom.tagList.replaceChildren(...(model.get("known_tags") || []).map((t) => { const o = h("option"); o.value = t; return o; }));
}

function drawRecent(s) {
  const saves = s.model.get("saves") || [];
  s.dom.recent.replaceChildren(...saves.map((rec) => {
    const li = h("li", `cf-ib-rec cf-ib-${rec.state}`);
    li.dataset.objectId = rec.object_id;
    li.dataset.state = rec.state;
    li.append(h("span", "cf-ib-recid", rec.object_id), h("span", "cf-ib-rectext", rec.text));
    if (rec.state === "conflict") li.append(...conflictControls(s, rec).slice(1));
    return li;
  }));
}

function drawAll(s) {
  drawStored(s); drawZ(s); drawQuality(s); drawState(s); drawError(s);
  drawDq(s); drawComments(s); drawTags(s); drawRecent(s);
}

// -- keys and controls

function onKey(s, ev) {
  const inText = ev.target.matches("input, select, textarea");
  if (ev.target === s.dom.z) {
    ev.stopPropagation(); // typing a redshift is not a notebook shortcut
    if (ev.key === "Enter") { ev.preventDefault(); if (applyZ(s)) s.dom.root.focus(); }
    return;
  }
  if (inText) {
    ev.stopPropagation();
    if (ev.target === s.dom.commentBox && ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); postComment(s); }
    if (ev.target === s.dom.tagBox && ev.key === "Enter") { ev.preventDefault(); addTag(s); }
    return;
  }
  const action = keyAction(ev.key, false, ev.ctrlKey || ev.metaKey || ev.altKey);
  if (!action) return;
  ev.preventDefault();
  ev.stopPropagation();
  if ("quality" in action) chooseQuality(s, action.quality);
  else if (action.save) saveAndNext(s);
  else if (action.skip) send(s, { type: "next" });
}

function postComment(s) {
  const text = s.dom.commentBox.value.trim();
  if (!text) return;
  send(s, { type: "comment", text });
  s.dom.commentBox.value = "";
}

function addTag(s) {
  const parsed = parseSlug(s.dom.tagBox.value);
  if (parsed.error) { s.zError = parsed.error; drawError(s); return; }
  s.zError = "";
  drawError(s);
  send(s, { type: "tag", slug: parsed.slug });
  s.dom.tagBox.value = "";
}

function wire(s) {
  const { dom } = s;
  const keys = (ev) => onKey(s, ev);
  dom.root.addEventListener("keydown", keys);
  // keys pressed elsewhere in the Explorer (the table, the viewer) reach the bar too; the
  // Explorer's box is found once the view is in the page (it is not yet while rendering)
  const scoped = (ev) => { if (!dom.root.contains(ev.target)) onKey(s, ev); };
  let tries = 0;
  const attach = () => {
    s.scope = s.el.closest(".cf-explorer");
    if (s.scope) s.scope.addEventListener("keydown", scoped);
    else if (!s.el.isConnected && ++tries < 600) s.frame = requestAnimationFrame(attach);
  };
  attach();
  dom.z.addEventListener("change", () => applyZ(s));
  for (const b of dom.qButtons) b.addEventListener("click", () => chooseQuality(s, Number(b.dataset.q)));
  dom.save.addEventListener("click", () => saveAndNext(s));
  dom.skip.addEventListener("click", () => send(s, { type: "next" }));
  dom.post.addEventListener("click", () => postComment(s));
  return () => { cancelAnimationFrame(s.frame); if (s.scope) s.scope.removeEventListener("keydown", scoped); };
}

function render({ model, el }) {
  const s = { model, el, dom: buildDom(el), zError: "", scope: null, frame: 0 };
  const unwire = wire(s);
  const handlers = {
    "change:object": () => { s.zError = ""; drawStored(s); drawError(s); },
    "change:queue": () => drawStored(s),
    "change:redshift": () => drawZ(s),
    "change:quality": () => drawQuality(s),
    "change:changes": () => drawState(s),
    "change:status": () => drawState(s),
    "change:saves": () => drawRecent(s),
    "change:error": () => drawError(s),
    "change:spectra": () => drawDq(s),
    "change:flags": () => drawDq(s),
    "change:comments": () => drawComments(s),
    "change:tags": () => drawTags(s),
    "change:known_tags": () => drawTags(s),
  };
  for (const [ev, fn] of Object.entries(handlers)) model.on(ev, fn);
  drawAll(s);
  return () => {
    for (const [ev, fn] of Object.entries(handlers)) model.off(ev, fn);
    unwire();
  };
}

export default { render };
