// Map: the embedding of a sample of test examples projected to 2-D (PCA, fitted here in the
// browser for now), coloured by class; hover shows the picture, click opens it in Predict;
// the current input is the ringed star.
import { api } from "../api.js";
import { state, currentInput, inputSpec, isImage, navigate, setInput, testSet, stillShown } from "../app.js";
import { classColour, cssVar, drawPixels, legend } from "../draw.js";
import { pca2 } from "../pca.js";
import { el, field, withLoading } from "../ui.js";

const SIZE = 640;

export async function render(main) {
  const count = el("input", { type: "number", id: "map-count", min: 10, max: 4000, value: 500 });
  const start = el("input", { type: "number", id: "map-start", min: 0, value: 0 });
  const draw = el("button", { type: "submit", class: "primary", id: "map-draw" }, "Draw the map");
  const out = el("div");
  const form = el("form", { class: "panel" }, el("h2", {}, `Embedding map of ${testSet()}`),
    el("div", { class: "row" }, field("Examples", count), field("starting at", start), draw));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await build(Number(count.value), Number(start.value));
    } catch {
      /* shown */
    }
  });
  main.append(form, out);

  async function build(n, from) {
    const input = await currentInput();
    const generation = state.generation;
    const load = (async () => {
      const run = await api.examples(testSet(), from, n);
      if (!stillShown(generation)) throw new DOMException("view left", "AbortError");
      const emb = await api.embed(state.model, state.version, { instances: run.instances });
      if (!stillShown(generation)) throw new DOMException("view left", "AbortError");
      const here = await api.embed(state.model, state.version, { instances: [input.instance] });
      return { run, vectors: emb.embeddings, here: here.embeddings[0] };
    })();
    const { run, vectors, here } = await withLoading(out, load, `Embedding ${n} examples`);
    const t0 = performance.now();
    const fit = pca2(vectors);
    const fitMs = performance.now() - t0; // goes away once the service fits the projection
    const t1 = performance.now();
    const points = fit.points;
    const mine = fit.project(here);
    const xs = points.map((p) => p[0]).concat(mine[0]);
    const ys = points.map((p) => p[1]).concat(mine[1]);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const pad = 12;
    const sx = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (SIZE - 2 * pad);
    const sy = (y) => SIZE - pad - ((y - y0) / (y1 - y0 || 1)) * (SIZE - 2 * pad);
    const canvas = el("canvas", { id: "map", width: SIZE, height: SIZE, style: "width:100%;max-width:640px",
      role: "img", "aria-label": `Embedding map: ${points.length} examples coloured by class` });
    const ctx = canvas.getContext("2d");
    const colours = state.manifest.class_names.map((_, c) => classColour(c));
    ctx.fillStyle = cssVar("--panel");
    ctx.fillRect(0, 0, SIZE, SIZE);
    ctx.globalAlpha = 0.8;
    points.forEach(([x, y], i) => {
      ctx.fillStyle = colours[run.labels[i]];
      ctx.beginPath();
      ctx.arc(sx(x), sy(y), 3, 0, 2 * Math.PI);
      ctx.fill();
    });
    ctx.globalAlpha = 1;
    ctx.strokeStyle = cssVar("--fg");
    ctx.lineWidth = 3;
    ctx.beginPath();
    ctx.arc(sx(mine[0]), sy(mine[1]), 9, 0, 2 * Math.PI);
    ctx.stroke();
    canvas.dataset.points = String(points.length);
    canvas.dataset.fitMs = fitMs.toFixed(1);
    canvas.dataset.drawMs = (performance.now() - t1).toFixed(1);
    const tip = el("div", { class: "tooltip", hidden: true });
    const nearest = (event) => {
      const box = canvas.getBoundingClientRect();
      const mx = ((event.clientX - box.left) / box.width) * SIZE;
      const my = ((event.clientY - box.top) / box.height) * SIZE;
      let best = -1;
      let bestD = 100;
      points.forEach(([x, y], i) => {
        const d = (sx(x) - mx) ** 2 + (sy(y) - my) ** 2;
        if (d < bestD) { bestD = d; best = i; }
      });
      return [best, event.clientX - box.left, event.clientY - box.top];
    };
    canvas.addEventListener("pointermove", (event) => {
      const [i, x, y] = nearest(event);
      if (i < 0) { tip.hidden = true; return; }
      const spec = inputSpec();
      tip.replaceChildren(
        isImage() ? drawPixels(el("canvas", { style: "width:56px;height:56px" }), run.instances[i], spec.shape, spec.value_range) : null,
        el("div", {}, `#${run.start + i}: ${state.manifest.class_names[run.labels[i]]}`));
      tip.style.left = `${x + 12}px`;
      tip.style.top = `${y + 12}px`;
      tip.hidden = false;
    });
    canvas.addEventListener("pointerleave", () => (tip.hidden = true));
    canvas.addEventListener("click", (event) => {
      const [i] = nearest(event);
      if (i < 0) return;
      setInput(run.instances[i], `${testSet()} #${run.start + i}`, { label: run.labels[i] });
      navigate("predict");
    });
    out.replaceChildren(el("div", { class: "panel" },
      el("p", { id: "map-summary" }, `${points.length} examples, PCA of ${state.manifest.embedding_layer} (${vectors[0].length} units) fitted in the browser; ringed: the current input (${input.source}). Hover for the picture, click to open it in Predict.`),
      el("div", { class: "chart-wrap" }, canvas, tip),
      legend(state.manifest.class_names.map((name, c) => ({ name, colour: colours[c] })))));
  }
  form.requestSubmit();
}
