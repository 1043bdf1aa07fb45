"""`layerlens explain INPUTS`: which parts of each input moved the model towards a class."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Column, Table

from clients import Client, DatasetRef, ExplainResult, Explanation
from clients.cli import options
from clients.cli._common import connected, console, print_json, read_picture, wrote
from clients.cli.predict import InputsArg

#: How many attributions the table lists per input, largest magnitude first.
DEFAULT_TOP = 3


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def top_text(item: Explanation, k: int) -> str:
    """The ``k`` largest attributions by magnitude, one a line: ``(14,9) +0.0312``. Three
    significant digits, not decimals: gradient magnitudes may be far below 0.0001."""
    return "\n".join(
        f"({','.join(str(i) for i in index)}) {value:+.3g}" for index, value in item.top(k)
    )


def picture_of(client: Client, name: str, item: Explanation) -> np.ndarray | None:
    """The input as a picture for the plot: a dataset example's values, or an image file's
    pixels as given (grey for a 2-D map or a grey file). None when there is no picture."""
    ref = DatasetRef.parse(name) if not Path(name).exists() else None
    if ref is not None:
        instance = client.dataset_example(ref.dataset, ref.index).instance
        return instance if instance.ndim >= 2 else None
    return read_picture(name, grey=item.attributions.ndim == 2)


def explain(
    ctx: typer.Context,
    inputs: InputsArg,
    model: options.Model = options.DEFAULT_MODEL,
    version: options.Version = None,
    method: options.Method = "integrated-gradients",
    target: Annotated[
        str | None, typer.Option(help="Class index or name (default: the predicted class).")
    ] = None,
    output: options.Output = "probability",
    layer: Annotated[
        str | None,
        typer.Option(
            help="integrated-gradients: attribute to this layer's units (any probe-able "
            "layer, e.g. embedding; the plot sums a conv layer per channel)."
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            help="black, blur, mean or noise; or a dataset example or image file (default: black)."
        ),
    ] = None,
    steps: Annotated[
        int | None, typer.Option(min=1, help="integrated-gradients: steps (default 50).")
    ] = None,
    rule: options.Rule = None,
    samples: Annotated[
        int | None, typer.Option(min=1, help="smoothgrad: noisy copies (default 25).")
    ] = None,
    noise: Annotated[
        float | None,
        typer.Option(min=0.0, help="smoothgrad: noise as a share of the input range (0.15)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(min=0, help="smoothgrad and the noise baseline: seed (0).")
    ] = None,
    patch: Annotated[
        int | None, typer.Option(min=1, help="occlusion: side of the covered square (4).")
    ] = None,
    stride: Annotated[int | None, typer.Option(min=1, help="occlusion: its step (2).")] = None,
    top: Annotated[
        int, typer.Option(min=1, help="Largest attributions listed per input.")
    ] = DEFAULT_TOP,
    plot: options.Plot = None,
    as_json: options.Json = False,
) -> None:
    """Attribute each input's score for a class to its pixels (or a layer's units); with
    integrated gradients, the completeness gap says how far to trust the map."""
    with connected(ctx) as client:
        result = client.explain(
            model, inputs, version=version, method=method, target=target, output=output,
            layer=layer, baseline=baseline, steps=steps, rule=rule, samples=samples,
            noise=noise, seed=seed, patch=patch, stride=stride,
        )  # fmt: skip
        if plot is not None:
            from clients.plots.explanation import plot_explanation

            images = [picture_of(client, n, e) for n, e in zip(inputs, result, strict=True)]
            wrote(plot_explanation(result, plot, images=images, names=inputs))
        if as_json:
            rows = [{"input": name, **raw} for name, raw in zip(inputs, result.raw, strict=True)]
            print_json({**result.to_json(), "explanations": rows})
            return
        class_names = client.metadata(model, version=result.version).class_names
    _print_table(result, inputs, class_names, top)


def _print_table(
    result: ExplainResult, inputs: list[str], class_names: list[str], top: int
) -> None:
    f = "logit" if result.output == "logit" else "probability"
    exact = any(e.completeness_gap is not None for e in result)
    gap = "gap: |sum of attributions - (f - f(base))|; " if exact else ""
    settings = [result.method]
    if result.layer:
        settings.append(f"layer {result.layer}")
    if result.baseline:
        settings.append(f"baseline {result.baseline}")
    table = Table(
        Column("input", no_wrap=True), "target", "pred.", "f", "f(base)", "gap",
        Column(f"top {top}", no_wrap=True),
        title=f"{result.model} v{result.version}: {', '.join(settings)}; f = the target's {f}",
        caption=f"{gap}top: largest |attribution|",
    )  # fmt: skip
    for name, item in zip(inputs, result, strict=True):
        known = 0 <= item.predicted < len(class_names)
        predicted = class_names[item.predicted] if known else str(item.predicted)
        table.add_row(
            name, item.target_class, predicted, _number(item.value),
            _number(item.baseline_value), _number(item.completeness_gap), top_text(item, top),
        )  # fmt: skip
    console().print(table)
