// Where an input comes from: the drawing pad, an uploaded/dropped/pasted picture, a dataset
// example, or (for 2-value models such as xor) a point on the plane. One panel, used by
// Predict; it calls onInput({files: [blob]} | {instances: [x]}, {source, label, live}).
import { api } from "./api.js";
import { state, testSet } from "./app.js";
import { el, field, throttle, errorBox } from "./ui.js";
import { classColour, cssVar, legend } from "./draw.js";

/** While a stroke is drawn, a prediction at most every this many ms (the issue: <= 50). */
export const LIVE_INTERVAL_MS = 40;
const PAD_SIZE = 280;

export function drawingPad(onInput) {
  // A non-square input gets a pad of its own aspect ratio (longest side PAD_SIZE).
  const [h, w] = state.manifest.input.shape;
  const PAD_W = Math.round((PAD_SIZE * w) / Math.max(h, w));
  const PAD_H = Math.round((PAD_SIZE * h) / Math.max(h, w));
  const canvas = el("canvas", { class: "pad", id: "pad", width: PAD_W, height: PAD_H,
    "aria-label": "Drawing pad: draw with a mouse, finger or pen", role: "img" });
  const ctx = canvas.getContext("2d");
  const brush = el("input", { type: "range", id: "brush", min: 4, max: 40, value: 18 });
  const strokes = []; // each: {size, points: [[x, y], ...]}
  let current = null;

  function paint() {
    ctx.fillStyle = "#ffffff"; // the picture sent is dark ink on white, like paper
    ctx.fillRect(0, 0, PAD_W, PAD_H);
    ctx.strokeStyle = "#000000";
    ctx.fillStyle = "#000000";
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const s of strokes) {
      ctx.lineWidth = s.size;
      ctx.beginPath();
      s.points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      if (s.points.length === 1) {
        ctx.arc(s.points[0][0], s.points[0][1], s.size / 2, 0, 2 * Math.PI);
        ctx.fill();
      } else ctx.stroke();
    }
  }

  function send(live) {
    if (!strokes.length) return;
    canvas.toBlob((blob) => {
      blob.name = "drawing.png";
      onInput({ files: [blob] }, { source: "drawing", live });
    }, "image/png");
  }
  const sendLive = throttle(() => send(true), LIVE_INTERVAL_MS);

  function point(event) {
    const box = canvas.getBoundingClientRect();
    return [((event.clientX - box.left) / box.width) * PAD_W, ((event.clientY - box.top) / box.height) * PAD_H];
  }
  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    try {
      canvas.setPointerCapture(event.pointerId); // keep the stroke when it leaves the pad
    } catch {
      /* a synthetic event has no active pointer to capture: draw without capture */
    }
    const pressure = event.pointerType === "pen" && event.pressure ? 0.5 + event.pressure : 1;
    current = { size: Number(brush.value) * pressure, points: [point(event)] };
    strokes.push(current);
    paint();
    sendLive();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!current) return;
    for (const e of event.getCoalescedEvents ? event.getCoalescedEvents() : [event]) current.points.push(point(e));
    paint();
    sendLive();
  });
  const end = () => {
    if (!current) return;
    current = null;
    sendLive.cancel(); // a trailing live send would follow the settled one and unsettle it
    send(false);
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  const undo = el("button", { type: "button", id: "undo", onclick: () => { strokes.pop(); paint(); send(false); } }, "Undo");
  const clear = el("button", { type: "button", id: "clear", onclick: () => { strokes.length = 0; paint(); } }, "Clear");
  paint();
  return el("div", {}, canvas, el("div", { class: "row" }, field("Brush", brush), undo, clear));
}

/** Upload, drag-and-drop and paste of PNG/JPEG pictures. Returns [element, detach]. */
export function pictureInput(onInput) {
  const file = el("input", { type: "file", id: "upload", accept: "image/png,image/jpeg" });
  const take = (blob, source) => {
    if (blob) onInput({ files: [blob] }, { source });
  };
  file.addEventListener("change", () => take(file.files[0], `upload ${file.files[0]?.name || ""}`));
  const zone = el("div", { class: "drop", id: "drop" }, field("Upload a picture", file),
    el("span", { class: "muted" }, " or drop one here, or paste (Ctrl+V)"));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    take(e.dataTransfer.files[0], "dropped picture");
  });
  const onPaste = (e) => {
    const item = [...(e.clipboardData?.items || [])].find((i) => i.type.startsWith("image/"));
    if (item) take(item.getAsFile(), "pasted picture");
  };
  document.addEventListener("paste", onPaste);
  return [zone, () => document.removeEventListener("paste", onPaste)];
}

/** A test-set example: by index, at random, or at random among one class. */
export function exampleInput(onInput) {
  const ref = testSet();
  const size = state.manifest.dataset.split?.test;
  const index = el("input", { type: "number", id: "example-index", min: 0, max: size ? size - 1 : undefined, value: 0 });
  const cls = el("select", { id: "example-class" },
    state.manifest.class_names.map((name, i) => el("option", { value: i }, name)));
  const message = el("div", { "aria-live": "polite" });
  const load = async (i) => {
    message.replaceChildren();
    try {
      const ex = await api.example(ref, i);
      index.value = ex.index;
      onInput({ instances: [ex.instance] }, { source: `${ref} #${ex.index}`, label: ex.label });
    } catch (err) {
      message.replaceChildren(errorBox(err));
    }
  };
  const random = () => Math.floor(Math.random() * (size || 1000));
  const randomOfClass = async () => {
    // Runs of examples until one of the class turns up (the API lists examples, not by class).
    message.replaceChildren(el("p", { class: "loading" }, "Looking for one"));
    try {
      for (let tries = 0; tries < 20; tries++) {
        const start = Math.max(0, random() - 200);
        const run = await api.examples(ref, start, 200);
        const hits = run.labels.map((l, i) => (l === Number(cls.value) ? i : -1)).filter((i) => i >= 0);
        if (hits.length) {
          const pick = hits[Math.floor(Math.random() * hits.length)];
          index.value = start + pick;
          message.replaceChildren();
          onInput({ instances: [run.instances[pick]] }, { source: `${ref} #${start + pick}`, label: run.labels[pick] });
          return;
        }
      }
      message.replaceChildren(errorBox(new Error("no example of that class found")));
    } catch (err) {
      message.replaceChildren(errorBox(err));
    }
  };
  return el("div", {},
    el("div", { class: "row" }, field(`Example of ${ref}`, index),
      el("button", { type: "button", id: "example-load", onclick: () => load(Number(index.value)) }, "Load"),
      el("button", { type: "button", id: "example-random", onclick: () => load(random()) }, "Random")),
    el("div", { class: "row" }, field("Class", cls),
      el("button", { type: "button", id: "example-random-class", onclick: randomOfClass }, "Random of class")),
    message);
}

/** For 2-value inputs (xor): a point on the plane over the model's decision boundary. */
export function pointPicker(onInput) {
  const spec = state.manifest.input;
  const [lo, hi] = spec.value_range;
  const SIZE = 280;
  const GRID = 41;
  const canvas = el("canvas", { id: "point-picker", class: "pad", width: SIZE, height: SIZE, role: "img",
    "aria-label": "Decision boundary: click to place the point" });
  const ctx = canvas.getContext("2d");
  const start = (t) => +(lo + t * (hi - lo)).toFixed(3);
  const xs = el("input", { type: "number", id: "point-x", step: 0.05, min: lo, max: hi, value: start(0.75) });
  const ys = el("input", { type: "number", id: "point-y", step: 0.05, min: lo, max: hi, value: start(0.3) });
  const message = el("div");
  let boundary = null; // GRID*GRID probabilities rows
  const toPx = (v) => ((v - lo) / (hi - lo)) * SIZE;

  function paint() {
    const cell = SIZE / GRID;
    ctx.clearRect(0, 0, SIZE, SIZE);
    if (boundary) {
      boundary.forEach((p, k) => {
        const best = p.indexOf(Math.max(...p));
        ctx.globalAlpha = 0.25 + 0.6 * (Math.max(...p) - 0.5);
        ctx.fillStyle = classColour(best);
        const i = k % GRID;
        const j = Math.floor(k / GRID);
        const [x0, x1] = [Math.round(i * cell), Math.round((i + 1) * cell)];
        const [y0, y1] = [Math.round(SIZE - (j + 1) * cell), Math.round(SIZE - j * cell)];
        ctx.fillRect(x0, y0, x1 - x0, y1 - y0); // edge to edge: no seams between cells
      });
      ctx.globalAlpha = 1;
    }
    const x = toPx(Number(xs.value));
    const y = SIZE - toPx(Number(ys.value));
    ctx.strokeStyle = cssVar("--fg");
    ctx.lineWidth = 3;
    ctx.beginPath();
    ctx.arc(x, y, 7, 0, 2 * Math.PI);
    ctx.stroke();
  }
  function send() {
    paint();
    onInput({ instances: [[Number(xs.value), Number(ys.value)]] }, { source: "point" });
  }
  canvas.addEventListener("pointerdown", (event) => {
    const box = canvas.getBoundingClientRect();
    const fx = (event.clientX - box.left) / box.width;
    const fy = 1 - (event.clientY - box.top) / box.height;
    xs.value = (lo + fx * (hi - lo)).toFixed(3);
    ys.value = (lo + fy * (hi - lo)).toFixed(3);
    send();
  });
  xs.addEventListener("input", send);
  ys.addEventListener("input", send);
  (async () => {
    const grid = [];
    for (let j = 0; j < GRID; j++) {
      for (let i = 0; i < GRID; i++) grid.push([lo + ((i + 0.5) / GRID) * (hi - lo), lo + ((j + 0.5) / GRID) * (hi - lo)]);
    }
    try {
      const body = await api.predict(state.model, state.version, { instances: grid });
      boundary = body.predictions.map((p) => p.probabilities);
      paint();
    } catch (err) {
      message.replaceChildren(errorBox(err));
    }
  })();
  paint();
  setTimeout(send, 0);
  const key = legend(state.manifest.class_names.map((name, c) => ({ name: `class ${name}`, colour: classColour(c) })));
  return el("div", {}, canvas, key, el("div", { class: "row" }, field("x", xs), field("y", ys)), message);
}
