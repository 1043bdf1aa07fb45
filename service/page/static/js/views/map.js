// Map: a sample of the test split on the service's 2-D map of the embedding space (PCA fitted
// by the service per model version, so the SDK and the CLI draw the same points), coloured by
// class, outlined where the model is wrong; hover shows the picture, click opens it in
// Predict; the current input, placed by :project, is the ringed point.
import { api } from "../api.js";
import { state, currentInput, inputSpec, isImage, navigate, setInput, testSet, stillShown } from "../app.js";
import { classColour, cssVar, drawPixels, legend } from "../draw.js";
import { el, field, withLoading } from "../ui.js";

const SIZE = 640;
const PAD = 12;
/** The service's bound on one map (GET .../projection/points?num=). */
const MAX_POINTS = 10000;
/** Hover and click pick the nearest point within this many canvas pixels. */
const PICK_RADIUS = 10;

export async function render(main) {
  const count = el("input", { type: "number", id: "map-count", min: 2, max: MAX_POINTS, value: 500 });
  const seed = el("input", { type: "number", id: "map-seed", min: 0, value: 0 });
  const draw = el("button", { type: "submit", class: "primary", id: "map-draw" }, "Draw the map");
  const out = el("div");
  const form = el("form", { class: "panel" }, el("h2", {}, `Embedding map of ${testSet()}`),
    el("div", { class: "row" }, field("Examples", count), field("sample", seed), draw));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await build(Number(count.value), Number(seed.value));
    } catch {
      /* shown */
    }
  });
  main.append(form, out);

  async function build(n, sampleSeed) {
    const input = await currentInput();
    const generation = state.generation;
    const t0 = performance.now();
    const load = Promise.all([
      api.projectionPoints(state.model, state.version, n, sampleSeed),
      api.project(state.model, state.version, { instances: [input.instance] }),
    ]);
    const [map, placed] = await withLoading(out, load, `Placing ${n} examples`);
    if (!stillShown(generation)) return;
    const loadMs = performance.now() - t0;
    const t1 = performance.now();
    const points = map.coords;
    const mine = placed.coords[0];
    let [x0, x1, y0, y1] = [mine[0], mine[0], mine[1], mine[1]];
    for (const [x, y] of points) {
      if (x < x0) x0 = x; else if (x > x1) x1 = x;
      if (y < y0) y0 = y; else if (y > y1) y1 = y;
    }
    const sx = (x) => PAD + ((x - x0) / (x1 - x0 || 1)) * (SIZE - 2 * PAD);
    const sy = (y) => SIZE - PAD - ((y - y0) / (y1 - y0 || 1)) * (SIZE - 2 * PAD);
    const px = Float32Array.from(points, (p) => sx(p[0]));
    const py = Float32Array.from(points, (p) => sy(p[1]));
    const names = state.manifest.class_names;
    const wrong = map.labels.reduce((k, label, i) => k + (label !== map.predicted[i]), 0);
    const canvas = el("canvas", { id: "map", width: SIZE, height: SIZE, style: "width:100%;max-width:640px",
      role: "img", "aria-label": `Embedding map: ${points.length} examples coloured by class, ${wrong} misclassified outlined` });
    const ctx = canvas.getContext("2d");
    const colours = names.map((_, c) => classColour(c));
    ctx.fillStyle = cssVar("--panel");
    ctx.fillRect(0, 0, SIZE, SIZE);
    ctx.globalAlpha = 0.8;
    for (let i = 0; i < points.length; i++) {
      ctx.fillStyle = colours[map.labels[i]];
      ctx.beginPath();
      ctx.arc(px[i], py[i], 3, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
    ctx.strokeStyle = cssVar("--fg");
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let i = 0; i < points.length; i++) {
      if (map.labels[i] === map.predicted[i]) continue;
      ctx.moveTo(px[i] + 3.5, py[i]);
      ctx.arc(px[i], py[i], 3.5, 0, 2 * Math.PI);
    }
    ctx.stroke();
    ctx.lineWidth = 3;
    ctx.beginPath();
    ctx.arc(sx(mine[0]), sy(mine[1]), 9, 0, 2 * Math.PI);
    ctx.stroke();
    Object.assign(canvas.dataset, {
      points: String(points.length),
      bounds: JSON.stringify([x0, x1, y0, y1]),
      pad: String(PAD),
      input: JSON.stringify(mine),
      loadMs: loadMs.toFixed(1),
      drawMs: (performance.now() - t1).toFixed(1),
    });

    const tip = el("div", { class: "tooltip", id: "map-tip", hidden: true });
    const examples = new Map(); // dataset index -> Promise of the example, fetched on first hover
    const example = (index) => {
      if (!examples.has(index)) examples.set(index, api.example(testSet(), index));
      return examples.get(index);
    };
    const nearest = (event) => {
      const box = canvas.getBoundingClientRect();
      const mx = ((event.clientX - box.left) / box.width) * SIZE;
      const my = ((event.clientY - box.top) / box.height) * SIZE;
      let best = -1;
      let bestD = PICK_RADIUS * PICK_RADIUS;
      for (let i = 0; i < px.length; i++) {
        const d = (px[i] - mx) ** 2 + (py[i] - my) ** 2;
        if (d < bestD) { bestD = d; best = i; }
      }
      return [best, event.clientX - box.left, event.clientY - box.top];
    };
    let shown = -1;
    canvas.addEventListener("pointermove", (event) => {
      const [i, x, y] = nearest(event);
      tip.style.left = `${x + 12}px`;
      tip.style.top = `${y + 12}px`;
      if (i < 0) { tip.hidden = true; shown = -1; return; }
      tip.hidden = false;
      if (i === shown) return;
      shown = i;
      const index = map.indices[i];
      const guess = map.predicted[i] === map.labels[i] ? "" : `, predicted ${names[map.predicted[i]]}`;
      const text = el("div", { "data-index": index }, `#${index}: ${names[map.labels[i]]}${guess}`);
      tip.replaceChildren(text);
      if (!isImage()) return;
      example(index).then((ex) => {
        if (shown !== i) return;
        const spec = inputSpec();
        tip.prepend(drawPixels(el("canvas", { style: "width:56px;height:56px" }), ex.instance, spec.shape, spec.value_range));
      }, () => examples.delete(index));
    });
    canvas.addEventListener("pointerleave", () => { tip.hidden = true; shown = -1; });
    canvas.addEventListener("click", async (event) => {
      const [i] = nearest(event);
      if (i < 0) return;
      const index = map.indices[i];
      const ex = await example(index);
      if (!stillShown(generation)) return;
      setInput(ex.instance, `${testSet()} #${index}`, { label: ex.label });
      navigate("predict");
    });
    const share = (p) => `${(p * 100).toFixed(0)}%`;
    out.replaceChildren(el("div", { class: "panel" },
      el("p", { id: "map-summary" }, `${points.length} of the ${map.size.toLocaleString("en")} examples of ${map.dataset} (sample ${map.seed}), ` +
        `PCA of ${map.layer} fitted by the service on the whole split (the axes keep ${share(map.explained[0])} and ` +
        `${share(map.explained[1])} of the variance); outlined: the ${wrong} the model gets wrong; ringed: the current input ` +
        `(${input.source}). Hover for the picture, click to open it in Predict.`),
      el("div", { class: "chart-wrap" }, canvas, tip),
      legend(names.map((name, c) => ({ name, colour: colours[c] })))));
  }
  form.requestSubmit();
}
