"""`layerlens weights MODEL --plot out.png`: the first layer's weights as image tiles."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer

from clients.cli import options
from clients.cli._common import connected, console, print_json, wrote
from clients.errors import InputError


def weights(
    ctx: typer.Context,
    model: options.ModelArg,
    layer: Annotated[str | None, typer.Option(help="Dense layer (default: the first).")] = None,
    units: Annotated[int, typer.Option(min=1, help="Most units to draw.")] = 128,
    version: options.Version = None,
    plot: options.Plot = None,
    as_json: options.Json = False,
) -> None:
    """What each hidden unit looks for: its incoming weights drawn as an input image."""
    with connected(ctx) as client:
        result = client.weights(model, version=version, layer=layer)
        meta = client.metadata(model, version=version)
        if plot is not None:
            image = meta.input_shape[:2]
            rows = result.weights.reshape(-1, result.weights.shape[-1]).shape[0]
            if len(image) != 2 or rows != image[0] * image[1]:
                raise InputError(
                    f"layer {result.layer} takes {rows} inputs, not an image of {meta.input_shape}"
                    "; only a layer fed by the input pixels can be drawn"
                )
            from clients.plots.weights import plot_weights

            count = min(units, result.weights.shape[-1])
            source = f"{model} v{meta.version}"
            wrote(plot_weights(result, (image[0], image[1]), plot, units=count, source=source))
    if as_json:
        print_json({"layer": result.layer, "shape": list(result.shape), "weights": result.weights})
        return
    w = result.weights
    console().print(
        f"layer {result.layer}: kernel {tuple(result.shape)}, mean {float(np.mean(w)):.4f}, "
        f"std {float(np.std(w)):.4f}, min {float(w.min()):.4f}, max {float(w.max()):.4f}",
        highlight=False,
    )
