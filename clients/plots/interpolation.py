"""The reports' interpolation figure: the predicted class and its probability against
alpha, every predicted class's probability as a curve, and the flip points marked."""

from __future__ import annotations

from pathlib import Path

from clients.plots._figure import new_figure, save
from clients.results import Interpolation

SIZE = (1000, 750)


def plot_interpolation(result: Interpolation, path: Path, *, a: str = "a", b: str = "b") -> Path:
    figure = new_figure(*SIZE)
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1.3]})
    alphas, class_ids = result.alphas, result.class_ids
    labels = {p.class_id: p.label for p in result.points}
    shown = sorted(labels)  # every class that wins somewhere along the sweep
    rows = {c: i for i, c in enumerate(shown)}

    # black and grey here: the colours below belong to the classes
    top.step(alphas, [rows[c] for c in class_ids], where="mid", color="black", lw=2)
    top.set_yticks(range(len(shown)), [labels[c] for c in shown])
    top.set_ylabel("predicted class (black)")
    twin = top.twinx()
    twin.plot(alphas, result.probability, color="tab:gray", lw=1.5)
    twin.set_ylim(0, 1.05)
    twin.set_ylabel("its probability (grey)", color="dimgray")

    probabilities = result.probabilities
    for c in shown:
        bottom.plot(alphas, probabilities[:, c], lw=2, label=f"P({labels[c]})")
    bottom.set_ylim(-0.02, 1.05)
    bottom.set_xlabel("alpha   (x = alpha·a + (1 − alpha)·b)")
    bottom.set_ylabel("probability")
    bottom.legend(loc="center right", fontsize="small")

    for flip in result.flips:  # labelled above the top panel, clear of every curve
        for axes in (top, bottom):
            axes.axvline(flip.alpha, color="black", ls=":", lw=1)
        top.annotate(
            f"{flip.from_label}→{flip.to_label} at α≈{flip.alpha:.2f}",
            (flip.alpha, 1.0), xycoords=("data", "axes fraction"),
            xytext=(0, 3), textcoords="offset points", ha="center", va="bottom", fontsize="small",
        )  # fmt: skip
    top.set_ylim(-0.5, max(len(shown) - 0.5, 0.5))
    beyond = bool(alphas.min() < 0 or alphas.max() > 1)
    for axes in (top, bottom):
        axes.grid(alpha=0.3)
        if beyond:  # shade [0, 1], where the mix lies between the two inputs
            axes.axvspan(0, 1, color="grey", alpha=0.08)
    figure.suptitle(
        f"{result.model} v{result.version}: {result.space}-space interpolation, a = {a}, b = {b}"
    )
    figure.tight_layout()
    return save(figure, path)
