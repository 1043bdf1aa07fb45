"""Fixed-size figures on the Agg canvas, written as PNG."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100


def new_figure(width_px: int, height_px: int) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def save(figure: Figure, path: Path) -> Path:
    """Write exactly ``width_px x height_px`` (no tight bounding box: the size is a promise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=DPI)
    return path


def draw_picture(axes: Axes, picture: np.ndarray) -> None:
    """An input as the caller has it: grey (H, W), colour (H, W, C) scaled to [0, 1] for
    imshow, or anything else written out as numbers."""
    if picture.ndim == 3:
        span = float(picture.max() - picture.min()) or 1.0
        axes.imshow((picture - picture.min()) / span)
    elif picture.ndim == 2:
        axes.imshow(picture, cmap="gray")
    else:
        axes.text(0.5, 0.5, np.array2string(picture, precision=3), ha="center", va="center")
