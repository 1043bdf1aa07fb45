"""Why the model answered as it did, one row per input: the input as a picture, the signed
attributions (a heat map centred on 0: red pushed towards the target, blue away from it; a
bar per unit for vectors and layers), and for integrated gradients ``f`` along the path
from the baseline (alpha 0) to the input (alpha 1).

A layer's attributions are always a bar strip, one bar per unit; for a layer with positions
(a convolution's (H, W, C) feature maps) one bar per channel, its attributions summed over
the positions: channels are the units a layer is probed by, and the bars still add up to
``f(x) - f(baseline)``, which per-channel maps of a few pixels each would not show."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from clients.plots._figure import draw_picture, new_figure, save
from clients.results import ExplainResult, Explanation

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_PX = 1200
ROW_PX = 360
TITLE_PX = 50
#: Diverging, so 0 is white and the sign reads as the colour (as in the weights figure).
CMAP = "RdBu_r"


def figure_size(count: int) -> tuple[int, int]:
    """The PNG's pixel size for ``count`` inputs."""
    return WIDTH_PX, ROW_PX * count + TITLE_PX


def _as_picture(values: np.ndarray) -> np.ndarray:
    """(H, W) to draw as a map: the channels of a colour input summed."""
    return values.sum(axis=-1) if values.ndim == 3 else values


def per_unit(values: np.ndarray) -> np.ndarray:
    """A layer's attributions per unit: per channel (the last axis), summed over positions."""
    return values.reshape(-1, values.shape[-1]).sum(axis=0) if values.ndim > 1 else values


def _units_label(values: np.ndarray, layer: str | None) -> str:
    if not layer:
        return "input value"
    if values.ndim > 1:
        return (
            f"channel of layer '{layer}' (summed over {values.size // values.shape[-1]} positions)"
        )
    return f"unit of layer '{layer}'"


def _f_name(output: str, target_class: str) -> str:
    return f"logit({target_class})" if output == "logit" else f"P({target_class})"


def _what(method: str, f: str) -> str:
    """What the map shows, by method (docs/explain.md, Answer)."""
    if method in ("saliency", "smoothgrad"):
        return f"|d{f}/dx|"
    if method == "occlusion":
        return f"drop of {f} when covered"
    return f"attributions to {f} (red +, blue −)"


def _draw_attributions(
    figure: Figure, axes: Axes, item: Explanation, image: np.ndarray | None, layer: str | None
) -> None:
    values = per_unit(item.attributions) if layer else item.attributions
    limit = float(np.abs(values).max()) or 1.0  # symmetric: 0 sits in the colormap's middle
    if values.ndim >= 2:
        picture = _as_picture(values)
        shown = axes.imshow(picture, cmap=CMAP, vmin=-limit, vmax=limit)
        if image is not None and image.shape[:2] == picture.shape:  # the input's outline
            grey = _as_picture(image.astype(np.float32))
            middle = (float(grey.min()) + float(grey.max())) / 2
            if grey.max() > grey.min():
                axes.contour(grey, levels=[middle], colors="black", linewidths=0.6, alpha=0.5)
        axes.set_axis_off()
        # an inset follows the image's box (a colorbar taking room from the axes would
        # push the picture aside)
        figure.colorbar(shown, cax=axes.inset_axes((1.04, 0.0, 0.05, 1.0)))
    else:
        flat = values.ravel()
        colours = np.where(flat >= 0, "tab:red", "tab:blue")
        axes.bar(np.arange(flat.size), flat, color=colours, width=1.0)
        axes.axhline(0, color="black", lw=0.8)
        axes.set_ylim(-limit * 1.1, limit * 1.1)
        axes.set_xlabel(_units_label(item.attributions, layer))
        axes.grid(alpha=0.3, axis="y")


def _draw_path(axes: Axes, item: Explanation, output: str) -> None:
    assert item.path is not None
    axes.plot(item.path.alphas, item.path.values, color="black", lw=2, marker=".", ms=4)
    if item.baseline_value is not None:
        axes.axhline(item.baseline_value, color="tab:blue", ls=":", lw=1, label="f(baseline)")
    axes.axhline(item.value, color="tab:red", ls=":", lw=1, label="f(input)")
    axes.set_xlabel("alpha (0: baseline, 1: input)")
    axes.set_ylabel(f"f = {_f_name(output, item.target_class)}")
    axes.set_xlim(0, 1)
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    if item.completeness_gap is not None:
        axes.set_title(f"f along the path; completeness gap {item.completeness_gap:.4f}")


def plot_explanation(
    result: ExplainResult,
    path: Path,
    *,
    images: Sequence[np.ndarray | None] | None = None,
    names: Sequence[str] | None = None,
) -> Path:
    """``images[i]`` is input i as a picture (None: not drawn), ``names[i]`` its name. The
    picture is the input as the caller has it; an uploaded image of another size is
    fitted by the service, so the map may be of the fitted copy."""
    count = len(result)
    pictures = list(images) if images is not None else [None] * count
    labels = list(names) if names is not None else [f"input {i}" for i in range(count)]
    with_picture = any(p is not None for p in pictures)
    with_path = any(e.path is not None for e in result)
    columns = 1 + with_picture + with_path
    figure = new_figure(*figure_size(count))
    grid = figure.add_gridspec(count, columns, width_ratios=[1, 1.25, 1.6][:columns])
    for row, (item, picture, label) in enumerate(zip(result, pictures, labels, strict=True)):
        column = 0
        if with_picture:
            axes = figure.add_subplot(grid[row, column])
            if picture is not None:
                draw_picture(axes, picture)
            axes.set_title(label, fontsize="medium")
            axes.set_axis_off()
            column += 1
        axes = figure.add_subplot(grid[row, column])
        _draw_attributions(figure, axes, item, picture, result.layer)
        prefix = "" if with_picture else f"{label}: "
        what = _what(result.method, _f_name(result.output, item.target_class))
        axes.set_title(f"{prefix}{what}", fontsize="medium")
        column += 1
        if with_path:
            axes = figure.add_subplot(grid[row, column])
            if item.path is not None:
                _draw_path(axes, item, result.output)
            else:
                axes.set_axis_off()
    baseline = f", baseline {result.baseline}" if result.baseline else ""
    layer = f", layer '{result.layer}'" if result.layer else ""
    figure.suptitle(f"{result.model} v{result.version}: {result.method}{layer}{baseline}")
    figure.tight_layout()
    return save(figure, path)
