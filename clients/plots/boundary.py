"""A 2-D classifier's decision regions over a grid (the reports' XOR figure)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from clients.plots._figure import new_figure, save

SIZE = (800, 700)


def plot_boundary(
    xs: np.ndarray,
    ys: np.ndarray,
    probabilities: np.ndarray,
    class_names: Sequence[str],
    path: Path,
    *,
    title: str,
) -> Path:
    """``probabilities`` is (len(ys), len(xs), C): colour = the winning class, shade = its
    probability; the line is where the classes tie."""
    from matplotlib.colors import LinearSegmentedColormap

    winner = probabilities.argmax(axis=-1)
    confidence = probabilities.max(axis=-1)
    figure = new_figure(*SIZE)
    axes = figure.add_subplot()
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]
    for c, name in enumerate(class_names):
        mask = np.where(winner == c, confidence, np.nan)
        if np.all(np.isnan(mask)):
            continue
        cmap = LinearSegmentedColormap.from_list(name, ["white", colours[c % len(colours)]])
        axes.pcolormesh(xs, ys, mask, cmap=cmap, vmin=0.3, vmax=1.0, shading="auto")
        axes.plot([], [], "s", color=colours[c % len(colours)], label=f"class {name}")
    if len(class_names) == 2:
        axes.contour(xs, ys, probabilities[..., 1], levels=[0.5], colors="black", linewidths=2)
    for corner in ((0, 0), (0, 1), (1, 0), (1, 1)):
        axes.plot(*corner, "k+", ms=12, mew=2)
    axes.set_xlabel("x1")
    axes.set_ylabel("x2")
    axes.set_aspect("equal")
    axes.legend(loc="upper right")
    axes.set_title(title)
    figure.tight_layout()
    return save(figure, path)
