"""`layerlens boundary MODEL --plot out.png`: a 2-input model's decision regions."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer

from clients.cli import options
from clients.cli._common import connected, console, wrote
from clients.errors import InputError


def boundary(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="A model with two inputs, e.g. xor.")] = "xor",
    low: Annotated[float, typer.Option(help="Grid start, both axes.")] = -1.0,
    high: Annotated[float, typer.Option(help="Grid end, both axes.")] = 2.0,
    steps: Annotated[int, typer.Option(min=2, max=400, help="Grid points per axis.")] = 61,
    version: options.Version = None,
    plot: options.Plot = None,
) -> None:
    """Classify a grid from LOW to HIGH on both axes (default -1 to 2) and draw the
    decision boundary (XOR)."""
    axis = np.linspace(low, high, steps, dtype=np.float32)
    grid = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
    with connected(ctx) as client:
        meta = client.metadata(model, version=version)
        if meta.input_shape != (2,):
            raise InputError(f"{model} takes inputs of shape {meta.input_shape}, not 2 numbers")
        result = client.predict(model, grid, version=version)
    probabilities = result.probabilities.reshape(steps, steps, -1)
    share = np.bincount(result.class_ids, minlength=len(meta.class_names)) / len(result)
    shares = ", ".join(f"{n}: {s:.1%}" for n, s in zip(meta.class_names, share, strict=True))
    console().print(f"{model} v{result.version} on a {steps}x{steps} grid over "
                    f"[{low:g}, {high:g}]²: {shares}", highlight=False)  # fmt: skip
    if plot is not None:
        from clients.plots.boundary import plot_boundary

        title = f"{model} v{result.version}: decision regions"
        wrote(plot_boundary(axis, axis, probabilities, meta.class_names, plot, title=title))
