// Map: a sample of the test split on one of the version's 2-D maps (PCA fitted by the service,
// t-SNE and UMAP by the trainer, of the embedding or an opted-in layer: the method and layer
// pickers list what GET .../projection says the version has; the SDK and the CLI draw the same
// points), coloured by class, outlined where the model is wrong; hover shows the picture, click
// opens it in Predict; the current input, placed by :project on the same map, is the ringed
// point. Where the version has an out-of-distribution verdict, the points it flags are crossed
// and the current input's ring is dashed and labelled "outside" when it is flagged (the points'
// verdicts from GET .../projection/points?ood=true, the input's from :predict?ood=true).
// Under it, the stored "separate clusters" figures (GET .../metrics?kind=map).
import { api } from "../api.js";
import { state, currentInput, inputSpec, isImage, navigate, setInput, testSet, stillShown } from "../app.js";
import { classColour, cssVar, drawPixels, legend } from "../draw.js";
import { el, field, withLoading } from "../ui.js";
import { verdictSentence } from "./ood.js";

const SIZE = 640;
const PAD = 12;
/** The service's bound on one map (GET .../projection/points?num=). */
const MAX_POINTS = 10000;
/** Hover and click pick the nearest point within this many canvas pixels. */
const PICK_RADIUS = 10;
const METHOD_NAMES = { pca: "PCA", tsne: "t-SNE", umap: "UMAP" };
const PREFERRED = ["tsne", "umap", "pca"];
/** The method and layer last drawn per model, kept while the page is open. */
const chosen = new Map();

/** The version's maps [{method, layer}] and its stored cluster figures (both may be missing). */
async function mapChoices() {
  const [described, stored] = await Promise.allSettled([
    api.projection(state.model, state.version),
    api.metrics(state.model, state.version, "map"),
  ]);
  const embedding = state.manifest.embedding_layer;
  const maps = described.status === "fulfilled" ? described.value.maps : [{ method: "pca", layer: embedding }];
  const rows = stored.status === "fulfilled" ? stored.value.evaluations : [];
  return { maps, clusters: rows.length ? rows[0].data : null };
}

function clusterTable(clusters, method, layer) {
  if (!clusters) return el("p", { id: "map-clusters" }, "No cluster figures are stored for this version yet (the trainer adds them with its maps).");
  const pct = (p) => `${(p * 100).toFixed(1)}%`;
  return el("table", { id: "map-clusters" },
    el("caption", {}, `Separate clusters: the share of each point's ${clusters.k} nearest neighbours with its class, ` +
      `on the map and in the layer's own space (${clusters.maps[0]?.points ?? ""} examples of ${clusters.dataset})`),
    el("thead", {}, el("tr", {}, el("th", {}, "map"), el("th", {}, "layer"), el("th", {}, "on the map"), el("th", {}, "in the layer"))),
    el("tbody", {}, clusters.maps.map((m) => el("tr", {
      "data-method": m.method, "data-layer": m.layer, "data-share": String(m.share),
      class: m.method === method && m.layer === layer ? "current" : null,
    }, el("td", {}, METHOD_NAMES[m.method] ?? m.method), el("td", {}, m.layer), el("td", {}, pct(m.share)), el("td", {}, pct(m.layer_share))))));
}

/** What the orange marks mean: the points the verdict flags, and the current input's verdict. */
function oodKey(flagged, total, first, verdict) {
  const method = first ? `${first.method}, threshold ${first.threshold.toPrecision(3)}` : "";
  const input = verdict
    ? (verdict.verdict === "out"
      ? ` Dashed orange ring, "outside": the current input is flagged too. ${verdictSentence(verdict, state.manifest.task)}`
      : ` Solid ring: the current input is inside. ${verdictSentence(verdict, state.manifest.task)}`)
    : "";
  return el("div", { id: "map-ood", class: "legend" },
    el("span", {}, el("b", { style: `color:${cssVar("--bar-top")}`, "aria-hidden": "true" }, "× "),
      `outside: ${flagged} of these ${total} test examples, which the out-of-distribution verdict (${method}) ` +
      `calls unlike what the model learned from.${input}`));
}

export async function render(main) {
  const count = el("input", { type: "number", id: "map-count", min: 2, max: MAX_POINTS, value: 500 });
  const seed = el("input", { type: "number", id: "map-seed", min: 0, value: 0 });
  const draw = el("button", { type: "submit", class: "primary", id: "map-draw" }, "Draw the map");
  const method = el("select", { id: "map-method" });
  const layer = el("select", { id: "map-layer" });
  const out = el("div");
  const form = el("form", { class: "panel" }, el("h2", {}, `Map of ${testSet()}`),
    el("div", { class: "row" }, field("Method", method), field("Layer", layer), field("Examples", count), field("sample", seed), draw));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await build(Number(count.value), Number(seed.value), { method: method.value, layer: layer.value });
    } catch {
      /* shown */
    }
  });
  main.append(form, out);
  const generation0 = state.generation;
  const { maps, clusters } = await mapChoices();
  if (!stillShown(generation0)) return;
  const methods = PREFERRED.filter((m) => maps.some((c) => c.method === m));
  method.replaceChildren(...methods.map((m) => el("option", { value: m }, METHOD_NAMES[m])));
  const last = chosen.get(state.model);
  if (last && methods.includes(last.method)) method.value = last.method;
  const fillLayers = () => {
    const layers = maps.filter((c) => c.method === method.value).map((c) => c.layer);
    const wanted = layer.value || last?.layer;
    const keep = layers.includes(wanted) ? wanted : state.manifest.embedding_layer;
    layer.replaceChildren(...layers.map((l) => el("option", { value: l }, l)));
    layer.value = layers.includes(keep) ? keep : layers[0];
  };
  fillLayers();
  method.addEventListener("change", () => { fillLayers(); form.requestSubmit(); });
  layer.addEventListener("change", () => form.requestSubmit());

  async function build(n, sampleSeed, which) {
    chosen.set(state.model, which);
    const input = await currentInput();
    const generation = state.generation;
    const t0 = performance.now();
    const ood = Boolean(state.manifest.ood);
    const load = Promise.all([
      api.projectionPoints(state.model, state.version, n, sampleSeed, { map: which, ood }),
      api.project(state.model, state.version, { instances: [input.instance] }, { map: which }),
      ood ? api.predict(state.model, state.version, { instances: [input.instance] }, { ood }) : null,
    ]);
    const [map, placed, predicted] = await withLoading(out, load, `Placing ${n} examples`);
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
    const outside = map.ood ? map.ood.map((v) => v.verdict === "out") : null;
    const flagged = outside ? map.indices.filter((_, i) => outside[i]) : [];
    const mark = cssVar("--bar-top");
    if (outside) {
      ctx.strokeStyle = mark;
      ctx.lineWidth = 2;
      ctx.beginPath();
      for (let i = 0; i < points.length; i++) {
        if (!outside[i]) continue;
        ctx.moveTo(px[i] - 4.5, py[i] - 4.5);
        ctx.lineTo(px[i] + 4.5, py[i] + 4.5);
        ctx.moveTo(px[i] - 4.5, py[i] + 4.5);
        ctx.lineTo(px[i] + 4.5, py[i] - 4.5);
      }
      ctx.stroke();
    }
    if (outside) canvas.setAttribute("aria-label", `${canvas.getAttribute("aria-label")}, ${flagged.length} flagged outside crossed`);
    const verdict = predicted ? predicted.predictions[0].ood : null;
    const inputOut = verdict?.verdict === "out";
    ctx.strokeStyle = inputOut ? mark : cssVar("--fg");
    ctx.lineWidth = 3;
    if (inputOut) ctx.setLineDash([5, 4]);
    ctx.beginPath();
    ctx.arc(sx(mine[0]), sy(mine[1]), 9, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.setLineDash([]);
    if (inputOut) {
      const right = sx(mine[0]) > SIZE - 90;
      ctx.fillStyle = mark;
      ctx.font = "bold 14px sans-serif";
      ctx.textAlign = right ? "right" : "left";
      ctx.fillText("outside", sx(mine[0]) + (right ? -14 : 14), Math.max(16, sy(mine[1]) - 8));
    }
    Object.assign(canvas.dataset, {
      method: map.method,
      layer: map.layer,
      points: String(points.length),
      bounds: JSON.stringify([x0, x1, y0, y1]),
      pad: String(PAD),
      input: JSON.stringify(mine),
      outside: JSON.stringify(flagged),
      inputVerdict: verdict ? verdict.verdict : "",
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
    const how = map.method === "pca"
      ? `PCA of ${map.layer} fitted by the service on the whole split (the axes keep ${share(map.explained[0])} and ` +
        `${share(map.explained[1])} of the variance)`
      : `${METHOD_NAMES[map.method] ?? map.method} of ${map.layer} fitted by the trainer on ${map.size.toLocaleString("en")} ` +
        `examples (its axes mean nothing by themselves; new inputs land among their nearest examples in ${map.layer}'s space)`;
    out.replaceChildren(el("div", { class: "panel" },
      el("p", { id: "map-summary" }, `${points.length} of the ${map.size.toLocaleString("en")} points of ${map.dataset} on the map (sample ${map.seed}), ` +
        `${how}; outlined: the ${wrong} the model gets wrong; ringed: the current input ` +
        `(${input.source})${outside ? "; crossed in orange: outside what the model learned from (below)" : ""}. ` +
        "Hover for the picture, click to open it in Predict."),
      el("div", { class: "chart-wrap" }, canvas, tip),
      legend(names.map((name, c) => ({ name, colour: colours[c] }))),
      outside ? oodKey(flagged.length, points.length, map.ood[0], verdict) : null,
      clusterTable(clusters, map.method, map.layer)));
  }
  form.requestSubmit();
}
