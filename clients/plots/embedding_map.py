"""The embedding space in 2-D: one dot per dataset example, coloured by its true class,
each class's name written at its centroid (the reports' projector view, as a PNG); inputs
placed with ``:project`` are ringed stars, as the page draws the current input."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clients.plots._figure import new_figure, save
from clients.projection import class_centroids
from clients.results import EmbeddingMap, Projected

SIZE = (1000, 800)
#: Enough distinct colours for the 10-class datasets; more classes cycle.
PALETTE = "tab10"
#: Least distance between two class names, as a share of the map's width.
LABEL_GAP = 0.04


def _label_spots(centroids: dict[int, np.ndarray], gap: float) -> dict[int, np.ndarray]:
    """Where to write each class name: at its centroid, moved down in steps while it would
    sit on a name already placed (two classes' centroids can nearly coincide in 2-D)."""
    placed: dict[int, np.ndarray] = {}
    for c, centre in centroids.items():
        spot = np.array(centre, dtype=float)
        while any(np.linalg.norm(spot - other) < gap for other in placed.values()):
            spot[1] -= gap
        placed[c] = spot
    return placed


def plot_embedding_map(
    result: EmbeddingMap,
    path: Path,
    *,
    placed: Projected | None = None,
    names: list[str] | tuple[str, ...] = (),
) -> Path:
    from matplotlib import colormaps

    colours = colormaps[PALETTE].colors
    coords, labels = result.coords, result.labels
    figure = new_figure(*SIZE)
    axes = figure.add_subplot()
    order = np.random.default_rng(0).permutation(len(coords))  # no class drawn wholly on top
    point_colours = [colours[int(c) % len(colours)] for c in labels[order]]
    axes.scatter(coords[order, 0], coords[order, 1], c=point_colours, s=9, alpha=0.6, lw=0)
    centroids = class_centroids(coords, labels)
    spots = _label_spots(centroids, np.ptp(coords, axis=0).max() * LABEL_GAP)
    for c, spot in spots.items():
        name = result.class_names[c] if c < len(result.class_names) else str(c)
        colour = colours[c % len(colours)]
        axes.scatter([], [], color=colour, s=40, label=f"{name} ({int(np.sum(labels == c))})")
        axes.annotate(
            name, spot, ha="center", va="center", fontsize="large", fontweight="bold",
            color="black", bbox={"boxstyle": "round,pad=0.2", "fc": colour, "alpha": 0.85},
        )  # fmt: skip
    if placed is not None:
        for name, (x, y) in zip(names, placed.coords, strict=True):
            axes.scatter([x], [y], marker="*", s=260, c="white", edgecolors="black", lw=1.5)
            label = Path(name).name  # a file's name, or a dataset example as given
            axes.annotate(label, (x, y), xytext=(8, 8), textcoords="offset points")
    method = {"tsne": "t-SNE"}.get(result.method, result.method.upper())
    if result.explained.size == 2:
        share_x, share_y = result.explained
        axes.set_xlabel(f"{method} 1 ({share_x:.0%} of variance)")
        axes.set_ylabel(f"{method} 2 ({share_y:.0%} of variance)")
    else:  # t-SNE and UMAP axes carry no meaning of their own
        axes.set_xlabel(f"{method} 1")
        axes.set_ylabel(f"{method} 2")
    fitted = "the service" if result.method == "pca" else "the trainer"
    axes.grid(alpha=0.3)
    axes.legend(title="true class (examples)", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes.set_title(
        f"{result.model} v{result.version}: layer '{result.layer}' of {len(result)} "
        f"{result.dataset} examples, {method} fitted by {fitted}"
    )
    figure.tight_layout()
    return save(figure, path)
