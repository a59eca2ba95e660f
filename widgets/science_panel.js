// SciencePanel: an object's SED with the displayed spectra's synthetic photometry over it, its
// photo-z with errors, the redshift fit's χ²(z) with the current redshift marked (following the
// SpectrumViewer's drags live through a "campfire:redshift" event on a shared channel), and the
// objects within 1′ (click to go there). Python side: campfire/views/widgets/science_panel.py.
// Pure functions first (tested with node --test), then the widget.

/** Data to pixels on a log or linear axis spanning [lo, hi] over pixels [p0, p1]. */
export function scaleTo(value, lo, hi, p0, p1, log = false) {
  const f = log ? (Math.log10(value) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (value - lo) / (hi - lo);
  return p0 + f * (p1 - p0);
}

/**
 * The SED plot's ranges: wavelengths padded 10% in log, fluxes from the points and their
 * errors (positive ones on a log axis; linear when any flux is ≤ 0), padded.
 * @returns {{x: number[], y: number[], logY: boolean}}
 */
export function sedRanges(series) {
  const xs = [], ys = [];
  for (const s of series) {
    s.wave.forEach((w, i) => {
      if (!(w > 0) || !Number.isFinite(s.flux[i])) return;
      xs.push(w);
      const e = Number.isFinite(s.err?.[i]) ? s.err[i] : 0;
      ys.push(s.flux[i] - e, s.flux[i] + e, s.flux[i]);
    });
  }
  if (!xs.length) return { x: [0.5, 5], y: [0, 1], logY: false };
  const x = [Math.min(...xs) / 1.15, Math.max(...xs) * 1.15];
  const logY = ys.every((v) => v > 0);
  if (logY) return { x, y: [Math.min(...ys) / 1.5, Math.max(...ys) * 1.5], logY };
  const lo = Math.min(0, ...ys), hi = Math.max(...ys);
  const pad = (hi - lo || 1) * 0.08;
  return { x, y: [lo - pad, hi + pad], logY };
}

/** "z_phot = 5.12 (+0.30 −0.25)" or "no photo-z". */
export function photoZText(pz) {
  if (!pz || pz.z === null || pz.z === undefined) return "no photo-z";
  const err = pz.lo !== null && pz.lo !== undefined && pz.hi !== null && pz.hi !== undefined
    ? ` (+${pz.hi.toFixed(2)} −${pz.lo.toFixed(2)})` : "";
  return `z_phot = ${pz.z.toFixed(2)}${err}`;
}

/** A neighbour's line: "J0217… 12.3″ z = 5.102 (3)". */
export function nearbyText(n) {
  const d = n.distance === null || n.distance === undefined ? "" : ` ${n.distance.toFixed(1)}″`;
  const z = n.redshift === null || n.redshift === undefined ? "" : ` z = ${n.redshift.toFixed(3)}${n.quality !== null && n.quality !== undefined ? ` (${n.quality})` : ""}`;
  return `${n.object_id}${d}${z}`;
}

/** Δχ² = χ² − min χ² over the grid (what the curve shows), and the z of the minimum. */
export function deltaChi2(chi2, z) {
  let m = Infinity, at = NaN;
  for (let i = 0; i < chi2.length; i++) if (Number.isFinite(chi2[i]) && chi2[i] < m) { m = chi2[i]; at = z[i]; }
  return { delta: Array.from(chi2, (c) => c - m), zMin: at };
}

function decode(view) {
  if (!view) return new Float32Array(0);
  const { buffer, byteOffset, byteLength } = view;
  return byteOffset % 4 === 0 ? new Float32Array(buffer, byteOffset, byteLength >> 2) : new Float32Array(buffer.slice(byteOffset, byteOffset + byteLength));
}

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function sizeCanvas(canvas, w, hgt) {
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(hgt * dpr);
    canvas.style.width = `${w}px`; canvas.style.height = `${hgt}px`;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

const W = 300, H = 170, M = { l: 44, r: 8, t: 18, b: 28 };

function colors(el) {
  const css = getComputedStyle(el);
  return { fg: css.color || "#222", fg2: css.getPropertyValue("--jp-ui-font-color2").trim() || "#666", grid: css.getPropertyValue("--jp-border-color2").trim() || "rgba(128,128,128,0.35)" };
}

function frame(ctx, c, title, xlabel) {
  ctx.font = "11px sans-serif";
  ctx.strokeStyle = c.fg; ctx.fillStyle = c.fg;
  ctx.strokeRect(M.l, M.t, W - M.l - M.r, H - M.t - M.b);
  ctx.textAlign = "left"; ctx.textBaseline = "top";
  ctx.fillText(title, M.l, 2);
  ctx.textAlign = "center";
  ctx.fillText(xlabel, (M.l + W - M.r) / 2, H - 13);
}

function drawSed(s) {
  const { model, dom } = s;
  const c = colors(dom.root);
  const ctx = sizeCanvas(dom.sed, W, H);
  ctx.clearRect(0, 0, W, H);
  const sed = model.get("sed") || {};
  const synth = model.get("synthetic") || [];
  const series = [...(sed.wave ? [{ wave: sed.wave, flux: sed.flux, err: sed.err, color: c.fg }] : []), ...synth];
  frame(ctx, c, sed.catalog ? `SED (${sed.catalog}) [µJy]` : "SED [µJy]", "λ [µm]");
  if (!series.length) { ctx.fillStyle = c.fg2; ctx.textAlign = "center"; ctx.fillText("no photometry", W / 2, H / 2); dom.root.dataset.sedPoints = "0"; return; }
  const { x, y, logY } = sedRanges(series);
  const px = (w) => scaleTo(w, x[0], x[1], M.l, W - M.r, true);
  const py = (f) => scaleTo(logY ? Math.max(f, y[0]) : f, y[0], y[1], H - M.b, M.t, logY);
  ctx.fillStyle = c.fg2; ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of [0.5, 1, 2, 3, 5, 8]) if (t >= x[0] && t <= x[1]) ctx.fillText(String(t), px(t), H - M.b + 2);
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  ctx.fillText(y[1].toPrecision(2), M.l - 3, M.t + 4); ctx.fillText(y[0].toPrecision(2), M.l - 3, H - M.b - 4);
  let points = 0;
  series.forEach((sr, k) => {
    ctx.strokeStyle = ctx.fillStyle = sr.color;
    sr.wave.forEach((w, i) => {
      const f = sr.flux[i];
      if (!(w > 0) || !Number.isFinite(f)) return;
      const X = px(w), Y = py(f), e = sr.err?.[i];
      if (Number.isFinite(e)) { ctx.beginPath(); ctx.moveTo(X, py(f - e)); ctx.lineTo(X, py(f + e)); ctx.stroke(); }
      ctx.beginPath();
      if (k === 0 && sed.wave) ctx.arc(X, Y, 3, 0, 2 * Math.PI); else ctx.rect(X - 3, Y - 3, 6, 6);
      if (k === 0 && sed.wave) ctx.fill(); else ctx.stroke();
      points++;
    });
  });
  dom.root.dataset.sedPoints = String(points);
  dom.root.dataset.synthetic = String(synth.reduce((n, sr) => n + sr.flux.length, 0));
}

function drawChi2(s) {
  const { dom } = s;
  const c = colors(dom.root);
  const fit = s.fit;
  const ctx = sizeCanvas(dom.chi2, W, H);
  ctx.clearRect(0, 0, W, H);
  frame(ctx, c, fit ? `Δχ²(z) of ${fit.spectrum_id}` : "Δχ²(z)", "z");
  if (!fit) { ctx.fillStyle = c.fg2; ctx.textAlign = "center"; ctx.fillText("no redshift fit", W / 2, H / 2); return; }
  const { z, delta } = fit;
  const zr = [z[0], z[z.length - 1]];
  let top = 0;
  for (const d of delta) if (Number.isFinite(d) && d > top) top = d;
  const yr = [0, top * 1.05 || 1];
  const px = (v) => scaleTo(v, zr[0], zr[1], M.l, W - M.r);
  const py = (v) => scaleTo(v, yr[0], yr[1], H - M.b, M.t);
  ctx.fillStyle = c.fg2; ctx.textAlign = "center"; ctx.textBaseline = "top";
  const step = zr[1] - zr[0] > 8 ? 2 : zr[1] - zr[0] > 3 ? 1 : 0.5;
  for (let t = Math.ceil(zr[0] / step) * step; t <= zr[1]; t += step) ctx.fillText(String(+t.toFixed(2)), px(t), H - M.b + 2);
  ctx.strokeStyle = c.fg; ctx.lineWidth = 1;
  ctx.beginPath();
  delta.forEach((d, i) => (i ? ctx.lineTo(px(z[i]), py(d)) : ctx.moveTo(px(z[i]), py(d))));
  ctx.stroke();
  fit.px = px;
  drawMarker(s);
}

/**
 * The current redshift on χ²(z): a positioned element over the curve, moved with a transform,
 * so a drag redraws no canvas at all (the compositor only moves it).
 */
function drawMarker(s) {
  const { dom } = s;
  const z = s.z;
  dom.root.dataset.marker = z === null || z === undefined ? "" : z.toFixed(5);
  const X = s.fit && s.fit.px && z !== null && z !== undefined ? s.fit.px(z) : NaN;
  const inside = X >= M.l && X <= W - M.r;
  dom.marker.style.display = inside ? "block" : "none";
  if (!inside) return;
  dom.marker.style.transform = `translateX(${X.toFixed(1)}px)`;
  dom.markerLabel.textContent = `z = ${z.toFixed(4)}`;
  dom.markerLabel.classList.toggle("cf-left", X > W / 2);
  s.markerDraws++;
  dom.root.dataset.markerDraws = String(s.markerDraws);
}

function drawFacts(s) {
  const { model, dom } = s;
  dom.photoz.textContent = photoZText(model.get("photo_z"));
  const fit = model.get("fit") || {};
  dom.zbest.textContent = fit.z_best !== null && fit.z_best !== undefined ? `z_fit = ${fit.z_best.toFixed(4)}` : "";
  const nearby = model.get("nearby") || [];
  dom.nearTitle.textContent = nearby.length ? `within 1′ (${nearby.length})` : "nothing else within 1′";
  dom.near.replaceChildren(...nearby.map((n) => {
    const b = h("button", "cf-sp-near", nearbyText(n));
    b.type = "button";
    b.title = `go to ${n.object_id}`;
    b.dataset.objectId = n.object_id;
    b.addEventListener("click", () => model.send({ type: "goto", object_id: n.object_id }));
    return b;
  }));
  dom.message.textContent = model.get("message") || "";
}

function loadFit(s) {
  const fit = s.model.get("fit") || {};
  if (!fit.n) { s.fit = null; return; }
  const z = decode(fit.z_grid), chi2 = decode(fit.chi2);
  s.fit = { spectrum_id: fit.spectrum_id, z, delta: deltaChi2(chi2, z).delta, px: null };
}

function render({ model, el }) {
  const root = h("div", "cf-sp");
  const sed = h("canvas", "cf-sp-sed");
  const chiBox = h("div", "cf-sp-chibox");
  const chi2 = h("canvas", "cf-sp-chi2");
  const marker = h("div", "cf-sp-marker");
  const markerLabel = h("span", "cf-sp-markerlabel");
  marker.append(markerLabel);
  marker.style.top = `${M.t}px`;
  marker.style.height = `${H - M.t - M.b}px`;
  chiBox.append(chi2, marker);
  const facts = h("div", "cf-sp-facts");
  const photoz = h("div", "cf-sp-photoz");
  const zbest = h("div", "cf-sp-zbest");
  const nearTitle = h("div", "cf-sp-neartitle");
  const near = h("div", "cf-sp-nearlist");
  const message = h("div", "cf-sp-message");
  facts.append(photoz, zbest, nearTitle, near, message);
  root.append(sed, chiBox, facts);
  el.appendChild(root);
  const s = { model, dom: { root, sed, chi2, marker, markerLabel, photoz, zbest, nearTitle, near, message }, fit: null, z: model.get("redshift"), markerDraws: 0, frame: 0 };
  const all = () => { loadFit(s); drawSed(s); drawChi2(s); drawFacts(s); };
  // the viewer's redshift while it is dragged: redraw the marker once per frame
  const onZ = (ev) => {
    if (!ev.detail || ev.detail.channel !== model.get("channel")) return;
    s.z = ev.detail.z;
    if (!s.frame) s.frame = requestAnimationFrame(() => { s.frame = 0; drawMarker(s); });
  };
  document.addEventListener("campfire:redshift", onZ);
  // a theme switch: redraw in the new --jp-* colours once its stylesheet is in
  const themeWatch = new MutationObserver(() => { for (const ms of [0, 150, 500, 1500]) setTimeout(all, ms); });
  themeWatch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"] });
  const handlers = {
    "change:sed": () => drawSed(s),
    "change:synthetic": () => drawSed(s),
    "change:fit": () => { loadFit(s); drawChi2(s); drawFacts(s); },
    "change:photo_z": () => drawFacts(s),
    "change:nearby": () => drawFacts(s),
    "change:message": () => drawFacts(s),
    "change:redshift": () => { s.z = model.get("redshift"); drawMarker(s); },
  };
  for (const [ev, fn] of Object.entries(handlers)) model.on(ev, fn);
  all();
  return () => {
    for (const [ev, fn] of Object.entries(handlers)) model.off(ev, fn);
    document.removeEventListener("campfire:redshift", onZ);
    themeWatch.disconnect();
    cancelAnimationFrame(s.frame);
  };
}

export default { render };
