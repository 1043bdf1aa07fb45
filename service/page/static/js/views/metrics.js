// Metrics: the stored evaluations of the model version (GET .../metrics): accuracy,
// per-class accuracy, the confusion matrix raw or normalised, the confidence histograms,
// the training history, cross-dataset results and the hidden-width sweep.
import { api } from "../api.js";
import { state } from "../app.js";
import { cssVar, legend, lineChart } from "../draw.js";
import { el, svgEl, field, withLoading, formatP } from "../ui.js";

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

function confusion(data, names) {
  const raw = data.confusion_matrix;
  const norm = data.confusion_matrix_normalised || raw.map((row) => { const s = row.reduce((a, b) => a + b, 0) || 1; return row.map((v) => v / s); });
  const mode = el("select", { id: "confusion-mode" }, el("option", { value: "raw" }, "counts"), el("option", { value: "normalised" }, "normalised by row"));
  const box = el("div", { style: "overflow-x:auto" });
  const accent = cssVar("--accent");
  function draw() {
    const normalised = mode.value === "normalised";
    const table = el("table", { class: "matrix", id: "confusion" },
      el("caption", { class: "muted" }, "rows: true class, columns: predicted"),
      el("tr", {}, el("th", {}, ""), names.map((n) => el("th", { scope: "col" }, n))),
      raw.map((row, i) => el("tr", {}, el("th", { scope: "row" }, names[i]), row.map((v, j) => {
        const share = norm[i][j];
        return el("td", { style: `background: color-mix(in srgb, ${accent} ${Math.round(share * 70)}%, transparent)`,
          title: `true ${names[i]}, predicted ${names[j]}: ${v} (${formatP(share)})` },
          normalised ? share.toFixed(2) : String(v));
      }))));
    box.replaceChildren(table);
  }
  mode.addEventListener("change", draw);
  draw();
  return el("div", {}, field("Show", mode), box,
    el("p", { class: "muted" }, "Listing a cell's examples needs per-example predictions the service does not store yet."));
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
  main.append(grid);
}
