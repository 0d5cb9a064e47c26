// facepoints web page: upload a photo, draw the landmarks the API returns (SVG over the photo),
// and, for models that take plane points (TUFA), click the canonical face plane to ask for new points.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
// the overlay colours of facepoints.drawing.overlay (RGB), so the page and the PNG overlays agree
const GROUP_COLOURS = ["#ff5050", "#50c850", "#50a0ff", "#ffc828", "#c850ff", "#28dcdc", "#ff78c8", "#a0a0a0"];
const POSE_AXES = [["facing", "#ff3b30"], ["up", "#2f6bff"], ["subject's left", "#00c800"]];
const POSE_AXIS_LENGTH = 0.6;         // x the face box's longer side, as in the PNG overlays
const SIGMA_SCALES = [1, 2, 3, 5];    // ellipses at k x sigma, the first k whose median ellipse reads
const ELLIPSE_MIN_RADIUS = 1.5;       // ... in point-marker radii
const PLANE_COLOUR = "#ff2d95";

const $ = (id) => document.getElementById(id);
const state = {
  models: [], model: null, image: null, record: null, pointsRecord: null,
  anchors: null, planePoints: [], sent: { record: 0, pointsRecord: 0 },
};

// ---- small helpers ---------------------------------------------------------------------------

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function setStatus(text, kind = "") {
  const status = $("status");
  status.textContent = text;
  status.className = "status " + kind;
}

function letters(i) {            // 0 -> a, 25 -> z, 26 -> aa (as `facepoints plane` names points)
  let out = "";
  for (i += 1; i > 0; i = Math.floor((i - 1) / 26)) out = String.fromCharCode(97 + ((i - 1) % 26)) + out;
  return out;
}

function currentModel() {
  return state.models.find((m) => m.name === state.model) || null;
}

function takesPoints() {
  const m = currentModel();
  return Boolean(m && m.capabilities.takes_points);
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function download(name, data) {
  const blob = new Blob([JSON.stringify(data, null, 1) + "\n"], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// ---- geometry (facepoints.geometry.pose) -----------------------------------------------------

// (yaw, pitch, roll) degrees -> image-plane directions (x right, y down) of the head's facing,
// up and subject's-left axes: R = Rz(roll) Ry(yaw) Rx(-pitch), orthographic projection.
function poseAxes2d(yaw, pitch, roll) {
  const r = (d) => (d * Math.PI) / 180;
  const [cy, sy, cp, sp, cr, sr] = [Math.cos(r(yaw)), Math.sin(r(yaw)), Math.cos(r(-pitch)),
    Math.sin(r(-pitch)), Math.cos(r(roll)), Math.sin(r(roll))];
  const rx = [[1, 0, 0], [0, cp, -sp], [0, sp, cp]];
  const ry = [[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]];
  const rz = [[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]];
  const mul = (a, b) => a.map((row) => [0, 1, 2].map((j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
  const m = mul(mul(rz, ry), rx);
  return [2, 1, 0].map((col) => [m[0][col], -m[1][col]]);
}

function median(values) {
  const v = values.filter((x) => Number.isFinite(x) && x > 0).sort((a, b) => a - b);
  return v.length ? v[Math.floor((v.length - 1) / 2)] : null;
}

function sigmaScale(faces, radius) {
  const medians = faces.filter((f) => f.sigma).map((f) => median(f.sigma.map(([a, b]) => (a + b) / 2)))
    .filter((m) => m !== null);
  if (!medians.length) return 1;
  const least = Math.min(...medians);
  return SIGMA_SCALES.find((k) => k * least >= ELLIPSE_MIN_RADIUS * radius) || SIGMA_SCALES.at(-1);
}

function pointColours(count, groups) {
  const colours = new Array(count).fill(GROUP_COLOURS[0]);
  Object.values(groups || {}).forEach((idx, g) => idx.forEach((i) => {
    if (i < count) colours[i] = GROUP_COLOURS[g % GROUP_COLOURS.length];
  }));
  return colours;
}

// ---- the photo overlay -----------------------------------------------------------------------

// the part of the photo shown: all of it, or (zoomed) the faces with room around them
function viewRegion(record, size) {
  const [w, h] = size;
  if (!record || !record.faces.length || !$("zoom").checked) return [0, 0, w, h];
  const boxes = record.faces.map((f) => f.box);
  let x0 = Math.min(...boxes.map((b) => b[0])), y0 = Math.min(...boxes.map((b) => b[1]));
  let x1 = Math.max(...boxes.map((b) => b[2])), y1 = Math.max(...boxes.map((b) => b[3]));
  const side = Math.max(x1 - x0, y1 - y0) * 1.9;
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  const vw = Math.min(w, side * 1.25), vh = Math.min(h, side);
  x0 = Math.min(Math.max(0, cx - vw / 2), w - vw);
  y0 = Math.min(Math.max(0, cy - vh / 2), h - vh);
  return [x0, y0, vw, vh];
}

// a landmark's radius in image pixels: a fraction of the smallest face, at least a few screen pixels
function markerRadius(record, view) {
  const svg = $("overlay");
  const perScreenPixel = view[2] / Math.max(1, svg.clientWidth || view[2]);
  const sides = record ? record.faces.map((f) => Math.max(f.box[2] - f.box[0], f.box[3] - f.box[1])) : [];
  return Math.max(2.6 * perScreenPixel, sides.length ? Math.min(...sides) / 90 : 0);
}

function drawOverlay() {
  const svg = $("overlay");
  svg.replaceChildren();
  if (!state.image) return;
  const record = state.record;
  const size = record ? [record.width, record.height] : state.image.size;
  const view = viewRegion(record, size);
  svg.setAttribute("viewBox", view.join(" "));
  svg.style.aspectRatio = `${view[2]} / ${view[3]}`;
  el("image", { href: state.image.url, x: 0, y: 0, width: size[0], height: size[1], class: "photo" }, svg);
  if (!record) return;
  const r = markerRadius(record, view);
  const k = sigmaScale(record.faces, r);
  const show = { box: $("show-box").checked, ellipses: $("show-ellipses").checked, pose: $("show-pose").checked };
  const groups = (state.models.find((m) => m.name === record.model) || {}).groups;
  const defs = el("defs", {}, svg);
  POSE_AXES.forEach(([, colour], i) => {
    const marker = el("marker", { id: `arrow${i}`, viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 4,
      markerHeight: 4, orient: "auto-start-reverse" }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: colour }, marker);
  });
  record.faces.forEach((face, n) => {
    const g = el("g", { class: "face" }, svg);
    const colours = pointColours(face.landmarks.length, groups);
    if (show.box) {
      const [x0, y0, x1, y1] = face.box;
      el("rect", { x: x0, y: y0, width: x1 - x0, height: y1 - y0, class: "box", "stroke-width": r * 0.5 }, g);
    }
    if (show.ellipses && face.sigma) {
      face.landmarks.forEach(([x, y], i) => el("ellipse", { cx: x, cy: y, rx: k * face.sigma[i][0],
        ry: k * face.sigma[i][1], class: "spread", fill: colours[i], stroke: colours[i],
        "stroke-width": r * 0.3 }, g));
    }
    if (show.pose && face.pose) drawPose(g, face, r);
    face.landmarks.forEach(([x, y], i) => {
      const dot = el("circle", { cx: x, cy: y, r, class: "landmark", fill: colours[i], "stroke-width": r * 0.3 }, g);
      el("title", {}, dot).textContent = `point ${i}: (${x.toFixed(1)}, ${y.toFixed(1)})`;
    });
    if (show.box) drawLabel(g, face, n, r);
  });
  drawPlaneMarks(svg, r);
  drawLegend(record, k);
}

function drawPose(g, face, r) {
  const pts = face.landmarks.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (!pts.length) return;
  const cx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const cy = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  const side = Math.max(face.box[2] - face.box[0], face.box[3] - face.box[1]);
  poseAxes2d(face.pose.yaw, face.pose.pitch, face.pose.roll).forEach(([dx, dy], i) => {
    el("line", { x1: cx, y1: cy, x2: cx + POSE_AXIS_LENGTH * side * dx, y2: cy + POSE_AXIS_LENGTH * side * dy,
      stroke: POSE_AXES[i][1], "stroke-width": r * 0.9, "stroke-linecap": "round", class: "pose-axis",
      "marker-end": `url(#arrow${i})` }, g);
  });
}

function drawLabel(g, face, n, r) {
  const parts = [`face ${n + 1}`, face.box_source === "given" ? "box given" : `det ${face.score.toFixed(2)}`];
  if (face.confidence !== undefined) parts.push(`conf ${face.confidence.toFixed(2)}`);
  const size = r * 5;
  const text = el("text", { x: face.box[0], y: Math.max(size, face.box[1] - size * 0.4), class: "label",
    "font-size": size, "stroke-width": size * 0.22 }, g);
  text.textContent = parts.join("  ·  ");
}

function drawPlaneMarks(svg, r) {
  const rec = state.pointsRecord;
  if (!rec) return;
  const names = (rec.plane_points && rec.plane_points.names) || [];
  rec.faces.forEach((face) => face.landmarks.forEach(([x, y], i) => {
    const g = el("g", { class: "plane-mark" }, svg);
    el("circle", { cx: x, cy: y, r: r * 2.1, fill: PLANE_COLOUR, stroke: "white", "stroke-width": r * 0.7 }, g);
    const size = r * 6.5;
    const label = el("text", { x: x + r * 2.6, y: y - r * 2.2, class: "plane-label", "font-size": size,
      "stroke-width": size * 0.25 }, g);
    label.textContent = names[i] || letters(i);
  }));
}

function drawLegend(record, k) {
  const legend = $("legend");
  const items = [];
  const swatch = (colour, text, shape = "dot") =>
    `<span class="item"><i class="${shape}" style="--c:${colour}"></i>${escapeHtml(text)}</span>`;
  const groups = (state.models.find((m) => m.name === record.model) || {}).groups || {};
  const names = Object.keys(groups);
  if (record.faces.length) {
    items.push(names.length > 1
      ? names.map((name, g) => swatch(GROUP_COLOURS[g % GROUP_COLOURS.length], name.replace("_", " "))).join("")
      : swatch(GROUP_COLOURS[0], "landmarks"));
    if (record.faces.some((f) => f.sigma) && $("show-ellipses").checked) items.push(`<span class="item">ellipses: ${k} × sigma</span>`);
    if (record.faces.some((f) => f.pose) && $("show-pose").checked) {
      items.push(POSE_AXES.map(([name, colour]) => swatch(colour, name, "bar")).join(""));
    }
    if (state.pointsRecord) items.push(swatch(PLANE_COLOUR, "your plane points"));
  }
  legend.innerHTML = items.map((html) => `<div class="row">${html}</div>`).join("");
}

function summarise() {
  const rec = state.record;
  const box = $("summary");
  if (!rec) {
    box.textContent = state.image ? "No result for this photo." : "No photo yet.";
    for (const id of ["download", "download-points", "download-plane"]) $(id).disabled = true;
    return;
  }
  const rows = rec.faces.map((f, n) => {
    const bits = [`<b>face ${n + 1}</b>`, `${f.landmarks.length} points`];
    if (f.confidence !== undefined) bits.push(`face prob ${f.confidence.toFixed(2)}`);
    if (f.pose) bits.push(`yaw ${f.pose.yaw.toFixed(0)}°, pitch ${f.pose.pitch.toFixed(0)}°, roll ${f.pose.roll.toFixed(0)}°`);
    if (f.sigma) bits.push(`median sigma ${median(f.sigma.map(([a, b]) => (a + b) / 2)).toFixed(1)} px`);
    return `<li>${bits.join(" · ")}</li>`;
  });
  const head = `${rec.image} · ${rec.width} × ${rec.height} · ${rec.model}`;
  box.innerHTML = `<p>${escapeHtml(head)}</p>` + (rows.length ? `<ul>${rows.join("")}</ul>` : "<p>No face found.</p>");
  $("download").disabled = false;
  $("download-points").disabled = !state.pointsRecord;
  $("download-plane").disabled = !state.planePoints.length;
}

function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
}

// ---- the canonical face plane ----------------------------------------------------------------

function drawPlane() {
  const svg = $("plane");
  const usable = takesPoints() && state.anchors;
  svg.toggleAttribute("hidden", !usable);  // an SVG element has no .hidden property
  $("clear-points").hidden = !usable || !state.planePoints.length;
  $("plane-help").textContent = usable
    ? "Click anywhere on this face plane to ask the model for that point; it is placed on the photo at once."
    : takesPoints() ? "Loading the plane…"
      : "Pick a model that takes plane points (TUFA) to ask for points nobody labelled.";
  svg.replaceChildren();
  drawPlaneList();
  if (!usable) return;
  const extent = Math.max(1.1, ...state.anchors.flat().map(Math.abs), ...state.planePoints.flatMap((p) => p.xy.map(Math.abs))) + 0.15;
  svg.setAttribute("viewBox", `${-extent} ${-extent} ${2 * extent} ${2 * extent}`);
  const grid = el("g", { class: "grid" }, svg);
  for (let v = -Math.floor(extent * 2) / 2; v <= extent; v += 0.5) {
    el("line", { x1: v, y1: -extent, x2: v, y2: extent, class: v === 0 ? "axis" : "" }, grid);
    el("line", { x1: -extent, y1: v, x2: extent, y2: v, class: v === 0 ? "axis" : "" }, grid);
  }
  const groups = currentModel().groups || {};
  Object.entries(groups).forEach(([name, idx], g) => {
    const closed = /eye|lip|mouth/.test(name);
    const pts = idx.filter((i) => i < state.anchors.length).map((i) => state.anchors[i].join(","));
    el(closed ? "polygon" : "polyline", { points: pts.join(" "), class: "contour",
      stroke: GROUP_COLOURS[g % GROUP_COLOURS.length] }, svg);
  });
  const colours = pointColours(state.anchors.length, groups);
  state.anchors.forEach(([x, y], i) => {
    const dot = el("circle", { cx: x, cy: y, r: 0.022, class: "anchor", fill: colours[i] }, svg);
    el("title", {}, dot).textContent = `anchor ${i}: (${x.toFixed(3)}, ${y.toFixed(3)})`;
  });
  state.planePoints.forEach((p) => {
    el("circle", { cx: p.xy[0], cy: p.xy[1], r: 0.04, class: "picked" }, svg);
    const t = el("text", { x: p.xy[0] + 0.055, y: p.xy[1] - 0.045, class: "picked-label" }, svg);
    t.textContent = p.name;
  });
}

function drawPlaneList() {
  const list = $("plane-list");
  list.replaceChildren();
  state.planePoints.forEach((p, i) => {
    const li = document.createElement("li");
    li.innerHTML = `<b>${escapeHtml(p.name)}</b> (${p.xy[0].toFixed(3)}, ${p.xy[1].toFixed(3)})`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link";
    remove.textContent = "remove";
    remove.onclick = () => { state.planePoints.splice(i, 1); pointsChanged(); };
    li.appendChild(remove);
    list.appendChild(li);
  });
}

function planeClick(event) {
  const svg = $("plane");
  const pt = new DOMPoint(event.clientX, event.clientY).matrixTransform(svg.getScreenCTM().inverse());
  const used = new Set(state.planePoints.map((p) => p.name));
  let n = 0;
  while (used.has(letters(n))) n += 1;
  state.planePoints.push({ name: letters(n), xy: [Number(pt.x.toFixed(4)), Number(pt.y.toFixed(4))] });
  pointsChanged();
}

function pointsChanged() {
  drawPlane();
  if (!state.planePoints.length) {
    state.pointsRecord = null;
    drawOverlay();
    summarise();
    return;
  }
  detectPoints();
}

function planeFile() {
  return Object.fromEntries(state.planePoints.map((p) => [p.name, p.xy]));
}

// ---- talking to the server -------------------------------------------------------------------

function form(extra = {}) {
  const data = new FormData();
  data.append("image", state.image.blob, state.image.name);
  data.append("model", state.model);
  for (const [k, v] of Object.entries(extra)) data.append(k, v);
  return data;
}

// POST /api/detect; its answer goes to state[kind] ("record" or "pointsRecord") unless a newer
// request of the same kind went out meanwhile (then false). body[data-state|data-points] follows it.
async function post(kind, body) {
  const id = ++state.sent[kind];
  const flag = kind === "record" ? "state" : "points";
  document.body.dataset[flag] = "busy";
  try {
    const answer = await api("/api/detect", { method: "POST", body });
    if (id !== state.sent[kind]) return false;
    state[kind] = answer;
    document.body.dataset[flag] = "ready";
  } catch (err) {
    if (id !== state.sent[kind]) return false;
    state[kind] = null;
    setStatus(err.message, "error");
    document.body.dataset[flag] = "error";
  }
  return true;
}

async function detect() {
  if (!state.image) return;
  setStatus(`Finding faces with ${state.model}…`, "busy");
  const started = performance.now();
  if (!(await post("record", form()))) return;
  const record = state.record;
  if (record) {
    const ms = Math.round(performance.now() - started);
    const n = record.faces.length;
    setStatus(n ? `${n} face${n > 1 ? "s" : ""} · ${record.faces[0].landmarks.length} landmarks each · ${ms} ms`
      : `No face found in ${record.image} (${ms} ms).`, n ? "ok" : "");
  }
  drawOverlay();
  summarise();
  if (record && takesPoints() && state.planePoints.length) detectPoints();
}

async function detectPoints() {
  if (!state.image || !state.record || !takesPoints()) return;
  if (!(await post("pointsRecord", form({ points: JSON.stringify(planeFile()) })))) return;
  drawOverlay();
  summarise();
}

async function loadPlane() {
  state.anchors = null;
  drawPlane();
  if (!takesPoints()) return;
  const name = state.model;
  try {
    const plane = await api(`/api/models/${encodeURIComponent(name)}/plane`);
    if (name === state.model) state.anchors = plane.anchors;
  } catch (err) {
    setStatus(err.message, "error");
  }
  drawPlane();
}

function useImage(blob, name) {
  if (state.image) URL.revokeObjectURL(state.image.url);
  const url = URL.createObjectURL(blob);
  const probe = new Image();
  probe.onload = () => {
    state.image = { blob, name, url, size: [probe.naturalWidth, probe.naturalHeight] };
    state.record = null;
    state.pointsRecord = null;
    $("viewer").classList.add("has-photo");
    drawOverlay();
    detect();
  };
  probe.onerror = () => {  // not an image the browser shows: the server still says why in one line
    state.image = { blob, name, url, size: [1, 1] };
    state.record = null;
    state.pointsRecord = null;
    $("viewer").classList.remove("has-photo");
    detect();
  };
  probe.src = url;
}

function modelInfo() {
  const m = currentModel();
  if (!m) return;
  const caps = [];
  if (m.capabilities.outputs.includes("pose")) caps.push("head pose");
  if (m.capabilities.outputs.includes("face_prob")) caps.push("face check");
  if (m.capabilities.outputs.includes("sigma")) caps.push("per-point sigma");
  if (m.capabilities.stages) caps.push(`${m.capabilities.stages} stages`);
  if (m.capabilities.takes_points) caps.push("any plane point");
  $("model-info").textContent = `${m.architecture.toUpperCase()} · ${m.scheme}${caps.length ? " · " + caps.join(", ") : ""}`;
  // toggles for what this model does not give are greyed out (their setting is kept for the next model)
  for (const [id, output] of [["show-ellipses", "sigma"], ["show-pose", "pose"]]) {
    const absent = !m.capabilities.outputs.includes(output);
    $(id).disabled = absent;
    $(id).parentElement.classList.toggle("absent", absent);
  }
}

async function init() {
  try {
    const listing = await api("/api/models");
    state.models = listing.models;
    state.model = listing.default;
  } catch (err) {
    setStatus(`Cannot list the models: ${err.message}`, "error");
    return;
  }
  const select = $("model");
  for (const m of state.models) {
    const option = document.createElement("option");
    option.value = m.name;
    option.textContent = m.capabilities.takes_points ? `${m.name} (any point)` : m.name;
    select.appendChild(option);
  }
  select.value = state.model;
  select.onchange = () => {
    state.model = select.value;
    state.pointsRecord = null;
    modelInfo();
    loadPlane();
    detect();
  };
  modelInfo();
  loadPlane();

  $("file").onchange = (e) => { if (e.target.files[0]) useImage(e.target.files[0], e.target.files[0].name); };
  $("sample").onclick = async () => {
    const response = await fetch("/api/sample");
    useImage(await response.blob(), "astronaut.jpg");
  };
  const drop = $("drop");
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add("over"); };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer.files[0];
    if (file) useImage(file, file.name);
  };
  for (const id of ["zoom", "show-box", "show-ellipses", "show-pose"]) $(id).onchange = drawOverlay;
  window.addEventListener("resize", drawOverlay);
  $("plane").addEventListener("click", planeClick);
  $("clear-points").onclick = () => { state.planePoints = []; pointsChanged(); };
  const stem = () => (state.record ? state.record.image.replace(/\.[^.]*$/, "") : "facepoints");
  $("download").onclick = () => download(`${stem()}.json`, state.record);
  $("download-points").onclick = () => download(`${stem()}_plane_points.json`, state.pointsRecord);
  $("download-plane").onclick = () => download("plane_points.json", planeFile());
  document.body.dataset.state = "idle";
}

window.facepoints = { poseAxes2d, state };  // for the browser test and the curious
init();
