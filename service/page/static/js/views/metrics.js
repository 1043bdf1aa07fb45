// Metrics: the stored evaluations of the model version (GET .../metrics): accuracy,
// per-class accuracy, the confusion matrix raw or normalised, the confidence histograms,
// the training history, cross-dataset results and the hidden-width sweep. A confusion cell
// is a button: it lists that cell's test examples (GET .../metrics/examples), a page at a
// time, each a button that opens the example in Predict.
import { api } from "../api.js";
import { state, isImage, inputSpec, navigate, setInput, stillShown } from "../app.js";
import { cssVar, drawPixels, legend, lineChart } from "../draw.js";
import { el, svgEl, field, withLoading, formatP, errorBox } from "../ui.js";
import { oodPanel } from "./ood.js";

/** Examples per page of a confusion cell (the API allows up to 500). */
const CELL_PAGE = 48;
const count = (n) => n.toLocaleString("en-US");

function bars(values, labels, { label, colour = cssVar("--bar"), max = Math.max(...values, 1e-9), fmt = (v) => v }) {
  const W = 600;
  const H = 160;
  const bw = W / values.length;
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H + 18}`, width: "100%", role: "img", "aria-label": label });
  values.forEach((v, i) => {
    const h = (v / max) * (H - 14);
    svg.append(svgEl("rect", { x: i * bw + 2, y: H - h, width: Math.max(1, bw - 4), height: h, fill: colour },
      svgEl("title", {}, `${labels[i]}: ${fmt(v)}`)));
    if (values.length <= 20) {
      svg.append(svgEl("text", { x: i * bw + bw / 2, y: H + 14, "text-anchor": "middle", "font-size": 11, fill: cssVar("--muted") }, labels[i]));
    }
  });
  return svg;
}

function histogram(h, label) {
  const edges = h.bin_edges;
  const labels = edges.slice(0, -1).map((e, i) => `${e.toFixed(2)}-${edges[i + 1].toFixed(2)}`);
  const series = h.counts ? [["counts", h.counts, "--bar"]] : [["correct", h.correct, "--bar"], ["incorrect", h.incorrect, "--bar-top"]];
  const max = Math.max(...series.flatMap(([, c]) => c), 1);
  return el("div", {}, series.map(([name, counts, colour]) =>
    el("div", {}, el("p", { class: "muted" }, `${label}: ${name} (log scale)`),
      bars(counts.map((c) => Math.log10(1 + c)), labels, { label: `${label} ${name}`, colour: cssVar(colour), max: Math.log10(1 + max), fmt: (v) => Math.round(10 ** v - 1) }))));
}

/** One example of a cell page as a button: its picture (or values); opens it in Predict. */
function exampleButton(page, k, names) {
  const [spec, instance, index] = [inputSpec(), page.instances[k], page.indices[k]];
  const picture = isImage()
    ? drawPixels(el("canvas"), instance, spec.shape, spec.value_range)
    : el("span", {}, instance.map((v) => (+v).toFixed(2)).join(", "));
  const label = `${page.dataset} #${index}, predicted ${names[page.predicted]} (${formatP(page.probability[k])}): open in Predict`;
  return el("button", { type: "button", class: "example", title: label, "aria-label": label, dataset: { index },
    onclick: () => {
      setInput(instance, `${page.dataset} #${index}`, { label: page.true });
      navigate("predict");
    } }, picture);
}

/** The panel listing a confusion cell's examples; show(t, p, start) fills it. */
function cellPanel(names) {
  const box = el("div", { id: "cell-examples", "aria-live": "polite" },
    el("p", { class: "muted" }, "Press a cell to list its test examples."));
  let shown = 0; // the latest request: an older answer is dropped
  async function show(t, p, start, focus = null) {
    const mine = ++shown;
    const generation = state.generation;
    box.replaceChildren(el("p", { class: "loading" }, `Listing true ${names[t]}, predicted ${names[p]}`));
    try {
      const page = await api.cellExamples(state.model, state.version, t, p, start, CELL_PAGE);
      if (mine !== shown || !stillShown(generation)) return;
      const end = page.start + page.indices.length;
      const range = page.total ? `${count(page.start + 1)}–${count(end)} of ${count(page.total)}` : "no examples";
      const step = (text, to, disabled) => el("button", { type: "button", id: `cell-${text.toLowerCase()}`, disabled,
        onclick: (event) => show(t, p, to, event.currentTarget.id) }, text);
      box.replaceChildren(
        el("h3", {}, `True ${names[t]}, predicted ${names[p]} (${page.dataset})`),
        el("div", { class: "row" }, step("Prev", Math.max(0, page.start - CELL_PAGE), page.start === 0),
          el("span", { id: "cell-range", dataset: { total: page.total, start: page.start, end } }, range),
          step("Next", end, end >= page.total)),
        el("div", { class: "thumbs", id: "cell-thumbs" },
          page.indices.map((_, k) => exampleButton(page, k, names))));
      // Paging by keyboard keeps its place: the pressed button, or the other one at an end.
      if (focus) [focus, "cell-prev", "cell-next"].map((id) => document.getElementById(id)).find((b) => !b.disabled)?.focus();
    } catch (err) {
      if (mine === shown && stillShown(generation)) box.replaceChildren(errorBox(err));
    }
  }
  return { box, show };
}

function confusion(data, names) {
  const raw = data.confusion_matrix;
  const norm = data.confusion_matrix_normalised || raw.map((row) => { const s = row.reduce((a, b) => a + b, 0) || 1; return row.map((v) => v / s); });
  const mode = el("select", { id: "confusion-mode" }, el("option", { value: "raw" }, "counts"), el("option", { value: "normalised" }, "normalised by row"));
  const box = el("div", { class: "scroll-x" });
  let table = null;
  const accent = cssVar("--accent");
  const cells = cellPanel(names);
  let selected = null;
  function draw() {
    const normalised = mode.value === "normalised";
    table = el("table", { class: "matrix", id: "confusion" },
      el("caption", { class: "muted" }, "rows: true class, columns: predicted"),
      el("tr", {}, el("th", {}, ""), names.map((n) => el("th", { scope: "col" }, n))),
      raw.map((row, i) => el("tr", {}, el("th", { scope: "row" }, names[i]), row.map((v, j) => {
        const share = norm[i][j];
        const pick = () => {
          selected = `${i},${j}`;
          table.querySelectorAll("button.selected").forEach((b) => b.classList.remove("selected"));
          button.classList.add("selected");
          cells.show(i, j, 0);
        };
        const button = el("button", { type: "button", class: selected === `${i},${j}` ? "cell selected" : "cell",
          "aria-label": `true ${names[i]}, predicted ${names[j]}: ${v} example${v === 1 ? "" : "s"}`,
          "aria-controls": "cell-examples", dataset: { true: i, predicted: j }, onclick: pick },
          normalised ? share.toFixed(2) : String(v));
        return el("td", { style: `background: color-mix(in srgb, ${accent} ${Math.round(share * 70)}%, transparent)`,
          title: `true ${names[i]}, predicted ${names[j]}: ${v} (${formatP(share)})` }, button);
      }))));
    box.replaceChildren(table);
  }
  mode.addEventListener("change", draw);
  draw();
  return el("div", {}, field("Show", mode), box, cells.box);
}

function testPanel(ev, names) {
  const d = ev.data;
  return el("section", { class: "panel", id: "metrics-test" },
    el("h2", {}, `Test (${ev.dataset})`),
    el("p", { class: "big" }, `accuracy ${formatP(d.accuracy)}`, el("span", { class: "muted" }, ` · loss ${d.loss.toFixed(4)} · ${d.num_examples} examples`)),
    el("h3", {}, "Per-class accuracy"),
    bars(d.per_class_accuracy, names, { label: "Per-class accuracy", max: 1, fmt: formatP }),
    el("h3", {}, "Confusion matrix"), confusion(d, names),
    el("h3", {}, "Confidence (max probability)"), histogram(d.confidence_histogram, "confidence"));
}

function historyPanel(ev) {
  const d = ev.data;
  const acc = [["accuracy", d.accuracy, "--c0"], ["val_accuracy", d.val_accuracy, "--c1"]].filter(([, v]) => v && v.length);
  const loss = [["loss", d.loss, "--c2"], ["val_loss", d.val_loss, "--c3"]].filter(([, v]) => v && v.length);
  const chart = (rows, yMax, label) => el("div", {}, lineChart({ xs: d.epoch.length > 1 ? d.epoch : [1, 2], series: rows.map(([name, values, c]) => ({ name, values: values.length > 1 ? values : [values[0], values[0]], colour: cssVar(c) })), yMax, label, xLabel: "epoch" }),
    legend(rows.map(([name, , c]) => ({ name, colour: cssVar(c) }))));
  const maxLoss = Math.max(...loss.flatMap(([, v]) => v), 1e-9);
  return el("section", { class: "panel" }, el("h2", {}, `Training history (${ev.dataset})`),
    acc.length ? chart(acc, 1, "accuracy per epoch") : null, loss.length ? chart(loss, maxLoss, "loss per epoch") : null);
}

function crossPanel(ev, names) {
  const d = ev.data;
  return el("section", { class: "panel" }, el("h2", {}, `Cross-dataset: ${ev.dataset}`),
    el("p", {}, `accuracy (class ids compared as numbers) ${formatP(d.accuracy)} · mean max probability ${formatP(d.mean_max_probability)} · above 0.99: ${formatP(d.share_above_0_99)}`),
    d.predicted_class_counts ? bars(d.predicted_class_counts, names, { label: "Predicted class counts" }) : null,
    histogram(d.confidence_histogram, "confidence"));
}

function sweepPanel(ev) {
  const d = ev.data;
  return el("section", { class: "panel" }, el("h2", {}, `Sweep of ${d.parameter} (${ev.dataset})`),
    el("table", {}, el("tr", {}, el("th", {}, d.parameter), el("th", {}, "test accuracy"), el("th", {}, "parameters")),
      d.points.map((p) => el("tr", {}, el("td", {}, p.value), el("td", {}, formatP(p.test_accuracy)), el("td", {}, p.params ?? "")))),
    d.points.length > 1 ? lineChart({ xs: d.points.map((p) => p.value), series: [{ name: "test accuracy", values: d.points.map((p) => p.test_accuracy), colour: cssVar("--c0") }], label: "test accuracy per width", xLabel: d.parameter }) : null);
}

export async function render(main) {
  const body = await withLoading(main, api.metrics(state.model, state.version), "Reading the stored evaluations");
  const names = state.manifest.class_names;
  const by = (kind) => body.evaluations.filter((e) => e.kind === kind);
  const summary = ["train", "validation", "test"].flatMap((k) => by(k)).map((e) => `${e.kind} ${formatP(e.data.accuracy)}`);
  main.append(el("p", {}, `${body.model} v${body.version}: ${summary.join(" · ") || "no stored evaluations"}`));
  const grid = el("div", { class: "grid" });
  by("test").forEach((e) => grid.append(testPanel(e, names)));
  by("history").forEach((e) => grid.append(historyPanel(e)));
  by("cross-dataset").forEach((e) => grid.append(crossPanel(e, names)));
  by("sweep").forEach((e) => grid.append(sweepPanel(e)));
  by("ood").forEach((e) => grid.append(oodPanel(e)));
  main.append(grid);
}
