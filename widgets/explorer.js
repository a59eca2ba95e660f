// ExplorerHeader: the chosen object, spectrum loading progress, errors and ◀ ▶ to flip through
// the table. Python side: campfire/widgets/explorer.py. Pure functions exported for tests.

/** One line about the object: id · field · z (quality) · tags · spectra. */
export function objectSummary(info) {
  if (!info || !info.object_id) return "choose an object in the table";
  const parts = [info.object_id];
  if (info.field) parts.push(info.field);
  if (info.redshift !== null && info.redshift !== undefined) {
    parts.push(`z = ${Number(info.redshift).toFixed(4)}${info.quality_label ? ` (${info.quality_label})` : ""}`);
  } else if (info.quality_label) parts.push(`no redshift (${info.quality_label})`);
  if (info.tags && info.tags.length) parts.push(`tags: ${info.tags.join(", ")}`);
  if (info.n_spectra !== undefined) {
    const n = info.n_spectra;
    parts.push(`${n} ${n === 1 ? "spectrum" : "spectra"}${info.gratings && info.gratings.length ? ` (${info.gratings.join(", ")})` : ""}`);
  }
  return parts.join(" · ");
}

/** "fetching 2/4: <id>", "4 spectra loaded", "" when idle. */
export function progressText(p) {
  if (!p || !p.state) return "";
  if (p.state === "loading") {
    if (!p.current) return `loading 0/${p.total}`;
    return `${p.action || "loading"} ${p.done + 1}/${p.total}: ${p.current}`;
  }
  if (p.state === "error") return `no spectrum could be loaded (${p.total})`;
  return `${p.total} ${p.total === 1 ? "spectrum" : "spectra"} loaded`;
}

/** Fraction done in [0, 1]. */
export function progressFraction(p) {
  if (!p || !p.total) return p && p.state === "done" ? 1 : 0;
  return Math.max(0, Math.min(1, p.done / p.total));
}

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el }) {
  const root = h("div", "cf-ex");
  const prev = h("button", "cf-ex-nav", "◀");
  const next = h("button", "cf-ex-nav", "▶");
  prev.type = next.type = "button";
  prev.title = "previous object in the table";
  next.title = "next object in the table";
  const summary = h("span", "cf-ex-summary");
  const bar = h("progress", "cf-ex-progress");
  bar.max = 1;
  const status = h("span", "cf-ex-status");
  const errors = h("ul", "cf-ex-errors");
  const line = h("div", "cf-ex-line");
  line.append(prev, next, summary, bar, status);
  root.append(line, errors);
  el.appendChild(root);

  function draw() {
    summary.textContent = objectSummary(model.get("info"));
    const p = model.get("progress") || {};
    status.textContent = progressText(p);
    bar.value = progressFraction(p);
    bar.style.visibility = p.state === "loading" ? "visible" : "hidden";
    root.dataset.state = p.state || "idle";
    errors.replaceChildren(...(model.get("errors") || []).map((e) => h("li", null, e)));
  }
  const step = (delta) => () => model.send({ type: "step", delta });
  prev.addEventListener("click", step(-1));
  next.addEventListener("click", step(1));
  const handlers = { "change:info": draw, "change:progress": draw, "change:errors": draw };
  for (const [ev, fn] of Object.entries(handlers)) model.on(ev, fn);
  draw();
  return () => { for (const [ev, fn] of Object.entries(handlers)) model.off(ev, fn); };
}

export default { render };
