"""The training data behind each answer: per input, the input itself, then its ``k`` nearest
examples nearest first, each titled with its label (green: the predicted class, red: another)
and its distance. Vector models' neighbours are points, drawn as a scatter around the input."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from clients.plots._figure import draw_picture, new_figure, save
from clients.results import Neighborhood, NeighborsResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CELL_WIDTH_PX = 120
CELL_HEIGHT_PX = 150  # a thumbnail and its title
#: Neighbours per line of thumbnails; more wrap onto further lines (k is at most 100).
PER_LINE = 10
MIN_WIDTH_PX = 640  # room for the figure's title when k is small
TITLE_PX = 50
AXES_TITLE_PX = 48  # three lines of small text above a thumbnail
BOTTOM_PX = 8
TICKS_PX = 30  # a scatter's tick labels, below it
VECTOR_WIDTH_PX = 800
VECTOR_ROW_PX = 400
AGREE, DISAGREE = "tab:green", "tab:red"


def lines_for(k: int) -> int:
    return max(1, math.ceil(k / PER_LINE))


def figure_size(count: int, k: int, *, vectors: bool = False) -> tuple[int, int]:
    """The PNG's pixel size for ``count`` inputs of ``k`` neighbours (a scatter per input
    with ``vectors``)."""
    if vectors:
        return VECTOR_WIDTH_PX, VECTOR_ROW_PX * count + TITLE_PX
    width = max(MIN_WIDTH_PX, CELL_WIDTH_PX * (1 + min(k, PER_LINE)))
    return width, CELL_HEIGHT_PX * lines_for(k) * count + TITLE_PX


def _summary(name: str, item: Neighborhood) -> str:
    verdict = "agrees" if item.agrees else "disagrees"
    return (
        f"{name}: predicted {item.predicted_label}; vote {item.vote.label} "
        f"({item.vote.share:.0%}), {verdict}"
    )


def _point(values: np.ndarray) -> np.ndarray:
    """A vector's first two values (a single value sits on y = 0)."""
    flat = np.ravel(np.asarray(values, dtype=np.float64))
    return np.array([flat[0], flat[1] if flat.size > 1 else 0.0])


def _draw_vectors(
    axes: Axes, item: Neighborhood, points: Sequence[np.ndarray], query: np.ndarray | None
) -> None:
    """The neighbours' first two values as points coloured by class, ranks beside them."""
    xy = np.stack([_point(p) for p in points])
    classes = np.asarray([n.class_id for n in item.neighbors])
    for class_id in np.unique(classes):
        mine = classes == class_id
        label = item.neighbors[int(np.flatnonzero(mine)[0])].label
        axes.scatter(xy[mine, 0], xy[mine, 1], s=40, color=f"C{int(class_id) % 10}", label=label)
    for rank, (x, y) in enumerate(xy, start=1):
        axes.annotate(str(rank), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    if query is not None:
        x, y = _point(query)
        axes.scatter([x], [y], marker="*", s=200, color="black", label="input")
    axes.set_aspect("equal", adjustable="datalim")
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize="small")


def _place(figure: Figure, *, rows: int, vectors: bool) -> None:
    """Margins and gaps in pixels, so every axes' title (up to three lines) has room above
    it whatever the number of rows: gridspec counts gaps in units of a row's height."""
    height = figure.get_figheight() * figure.dpi
    room = AXES_TITLE_PX + (TICKS_PX if vectors else 0)
    bottom = BOTTOM_PX if not vectors else 3 * BOTTOM_PX
    top = TITLE_PX + AXES_TITLE_PX
    row = (height - top - bottom - (rows - 1) * room) / rows
    figure.subplots_adjust(
        left=0.08 if vectors else 0.01, right=0.97 if vectors else 0.99,
        top=1 - top / height, bottom=bottom / height, hspace=room / row,
    )  # fmt: skip


def plot_neighbors(
    result: NeighborsResult,
    path: Path,
    *,
    examples: Sequence[Sequence[np.ndarray]],
    queries: Sequence[np.ndarray | None] | None = None,
    names: Sequence[str] | None = None,
) -> Path:
    """``examples[i][j]`` is input i's neighbour j as the split holds it (the caller fetches
    them: ``dataset_example(result.dataset, index)``); ``queries[i]`` is input i as a picture
    (None: left blank), ``names[i]`` its name. Pictures are drawn as thumbnails, vectors as
    points (``figure_size(..., vectors=True)``)."""
    count = len(result)
    pictures = list(queries) if queries is not None else [None] * count
    labels = list(names) if names is not None else [f"input {i}" for i in range(count)]
    vectors = all(np.ndim(e) < 2 for row in examples for e in row)
    figure = new_figure(*figure_size(count, result.k, vectors=vectors))
    rows = zip(result, examples, pictures, labels, strict=True)
    if vectors:
        grid = figure.add_gridspec(count, 1)
        for i, (item, found, picture, label) in enumerate(rows):
            axes = figure.add_subplot(grid[i, 0])
            _draw_vectors(axes, item, found, picture)
            axes.set_title(_summary(label, item), fontsize="medium")
    else:
        lines = lines_for(result.k)
        grid = figure.add_gridspec(count * lines, 1 + PER_LINE, wspace=0.08)
        for i, (item, found, picture, label) in enumerate(rows):
            top = i * lines
            axes = figure.add_subplot(grid[top, 0])
            if picture is not None:
                draw_picture(axes, picture)
            colour = AGREE if item.agrees else DISAGREE
            vote = f"pred {item.predicted_label}\nvote {item.vote.label} {item.vote.share:.0%}"
            axes.set_title(f"{label}\n{vote}", fontsize="small", color=colour)
            axes.set_axis_off()
            for rank, (neighbor, instance) in enumerate(zip(item, found, strict=True)):
                cell = grid[top + rank // PER_LINE, 1 + rank % PER_LINE]
                axes = figure.add_subplot(cell)
                draw_picture(axes, np.asarray(instance))
                same = neighbor.class_id == item.predicted
                axes.set_title(
                    f"{neighbor.label}\n{neighbor.distance:.3g}",
                    fontsize="small", color=AGREE if same else DISAGREE,
                )  # fmt: skip
                axes.set_axis_off()
    _place(figure, rows=count if vectors else count * lines_for(result.k), vectors=vectors)
    figure.suptitle(
        f"{result.model} v{result.version}: {result.k} nearest in {result.dataset} "
        f"({result.space}, {result.metric})"
    )
    return save(figure, path)
