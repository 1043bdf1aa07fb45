"""Figures of the stored evaluations: one panel per view, laid out on a grid.

A panel is a function that draws onto one Axes; ``metric_panels`` picks those the
evaluations allow (confusion matrix, per-class accuracy, confidence histogram, training
history, cross-dataset confidence, accuracy per split, hidden-width sweep, neighbour
agreement)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from clients.plots._figure import new_figure, save
from clients.results import Agreement, Evaluation, Metrics

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Panel = Callable[["Axes"], None]
PANEL_PX = (520, 440)
MAX_COLUMNS = 3
ANNOTATE_UP_TO = 12  # classes; beyond that the counts would not be legible
#: training/agreement.py's CONFIDENT ("very sure" in the reports).
CONFIDENT = 0.99
DATASET_COLOURS = ("tab:blue", "tab:purple", "tab:olive", "tab:cyan")


def _array(evaluation: Evaluation, key: str) -> np.ndarray:
    return np.asarray(evaluation.data.get(key, []), dtype=float)


def confusion(axes: Axes, evaluation: Evaluation, names: Sequence[str]) -> None:
    """Colour = share of each true class (rows sum to 1); numbers = raw counts."""
    counts = _array(evaluation, "confusion_matrix")
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    axes.figure.colorbar(image, ax=axes, fraction=0.046, label="share of true class")
    ticks = range(len(counts))
    axes.set_xticks(ticks, names, rotation=60, ha="right", fontsize="small")
    axes.set_yticks(ticks, names, fontsize="small")
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    if len(counts) <= ANNOTATE_UP_TO:
        for (i, j), n in np.ndenumerate(counts):
            colour = "white" if shares[i, j] > 0.5 else "black"
            axes.text(j, i, f"{int(n)}", ha="center", va="center", fontsize=7, color=colour)
    axes.set_title(f"confusion matrix, {evaluation.dataset}")


def per_class(axes: Axes, evaluation: Evaluation, names: Sequence[str]) -> None:
    """Bars labelled in percent; the overall accuracy as a dashed line, named in the title
    (a legend would sit on the bars, which fill the panel)."""
    accuracy = _array(evaluation, "per_class_accuracy")
    bars = axes.bar(range(len(accuracy)), accuracy, color="tab:green")
    axes.bar_label(bars, [f"{100 * a:.1f}" for a in accuracy], fontsize=7, padding=2)
    axes.set_xticks(range(len(accuracy)), names, rotation=60, ha="right", fontsize="small")
    overall = float(evaluation.data.get("accuracy", float("nan")))
    axes.axhline(overall, color="black", ls="--", lw=1)
    low = max(0.0, float(accuracy.min(initial=1.0)) - 0.05)
    axes.set_ylim(low, 1.0 + 0.08 * (1.0 - low))  # room for the labels, no ticks past 1
    axes.set_yticks([t for t in axes.get_yticks() if low <= t <= 1.0])
    axes.set_ylabel("accuracy")
    axes.set_title(f"accuracy per class (%), {evaluation.dataset}\ndashed: overall {overall:.2%}")


def _hist(axes: Axes, edges: np.ndarray, counts: np.ndarray, label: str, colour: str) -> None:
    axes.stairs(counts, edges, fill=True, alpha=0.55, label=label, color=colour)


def confidence(axes: Axes, evaluation: Evaluation) -> None:
    hist = evaluation.data.get("confidence_histogram", {})
    edges = np.asarray(hist.get("bin_edges", []), dtype=float)
    _hist(axes, edges, np.asarray(hist.get("correct", []), float), "correct", "tab:blue")
    _hist(axes, edges, np.asarray(hist.get("incorrect", []), float), "incorrect", "tab:red")
    axes.set_yscale("log")
    axes.set_xlabel("max probability")
    axes.set_ylabel("test examples (log)")
    axes.legend(fontsize="small")
    axes.set_title(f"confidence: correct vs incorrect, {evaluation.dataset}")


def history(axes: Axes, evaluation: Evaluation, metric: str) -> None:
    from matplotlib.ticker import MaxNLocator

    epochs = _array(evaluation, "epoch")
    for key, label in ((metric, "train"), (f"val_{metric}", "validation")):
        values = _array(evaluation, key)
        if values.size:
            x = epochs if epochs.size == values.size else np.arange(1, values.size + 1)
            axes.plot(x, values, marker="o", ms=3, label=label)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("epoch")
    axes.set_ylabel(metric)
    axes.legend(fontsize="small")
    axes.set_title(f"training history: {metric}")


def cross_dataset(axes: Axes, evaluation: Evaluation) -> None:
    """How sure the model is on data of another kind (the reports: very sure)."""
    hist = evaluation.data.get("confidence_histogram", {})
    edges = np.asarray(hist.get("bin_edges", []), dtype=float)
    counts = np.asarray(hist.get("counts", []), float)
    _hist(axes, edges, counts, "all", "tab:purple")
    accuracy = float(evaluation.data.get("accuracy", float("nan")))
    mean = float(evaluation.data.get("mean_max_probability", float("nan")))
    if edges.size > 1 and counts.sum() > 0:
        share = counts[-1] / counts.sum()
        axes.annotate(
            f"{share:.0%} of examples\nat max probability ≥ {edges[-2]:.2f}",
            (edges[-2], counts[-1]), xytext=(-12, -4), textcoords="offset points",
            ha="right", va="top", fontsize="small",
        )  # fmt: skip
    axes.set_xlabel("max probability (confidence)")
    axes.set_ylabel("examples")
    axes.set_title(
        f"on {evaluation.dataset}: 'accuracy' {accuracy:.1%},\nmean max probability {mean:.2f}"
    )


def cross_predictions(axes: Axes, evaluation: Evaluation, names: Sequence[str]) -> None:
    """Which of its own classes the model sees in the other data."""
    counts = _array(evaluation, "predicted_class_counts")
    labels = list(names[: len(counts)]) + [str(i) for i in range(len(names), len(counts))]
    axes.bar(range(len(counts)), counts, color="tab:purple", alpha=0.7)
    axes.set_xticks(range(len(counts)), labels, rotation=60, ha="right", fontsize="small")
    axes.set_xlabel("predicted class")
    axes.set_ylabel("examples")
    axes.set_title(f"what it calls the {evaluation.dataset} images")


def splits(axes: Axes, evaluations: Sequence[Evaluation]) -> None:
    names = [f"{e.kind}\n{e.dataset}" for e in evaluations]
    accuracy = [float(e.data.get("accuracy", float("nan"))) for e in evaluations]
    bars = axes.bar(names, accuracy, color=["tab:blue", "tab:orange", "tab:green"][: len(names)])
    axes.bar_label(bars, [f"{a:.4f}" for a in accuracy], fontsize="small")
    axes.set_ylim(max(0.0, min(accuracy) - 0.1), 1.05)
    axes.set_ylabel("accuracy")
    axes.set_title("accuracy per split (a gap means overfitting)")


def sweep(axes: Axes, evaluation: Evaluation) -> None:
    points: list[dict[str, Any]] = evaluation.raw.get("data", {}).get("points", [])
    values = [float(p["value"]) for p in points]
    accuracy = [float(p["test_accuracy"]) for p in points]
    axes.plot(values, accuracy, marker="o")
    for v, a in zip(values, accuracy, strict=True):
        axes.annotate(f"{a:.3f}", (v, a), textcoords="offset points", xytext=(0, 6), ha="center")
    parameter = str(evaluation.data.get("parameter", "value")).replace("_", " ")
    axes.set_xscale("log")
    axes.set_xticks(values, [f"{v:g}" for v in values])  # the swept values, not powers of 10
    axes.set_ylim(top=1.0 + 0.08 * (1.0 - min(accuracy, default=0.0)))  # room for the labels
    axes.set_xlabel(parameter)
    axes.set_ylabel("test accuracy")
    axes.set_title(f"test accuracy by {parameter}, {evaluation.dataset}")


def _agreement_axis(axes: Axes, agreement: Agreement) -> None:
    """Buckets 0..k along x; a dotted line where the neighbours' majority begins."""
    axes.set_xticks(agreement.agreeing, [str(n) for n in agreement.agreeing])
    axes.axvline(agreement.majority - 0.5, color="grey", ls=":", lw=1)
    axes.set_xlabel(f"neighbours (of {agreement.k}) with the predicted class; dotted: majority")


def agreement_accuracy(axes: Axes, agreement: Agreement) -> None:
    """Accuracy per bucket on the model's own test split, each bar labelled with its number
    of images (small buckets are noisy); predictions without a majority in orange."""
    accuracy = np.nan_to_num(np.asarray(agreement.bucket_accuracy, dtype=float))  # empty: 0
    colours = ["tab:green" if n >= agreement.majority else "tab:orange" for n in agreement.agreeing]
    bars = axes.bar(agreement.agreeing, accuracy, color=colours)
    axes.bar_label(bars, [str(n) for n in agreement.counts], fontsize=7, padding=2)
    overall = float(agreement.accuracy if agreement.accuracy is not None else float("nan"))
    axes.axhline(overall, color="black", ls="--", lw=1)
    _agreement_axis(axes, agreement)
    axes.set_ylim(0.0, 1.08)  # room for the labels, no ticks past 1
    axes.set_yticks(np.linspace(0.0, 1.0, 6))
    axes.set_ylabel("accuracy")
    axes.set_title(
        f"accuracy by neighbour agreement, {agreement.dataset}\n"
        f"numbers: images; dashed: overall {overall:.2%}"
    )


def agreement_shares(axes: Axes, agreements: Sequence[Agreement]) -> None:
    """Each dataset's images per bucket side by side, with their mean confidence: on the
    cross dataset the predictions pile up at low agreement while the softmax stays sure."""
    width = 0.8 / len(agreements)
    for i, agreement in enumerate(agreements):
        colour = DATASET_COLOURS[i % len(DATASET_COLOURS)]
        x = agreement.agreeing + (i - (len(agreements) - 1) / 2) * width
        sure = agreement.majority_agrees_when_confident
        label = (
            f"{agreement.dataset} ({agreement.num_examples} images):\n"
            f"softmax ≥ {CONFIDENT} on {agreement.confident_share:.0%}, "
            f"majority agrees with {'-' if sure is None else f'{sure:.0%}'} of those"
        )
        axes.bar(x, agreement.shares, width, color=colour, alpha=0.75, label=label)
        axes.plot(x, agreement.mean_confidence, marker="o", ms=5, lw=1, color=colour, mec="white")
    _agreement_axis(axes, agreements[0])
    axes.set_ylim(0.0, 1.4)  # the legend goes above the bars and dots, which stay under 1
    axes.set_yticks(np.linspace(0.0, 1.0, 6))
    axes.set_ylabel("share of images (bars), mean confidence (dots)")
    axes.legend(loc="upper center", fontsize="x-small")
    axes.set_title("images by neighbour agreement, per dataset")


def metric_panels(metrics: Metrics, names: Sequence[str]) -> list[Panel]:
    panels: list[Panel] = []
    for evaluation in metrics.of_kind("test"):
        panels += [
            partial(confusion, evaluation=evaluation, names=names),
            partial(per_class, evaluation=evaluation, names=names),
            partial(confidence, evaluation=evaluation),
        ]
    for evaluation in metrics.of_kind("history"):
        panels += [partial(history, evaluation=evaluation, metric=m) for m in ("loss", "accuracy")]
    by_split = [e for k in ("train", "validation", "test") for e in metrics.of_kind(k)]
    if len(by_split) > 1:
        panels.append(partial(splits, evaluations=by_split))
    for evaluation in metrics.of_kind("cross-dataset"):
        panels.append(partial(cross_dataset, evaluation=evaluation))
        if "predicted_class_counts" in evaluation.data:
            panels.append(partial(cross_predictions, evaluation=evaluation, names=names))
    panels += [partial(sweep, evaluation=e) for e in metrics.of_kind("sweep")]
    agreements = metrics.agreements()
    panels += [partial(agreement_accuracy, agreement=a) for a in agreements if a.labelled]
    if agreements:
        panels.append(partial(agreement_shares, agreements=agreements))
    return panels


def grid_size(count: int) -> tuple[int, int]:
    """(width, height) in pixels of a figure with ``count`` panels."""
    columns = min(MAX_COLUMNS, max(count, 1))
    rows = math.ceil(max(count, 1) / columns)
    return columns * PANEL_PX[0], rows * PANEL_PX[1]


def plot_metrics(metrics: Metrics, names: Sequence[str], path: Path) -> Path:
    panels = metric_panels(metrics, names)
    if not panels:
        raise ValueError("these evaluations have nothing to plot")
    columns = min(MAX_COLUMNS, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure = new_figure(*grid_size(len(panels)))
    figure.set_layout_engine("constrained")  # keeps the title close to the panels
    axes_grid = figure.subplots(rows, columns, squeeze=False)
    for axes, panel in zip(axes_grid.ravel(), panels, strict=False):
        panel(axes)
    for axes in axes_grid.ravel()[len(panels) :]:
        axes.set_visible(False)
    kinds = ", ".join(dict.fromkeys(e.kind for e in metrics.evaluations))
    figure.suptitle(f"{metrics.model} v{metrics.version}: {kinds}", fontweight="bold")
    return save(figure, path)
