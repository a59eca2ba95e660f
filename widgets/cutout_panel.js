// CutoutPanel: the RGB cutout (north up, east left) with MSA shutter footprints in the
// styles of campfire.imaging.plot_cutout, a scale bar, north/east arrows and a field-of-view
// control. Python side: campfire/widgets/cutout_panel.py. Pure functions exported for tests.

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

// ---------------------------------------------------------------------------------------------

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el }) {
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
  bar.append(fovLabel, mode);
  const canvas = h("canvas", "cf-cp-canvas");
  const readout = h("div", "cf-cp-readout");
  const message = h("div", "cf-cp-message");
  root.append(bar, canvas, readout, message);
  el.appendChild(root);

  let bitmap = null;
  let viewFov = model.get("fov");
  let token = 0;

  async function loadImage() {
    const mine = ++token;
    const view = model.get("image");
    bitmap = null;
    if (view && view.byteLength) {
      const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
      try {
        const img = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
        if (mine === token) bitmap = img;
      } catch (err) {
        message.textContent = `the cutout is not a readable PNG (${err})`;
      }
    }
    if (mine === token) draw();
  }

  function draw() {
    const size = model.get("size");
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(size * dpr);
    canvas.height = Math.round(size * dpr);
    canvas.style.width = canvas.style.height = `${size}px`;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#111";
    ctx.fillRect(0, 0, size, size);
    const fov = viewFov;
    const k = size / fov;
    if (bitmap) {
      const span = model.get("image_fov") * k;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(bitmap, size / 2 - span / 2, size / 2 - span / 2, span, span);
    }
    const styles = model.get("styles") || {};
    const shown = visibleFootprints(model.get("footprints") || [], model.get("shutters_mode"));
    const order = { other: 0, stuck_closed: 1, target: 2 }; // the target's outline on top
    for (const fp of [...shown].sort((a, b) => (order[a.category] ?? 0) - (order[b.category] ?? 0))) {
      const st = styles[fp.category] || { color: "white", width: 1, dash: [], alpha: 1, marker: "box" };
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
    ctx.fillStyle = ctx.strokeStyle = "white";
    ctx.font = "11px sans-serif";
    if (model.get("scalebar")) {
      const length = niceLength(fov);
      const x0 = 0.08 * size, y0 = size - 0.08 * size;
      ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x0 + length * k, y0); ctx.stroke();
      ctx.textAlign = "center"; ctx.textBaseline = "bottom";
      ctx.fillText(lengthLabel(length), x0 + (length * k) / 2, y0 - 3);
      root.dataset.scalebarPx = (length * k).toFixed(2);
      root.dataset.scalebarArcsec = String(length);
    }
    if (model.get("compass")) {
      const arm = 0.12 * size, ox = size - 0.08 * size, oy = 0.08 * size + arm;
      const arrow = (dx, dy, label) => {
        const tx = ox + dx * arm, ty = oy + dy * arm;
        ctx.lineWidth = 1.5;
        ctx.beginPath(); ctx.moveTo(ox, oy); ctx.lineTo(tx, ty); ctx.stroke();
        const ang = Math.atan2(ty - oy, tx - ox);
        ctx.beginPath();
        ctx.moveTo(tx, ty);
        ctx.lineTo(tx - 6 * Math.cos(ang - 0.45), ty - 6 * Math.sin(ang - 0.45));
        ctx.lineTo(tx - 6 * Math.cos(ang + 0.45), ty - 6 * Math.sin(ang + 0.45));
        ctx.closePath(); ctx.fill();
        ctx.textAlign = "center"; ctx.textBaseline = "middle";
        ctx.fillText(label, tx + dx * 9, ty + dy * 9);
      };
      arrow(0, -1, "N");
      arrow(-1, 0, "E");
    }
    fovText.textContent = ` ${fov.toFixed(1)}″`;
    root.dataset.shuttersDrawn = String(shown.length);
    root.dataset.targetShutters = String(shown.filter((f) => f.category === "target").length);
    root.dataset.hasImage = bitmap ? "1" : "0";
    message.textContent = model.get("message") || "";
  }

  function sync() {
    viewFov = model.get("fov");
    fovSlider.value = String(viewFov);
    mode.value = model.get("shutters_mode");
  }

  root.addEventListener("keydown", (ev) => { if (ev.target.matches("input, select, textarea")) ev.stopPropagation(); });
  fovSlider.addEventListener("input", () => { viewFov = Number(fovSlider.value); draw(); });
  fovSlider.addEventListener("change", () => { model.set("fov", Number(fovSlider.value)); model.save_changes(); });
  mode.addEventListener("change", () => { model.set("shutters_mode", mode.value); model.save_changes(); });
  canvas.addEventListener("mousemove", (ev) => {
    const b = canvas.getBoundingClientRect();
    const size = model.get("size");
    const x = ev.clientX - b.left, y = ev.clientY - b.top;
    const k = size / viewFov;
    const east = (size / 2 - x) / k, north = (size / 2 - y) / k;
    const shown = visibleFootprints(model.get("footprints") || [], model.get("shutters_mode"));
    const hit = shown.find((fp) => pointInPolygon([east, north], fp.corners));
    const where = `${east.toFixed(2)}″ E, ${north.toFixed(2)}″ N`;
    readout.textContent = hit ? `${where}: ${hit.category} shutter, ${hit.observation ?? ""} ${hit.object_id ?? ""} (${hit.state})` : where;
  });

  const handlers = {
    "change:image": loadImage,
    "change:fov": () => { sync(); draw(); },
    "change:image_fov": draw,
    "change:footprints": draw,
    "change:styles": draw,
    "change:shutters_mode": () => { sync(); draw(); },
    "change:scalebar": draw,
    "change:compass": draw,
    "change:size": draw,
    "change:message": draw,
  };
  for (const [ev, fn] of Object.entries(handlers)) model.on(ev, fn);
  sync();
  draw();
  loadImage();
  return () => { for (const [ev, fn] of Object.entries(handlers)) model.off(ev, fn); token++; };
}

export default { render };
