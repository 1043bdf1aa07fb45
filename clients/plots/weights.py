"""The first layer's weights as pictures: column j of the kernel, reshaped to the input
image, shows what hidden unit j responds to (red positive, blue negative)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from clients.plots._figure import new_figure, save
from clients.results import Weights

TILE_PX = 64
MAX_COLUMNS = 16


def tile_grid(units: int) -> tuple[int, int]:
    columns = min(MAX_COLUMNS, units)
    return columns, math.ceil(units / columns)


def figure_size(units: int) -> tuple[int, int]:
    columns, rows = tile_grid(units)
    return columns * TILE_PX, rows * TILE_PX + 40


def plot_weights(
    weights: Weights, image_shape: tuple[int, int], path: Path, *, units: int, source: str = ""
) -> Path:
    """``source`` names the model in the title, e.g. ``"digits v1"``."""
    kernel = weights.weights.reshape(-1, weights.weights.shape[-1])
    tiles = kernel[:, :units].T.reshape(-1, *image_shape)
    columns, rows = tile_grid(len(tiles))
    figure = new_figure(*figure_size(len(tiles)))
    for i, tile in enumerate(tiles):
        axes = figure.add_subplot(rows, columns, i + 1)
        limit = float(np.abs(tile).max()) or 1.0  # per tile: each unit's own pattern shows
        axes.imshow(tile, cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes.set_axis_off()
    total = kernel.shape[-1]
    shown = f"{len(tiles)} of {total} units" if len(tiles) < total else f"all {total} units"
    prefix = f"{source}, " if source else ""
    figure.suptitle(
        f"{prefix}layer '{weights.layer}': weights of {shown} (red +, blue −)",
        fontsize="medium",
    )
    figure.subplots_adjust(left=0, right=1, bottom=0, top=1 - 40 / figure.bbox.height,
                           wspace=0.05, hspace=0.05)  # fmt: skip
    return save(figure, path)
