// Whether to believe it: the out-of-distribution verdict in words beside Predict's
// probabilities, with the input's score on the picture of the validation split's scores
// (the manifest's `ood` record), and the stored `ood` evaluation for Metrics (ROC curves,
// the histograms of scores in and out). Scores: higher = more unusual; "out" above the
// threshold that keeps 95% of the validation split "in".
import { cssVar, legend, lineChart } from "../draw.js";
import { el, svgEl, formatP } from "../ui.js";

const METHOD_NAMES = { knn: "nearest-neighbour distance", mahalanobis: "Mahalanobis distance", energy: "energy", msp: "max-softmax" };
const NOUNS = {
  digits: ["digit", "digits"], "sklearn-digits": ["digit", "digits"],
  fashion: ["clothing picture", "clothing pictures"], "fashion-coarse": ["clothing picture", "clothing pictures"],
  xor: ["point", "points"],
};

/** [one, many] for what a task's inputs are called. */
export function nouns(task) {
  return NOUNS[task] || ["input", "inputs"];
}

/** The verdict as a sentence a person reads (what the page test checks against the API). */
export function verdictSentence(v, task) {
  const [one, many] = nouns(task);
  const kept = "95% of real " + many;
  if (v.method === "knn") {
    const ratio = v.score / v.threshold;
    // just past the threshold, one decimal would read "1.0 times farther"
    const times = ratio < 2 ? ratio.toFixed(2) : ratio.toFixed(1);
    return v.verdict === "out"
      ? `This does not look like the ${many} this model learned from: its nearest training ${one} is ${times} times farther than for ${kept}.`
      : `This looks like the ${many} this model learned from: its nearest training ${one} is as close as for ${kept}.`;
  }
  const name = METHOD_NAMES[v.method] || v.method;
  return v.verdict === "out"
    ? `This does not look like the ${many} this model learned from: its ${name} score is beyond what ${kept} reach.`
    : `This looks like the ${many} this model learned from: its ${name} score is within what ${kept} reach.`;
}

/** A small histogram of the validation scores with the threshold (dashed) and this score. */
function scorePicture(v, calibrated) {
  const W = 300, H = 64, top = 6, base = 48;
  const edges = calibrated.edges, counts = calibrated.counts;
  const lo = Math.min(edges[0], v.score), hi = Math.max(edges[edges.length - 1], v.score);
  const sx = (x) => 4 + ((x - lo) / (hi - lo || 1)) * (W - 8);
  const max = Math.max(...counts, 1);
  const svg = svgEl("svg", { id: "ood-picture", viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img",
    "aria-label": `This input's ${v.method} score ${v.score.toPrecision(3)} on the validation split's scores; threshold ${v.threshold.toPrecision(3)}` });
  counts.forEach((c, i) => {
    const h = (c / max) * (base - top);
    svg.append(svgEl("rect", { x: sx(edges[i]), y: base - h, width: Math.max(1, sx(edges[i + 1]) - sx(edges[i]) - 1), height: h, fill: cssVar("--bar") }));
  });
  svg.append(
    svgEl("line", { x1: sx(v.threshold), x2: sx(v.threshold), y1: top - 4, y2: base, stroke: cssVar("--muted"), "stroke-dasharray": "3 2" },
      svgEl("title", {}, `threshold ${v.threshold.toPrecision(3)}: 95% of the validation split scores below`)),
    svgEl("line", { id: "ood-marker", x1: sx(v.score), x2: sx(v.score), y1: top - 4, y2: base + 4, stroke: cssVar("--bar-top"), "stroke-width": 3 },
      svgEl("title", {}, `this input: ${v.score.toPrecision(3)}`)),
    svgEl("text", { x: 4, y: H - 2, "font-size": 10, fill: cssVar("--muted") }, "real (validation) inputs' scores; orange: this input"),
  );
  return svg;
}

/** Predict's verdict box: the sentence, the numbers, the picture. */
export function verdictBox(v, manifest) {
  const calibrated = manifest.ood?.methods?.[v.method];
  return el("div", { id: "ood-verdict", class: `panel ood-${v.verdict}`, dataset: { verdict: v.verdict, method: v.method, score: v.score } },
    el("p", { id: "ood-sentence", class: v.verdict === "out" ? "big" : "" }, verdictSentence(v, manifest.task)),
    el("p", { class: "muted" }, `${METHOD_NAMES[v.method] || v.method} ${v.score.toPrecision(3)} · threshold ${v.threshold.toPrecision(3)} · verdict: ${v.verdict}`),
    calibrated ? scorePicture(v, calibrated) : null);
}

const SERIES = [["knn", "--c0"], ["mahalanobis", "--c1"], ["energy", "--c2"], ["msp", "--c3"]];

function countsChart(h, label) {
  const W = 600, H = 120;
  const edges = h.edges;
  const sx = (x) => ((x - edges[0]) / (edges[edges.length - 1] - edges[0] || 1)) * W;
  const max = Math.max(...h.in, ...h.out, 1);
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": label });
  for (const [counts, colour, dx] of [[h.in, "--c0", 0], [h.out, "--c3", 0.5]]) {
    counts.forEach((c, i) => {
      const w = (sx(edges[i + 1]) - sx(edges[i])) / 2;
      const height = (Math.log10(1 + c) / Math.log10(1 + max)) * (H - 4);
      svg.append(svgEl("rect", { x: sx(edges[i]) + dx * 2 * w, y: H - height, width: Math.max(1, w - 1), height, fill: cssVar(colour) },
        svgEl("title", {}, `${edges[i].toPrecision(3)}–${edges[i + 1].toPrecision(3)}: ${c}`)));
    });
  }
  return svg;
}

/** Metrics' panel for one `ood` evaluation row. */
export function oodPanel(ev) {
  const d = ev.data;
  const methods = SERIES.map(([m]) => m).filter((m) => d.methods[m]);
  const title = d.flag_only
    ? `Out-of-distribution verdict on ${ev.dataset} (in-distribution for a person): share flagged`
    : `Out-of-distribution: ${d.in_dataset} against ${ev.dataset}`;
  const head = d.flag_only ? ["method", "threshold", "flagged"] : ["method", "AUROC", "FPR at 95% TPR", "flagged in", "flagged out"];
  const rows = methods.map((m) => {
    const r = d.methods[m];
    const name = m === d.default_method ? `${m} (default)` : m;
    const cells = d.flag_only ? [name, r.threshold.toPrecision(3), formatP(r.flagged_out)]
      : [name, r.auroc.toFixed(4), formatP(r.fpr_at_95_tpr), formatP(r.flagged_in), formatP(r.flagged_out)];
    return el("tr", { dataset: { method: m } }, cells.map((c) => el("td", {}, c)));
  });
  const section = el("section", { class: "panel ood-evaluation", dataset: { dataset: ev.dataset } }, el("h2", {}, title),
    el("p", { class: "muted" }, `${d.num_out.toLocaleString("en-US")} inputs; ${d.num_in.toLocaleString("en-US")} of ${d.in_dataset} in; k = ${d.k}`),
    // The five-column table is wider than a phone: it scrolls sideways in its own box, which
    // takes focus so that the keyboard can scroll it too.
    el("div", { class: "scroll-x", tabindex: 0, role: "region", "aria-label": `${title}: table` },
      el("table", {}, el("tr", {}, head.map((h) => el("th", {}, h))), rows)));
  if (d.flag_only) return section;
  const roc = d.methods[methods[0]].roc;
  section.append(el("h3", {}, "ROC: share of these inputs flagged against share of in-distribution inputs flagged"),
    lineChart({ xs: roc.flagged_in, series: SERIES.filter(([m]) => d.methods[m]).map(([m, c]) => ({ name: m, values: d.methods[m].roc.flagged_out, colour: cssVar(c) })),
      label: `ROC curves against ${ev.dataset}`, xLabel: "in-distribution flagged" }),
    legend(SERIES.filter(([m]) => d.methods[m]).map(([m, c]) => ({ name: m, colour: cssVar(c) }))));
  const h = d.methods[d.default_method].histogram;
  section.append(el("h3", {}, `Scores of ${d.default_method} (log counts)`), countsChart(h, `${d.default_method} scores in and out`),
    legend([{ name: `${d.in_dataset} (in)`, colour: cssVar("--c0") }, { name: `${ev.dataset} (out)`, colour: cssVar("--c3") }]));
  return section;
}
