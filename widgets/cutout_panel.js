// CutoutPanel: the RGB cutout (north up, east left) with MSA shutter footprints in the
// styles of campfire.imaging.plot_cutout, a scale bar, north/east arrows and a field-of-view
// control. Python side: campfire/views/widgets/cutout_panel.py. Pure functions (exported and
// tested with node --test) first, then the widget as module-level functions over a state object.

/** Scale-bar length in arcsec: the largest of 10, 5, 2, 1, 0.5, 0.25, 0.2, 0.1 within fov/3. */
export function niceLength(fov) {
  for (const length of [10, 5, 2, 1, 0.5, 0.25, 0.2, 0.1]) if (length <= fov / 3) return length;
  return 0.05;
}

/**
 * Canvas position of a sky offset (east, north arcsec) in a size x size view fov arcsec wide,
 * centred on the object, north up and east LEFT.
 */
export function skyToCanvas(east, north, fov, size) {
  const k = size / fov;
  return [size / 2 - east * k, size / 2 - north * k];
}

/** The L-shaped 'corners' mark: for each corner, [from, corner, to] at frac of each side. */
export function cornerSegments(corners, frac = 0.3) {
  return corners.map((c, i) => {
    const prev = corners[(i + 3) % 4], next = corners[(i + 1) % 4];
    return [
      [c[0] + frac * (prev[0] - c[0]), c[1] + frac * (prev[1] - c[1])],
      [c[0], c[1]],
      [c[0] + frac * (next[0] - c[0]), c[1] + frac * (next[1] - c[1])],
    ];
  });
}

/** Ray-casting point-in-polygon test. */
export function pointInPolygon([x, y], poly) {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i], [xj, yj] = poly[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** The footprints drawn in a mode: 'all', 'target' (the object's own) or 'none'. */
export function visibleFootprints(footprints, mode) {
  if (mode === "none") return [];
  if (mode === "target") return footprints.filter((f) => f.category === "target");
  return footprints;
}

/** "0.5″" / "2″" for a scale bar. */
export function lengthLabel(arcsec) {
  return `${Number(arcsec.toFixed(2))}″`;
}

/** Sky offset (east, north arcsec) under canvas position (x, y): the inverse of skyToCanvas. */
export function canvasToSky(x, y, fov, size) {
  const k = size / fov;
  return [(size / 2 - x) / k, (size / 2 - y) / k];
}

/** Footprints in drawing order: others, then stuck-closed shutters, the target's outline on top. */
export function drawOrder(footprints) {
  const rank = { other: 0, stuck_closed: 1, target: 2 };
  return [...footprints].sort((a, b) => (rank[a.category] ?? 0) - (rank[b.category] ?? 0));
}

/** How a footprint category is drawn (plain white boxes for a category without a style). */
export function footprintStyle(styles, category) {
  return (styles || {})[category] || { color: "white", width: 1, dash: [], alpha: 1, marker: "box" };
}

/**
 * The scale bar of a size x size view fov arcsec wide: its length (arcsec) and label, its
 * line from (x0, y) to (x1, y) 8% in from the lower left corner, and its length px in pixels.
 */
export function scaleBar(fov, size) {
  const length = niceLength(fov);
  const px = length * (size / fov);
  const x0 = 0.08 * size, y = size - 0.08 * size;
  return { length, label: lengthLabel(length), x0, x1: x0 + px, y, px };
}

/**
 * The compass in the upper right corner: arrows pointing north (up) and east (left), each
 * {label, from, to, head: [tip, left barb, right barb], at (where its letter goes)} in pixels.
 */
export function compassArrows(size) {
  const arm = 0.12 * size, ox = size - 0.08 * size, oy = 0.08 * size + arm;
  return [[0, -1, "N"], [-1, 0, "E"]].map(([dx, dy, label]) => {
    const tx = ox + dx * arm, ty = oy + dy * arm;
    const ang = Math.atan2(ty - oy, tx - ox);
    const barb = (turn) => [tx - 6 * Math.cos(ang + turn), ty - 6 * Math.sin(ang + turn)];
    return { label, from: [ox, oy], to: [tx, ty], head: [[tx, ty], barb(-0.45), barb(0.45)], at: [tx + dx * 9, ty + dy * 9] };
  });
}

/**
 * The sky position (deg) of an offset (east, north arcsec) from the centre (ra0, dec0):
 * the tangent-plane inverse (gnomonic), exact enough for cutouts of a few arcminutes.
 */
export function offsetToRaDec(ra0, dec0, east, north) {
  const r = Math.PI / 180;
  const xi = (east / 3600) * r, eta = (north / 3600) * r;
  const d0 = dec0 * r;
  const den = Math.cos(d0) - eta * Math.sin(d0);
  const ra = ra0 + Math.atan2(xi, den) / r;
  const dec = Math.atan2(Math.sin(d0) + eta * Math.cos(d0), Math.hypot(xi, den)) / r;
  return [((ra % 360) + 360) % 360, dec];
}

/** "02:17:41.00 −05:10:17.0" for (ra, dec) in degrees. */
export function sexagesimal(ra, dec) {
  const part = (v, digits) => {
    const whole = Math.floor(v), m = Math.floor((v - whole) * 60), sec = ((v - whole) * 60 - m) * 60;
    const sText = sec.toFixed(digits).padStart(digits ? digits + 3 : 2, "0");
    return sText.startsWith("60") ? [whole, m + 1, (0).toFixed(digits).padStart(digits + 3, "0")] : [whole, m, sText];
  };
  const [hh, m, sr] = part(ra / 15, 2);
  const [d, dm, ds] = part(Math.abs(dec), 1);
  const pad = (x) => String(x).padStart(2, "0");
  return `${pad(hh)}:${pad(m)}:${sr} ${dec < 0 ? "−" : "+"}${pad(d)}:${pad(dm)}:${ds}`;
}

/**
 * The readout under the mouse: the sky offset, RA/Dec when the centre is known, and every
 * shutter drawn there (overlapping shutters are all named).
 */
export function hoverText(east, north, footprints, center = null) {
  const hits = footprints.filter((fp) => pointInPolygon([east, north], fp.corners));
  let where = `${east.toFixed(2)}″ E, ${north.toFixed(2)}″ N`;
  if (center && Number.isFinite(center[0]) && Number.isFinite(center[1])) {
    const [ra, dec] = offsetToRaDec(center[0], center[1], east, north);
    where += ` · ${sexagesimal(ra, dec)} (${ra.toFixed(5)}, ${dec.toFixed(5)})`;
  }
  if (!hits.length) return where;
  const names = hits.map((hit) => `${hit.category} shutter, ${hit.observation ?? ""} ${hit.object_id ?? ""} (${hit.state})`);
  return `${where}: ${names.join("; ")}`;
}

/**
 * A lookup table for an 8-bit channel through a stretch: "linear", "sqrt", "asinh" or "log"
 * (the last three lift the faint end, for dark cutouts).
 */
export function stretchLUT(kind) {
  const lut = new Uint8ClampedArray(256);
  for (let v = 0; v < 256; v++) {
    const x = v / 255;
    let y = x;
    if (kind === "sqrt") y = Math.sqrt(x);
    else if (kind === "asinh") y = Math.asinh(10 * x) / Math.asinh(10);
    else if (kind === "log") y = Math.log10(1 + 99 * x) / 2;
    lut[v] = Math.round(255 * y);
  }
  return lut;
}

// ---------------------------------------------------------------------------------------------
// the widget: module-level functions over one state object per view
//   state = {model, dom: {root, fovSlider, fovText, mode, canvas, readout, message},
//            bitmap (the decoded cutout or null), viewFov (arcsec, ahead of the model while
//            the slider moves), token (the latest image load)}

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function buildDom(el) {
  const root = h("div", "cf-cp");
  const bar = h("div", "cf-cp-bar");
  const fovLabel = h("label", "cf-cp-fovbox", "FoV ");
  const fovSlider = h("input", "cf-cp-fov");
  Object.assign(fovSlider, { type: "range", min: "0.5", max: "30", step: "0.1", title: "field of view (arcsec)" });
  const fovText = h("span", "cf-cp-fovtext");
  fovLabel.append(fovSlider, fovText);
  const mode = h("select", "cf-cp-mode");
  for (const [v, text] of [["all", "all shutters"], ["target", "target only"], ["none", "no shutters"]]) {
    const o = h("option", null, text);
    o.value = v;
    mode.append(o);
  }
  const stretch = h("select", "cf-cp-stretch");
  stretch.title = "stretch: lift the faint end of a dark cutout";
  for (const v of ["linear", "sqrt", "asinh", "log"]) { const o = h("option", null, v); o.value = v; stretch.append(o); }
  bar.append(fovLabel, mode, stretch);
  const canvas = h("canvas", "cf-cp-canvas");
  const readout = h("div", "cf-cp-readout");
  const message = h("div", "cf-cp-message");
  root.append(bar, canvas, readout, message);
  el.appendChild(root);
  return { root, fovSlider, fovText, mode, stretch, canvas, readout, message };
}

const shownFootprints = (s) => visibleFootprints(s.model.get("footprints") || [], s.model.get("shutters_mode"));

async function loadImage(s) {
  const mine = ++s.token;
  const view = s.model.get("image");
  s.bitmap = null;
  if (view && view.byteLength) {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    try {
      const img = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
      if (mine === s.token) { s.bitmap = img; s.stretched = null; s.coverage = coverageOf(img); }
    } catch (err) {
      s.dom.message.textContent = `the cutout is not a readable PNG (${err})`;
    }
  }
  if (mine === s.token) draw(s);
}

function sizeCanvas(canvas, size) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(size * dpr);
  canvas.height = Math.round(size * dpr);
  canvas.style.width = canvas.style.height = `${size}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

function drawFootprints(ctx, shown, styles, fov, size) {
  for (const fp of drawOrder(shown)) {
    const st = footprintStyle(styles, fp.category);
    const pts = fp.corners.map(([e, n]) => skyToCanvas(e, n, fov, size));
    ctx.strokeStyle = st.color;
    ctx.lineWidth = st.width;
    ctx.globalAlpha = st.alpha;
    ctx.setLineDash(st.dash || []);
    ctx.beginPath();
    if (st.marker === "corners") {
      for (const [a, b, c] of cornerSegments(pts)) { ctx.moveTo(...a); ctx.lineTo(...b); ctx.lineTo(...c); }
    } else {
      pts.forEach((p, i) => (i ? ctx.lineTo(...p) : ctx.moveTo(...p)));
      ctx.closePath();
    }
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
  ctx.setLineDash([]);
}

function drawScaleBar(s, ctx, fov, size) {
  const bar = scaleBar(fov, size);
  ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(bar.x0, bar.y); ctx.lineTo(bar.x1, bar.y); ctx.stroke();
  ctx.textAlign = "center"; ctx.textBaseline = "bottom";
  ctx.fillText(bar.label, bar.x0 + bar.px / 2, bar.y - 3);
  s.dom.root.dataset.scalebarPx = bar.px.toFixed(2);
  s.dom.root.dataset.scalebarArcsec = String(bar.length);
}

function drawCompass(ctx, size) {
  for (const arrow of compassArrows(size)) {
    ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(...arrow.from); ctx.lineTo(...arrow.to); ctx.stroke();
    const [tip, left, right] = arrow.head;
    ctx.beginPath(); ctx.moveTo(...tip); ctx.lineTo(...left); ctx.lineTo(...right); ctx.closePath(); ctx.fill();
    ctx.textAlign = "center"; ctx.textBaseline = "middle";
    ctx.fillText(arrow.label, ...arrow.at);
  }
}

/** The fraction of a cutout's pixels with imaging (the archive leaves the rest transparent). */
function coverageOf(bitmap) {
  const c = document.createElement("canvas");
  c.width = bitmap.width; c.height = bitmap.height;
  const ctx = c.getContext("2d");
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, c.width, c.height).data;
  let covered = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) covered++;
  return covered / (c.width * c.height);
}

/** A diagonal hatch: where the field of view runs past the imaging (not a frame, not black). */
function noDataPattern(ctx) {
  const tile = document.createElement("canvas");
  tile.width = tile.height = 8;
  const t = tile.getContext("2d");
  t.fillStyle = "#2a2a2a"; t.fillRect(0, 0, 8, 8);
  t.strokeStyle = "#555"; t.beginPath(); t.moveTo(0, 8); t.lineTo(8, 0); t.stroke();
  return ctx.createPattern(tile, "repeat");
}

/** The cutout through the chosen stretch, made once per image and stretch. */
function stretchedImage(s) {
  const kind = s.model.get("stretch");
  if (!s.bitmap || kind === "linear") return s.bitmap;
  if (s.stretched && s.stretchedKind === kind) return s.stretched;
  const c = document.createElement("canvas");
  c.width = s.bitmap.width; c.height = s.bitmap.height;
  const ctx = c.getContext("2d");
  ctx.drawImage(s.bitmap, 0, 0);
  const img = ctx.getImageData(0, 0, c.width, c.height);
  const lut = stretchLUT(kind);
  for (let i = 0; i < img.data.length; i += 4) {
    img.data[i] = lut[img.data[i]]; img.data[i + 1] = lut[img.data[i + 1]]; img.data[i + 2] = lut[img.data[i + 2]];
  }
  ctx.putImageData(img, 0, 0);
  s.stretched = c; s.stretchedKind = kind;
  return c;
}

/** The cutout, the shutters, the scale bar and the compass, at the current field of view. */
function draw(s) {
  const { model, dom } = s;
  const size = model.get("size");
  const ctx = sizeCanvas(dom.canvas, size);
  const css = getComputedStyle(dom.root);
  if (!model.get("object_id") && !s.bitmap) {
    // before any object: say so, in the theme's colours (not a black square that looks broken)
    ctx.fillStyle = css.getPropertyValue("--jp-layout-color2").trim() || "#eee";
    ctx.fillRect(0, 0, size, size);
    ctx.fillStyle = css.color || "#222";
    ctx.font = "12px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    ctx.fillText(model.get("message") || "the cutout shows here", size / 2, size / 2 - 8);
    ctx.fillText("once an object is chosen", size / 2, size / 2 + 8);
    dom.root.dataset.placeholder = "1";
    dom.root.dataset.hasImage = "0";
    return;
  }
  dom.root.dataset.placeholder = "0";
  ctx.fillStyle = noDataPattern(ctx);  // shows through wherever the imaging stops
  ctx.fillRect(0, 0, size, size);
  const fov = s.viewFov;
  if (s.bitmap) {
    const span = model.get("image_fov") * (size / fov);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(stretchedImage(s), size / 2 - span / 2, size / 2 - span / 2, span, span);
  }
  const shown = shownFootprints(s);
  drawFootprints(ctx, shown, model.get("styles"), fov, size);
  ctx.fillStyle = ctx.strokeStyle = "white";
  ctx.font = "11px sans-serif";
  if (model.get("scalebar")) drawScaleBar(s, ctx, fov, size);
  if (model.get("compass")) drawCompass(ctx, size);
  dom.fovText.textContent = ` ${fov.toFixed(1)}″`;
  dom.root.dataset.shuttersDrawn = String(shown.length);
  dom.root.dataset.targetShutters = String(shown.filter((f) => f.category === "target").length);
  dom.root.dataset.hasImage = s.bitmap ? "1" : "0";
  const partial = s.bitmap && s.coverage < 0.98 ? "hatched: beyond the imaging of this field" : "";
  dom.message.textContent = model.get("message") || partial;
  dom.root.dataset.coverage = s.bitmap ? s.coverage.toFixed(3) : "";
}

function sync(s) {
  s.viewFov = s.model.get("fov");
  s.dom.fovSlider.value = String(s.viewFov);
  s.dom.mode.value = s.model.get("shutters_mode");
  s.dom.stretch.value = s.model.get("stretch");
}

function onMouseMove(s, ev) {
  const b = s.dom.canvas.getBoundingClientRect();
  const [east, north] = canvasToSky(ev.clientX - b.left, ev.clientY - b.top, s.viewFov, s.model.get("size"));
  s.dom.readout.textContent = hoverText(east, north, shownFootprints(s), s.model.get("center"));
}

function render({ model, el }) {
  const s = { model, dom: buildDom(el), bitmap: null, stretched: null, stretchedKind: "", coverage: 1, viewFov: model.get("fov"), token: 0 };
  const { dom } = s;
  dom.root.addEventListener("keydown", (ev) => { if (ev.target.matches("input, select, textarea")) ev.stopPropagation(); });
  dom.fovSlider.addEventListener("input", () => { s.viewFov = Number(dom.fovSlider.value); draw(s); });
  dom.fovSlider.addEventListener("change", () => { model.set("fov", Number(dom.fovSlider.value)); model.save_changes(); });
  dom.mode.addEventListener("change", () => { model.set("shutters_mode", dom.mode.value); model.save_changes(); });
  dom.stretch.addEventListener("change", () => { model.set("stretch", dom.stretch.value); model.save_changes(); });
  dom.canvas.addEventListener("mousemove", (ev) => onMouseMove(s, ev));

  const redraw = () => draw(s);
  const resync = () => { sync(s); draw(s); };
  const handlers = {
    "change:image": () => loadImage(s),
    "change:fov": resync,
    "change:image_fov": redraw,
    "change:footprints": redraw,
    "change:styles": redraw,
    "change:shutters_mode": resync,
    "change:scalebar": redraw,
    "change:compass": redraw,
    "change:size": redraw,
    "change:message": redraw,
    "change:object_id": redraw,
    "change:stretch": resync,
  };
  for (const [ev, fn] of Object.entries(handlers)) model.on(ev, fn);
  const themeWatch = new MutationObserver(() => { for (const ms of [0, 150, 500, 1500]) setTimeout(redraw, ms); });
  themeWatch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"] });
  sync(s);
  draw(s);
  loadImage(s);
  return () => { for (const [ev, fn] of Object.entries(handlers)) model.off(ev, fn); s.token++; themeWatch.disconnect(); };
}

export default { render };
