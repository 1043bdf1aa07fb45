"""`layerlens neighbors INPUTS`: the training examples nearest to each input, and whether
they back the model's prediction."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Column, Table
from rich.text import Text

from clients import Client, DatasetRef, NeighborsResult
from clients.cli import options
from clients.cli._common import connected, console, print_json, read_picture, wrote
from clients.cli.predict import InputsArg


def examples_of(client: Client, result: NeighborsResult) -> list[list[np.ndarray]]:
    """Every neighbour's instance as the split holds it, each example fetched once."""
    fetched: dict[int, np.ndarray] = {}
    for index in {int(n.index) for item in result for n in item}:
        fetched[index] = client.dataset_example(result.dataset, index).instance
    return [[fetched[n.index] for n in item] for item in result]


def query_of(client: Client, name: str, *, grey: bool) -> np.ndarray:
    """The input as the plot shows it: a dataset example's values, or an image file's pixels."""
    ref = DatasetRef.parse(name) if not Path(name).exists() else None
    if ref is not None:
        return client.dataset_example(ref.dataset, ref.index).instance
    return read_picture(name, grey=grey)


def neighbors(
    ctx: typer.Context,
    inputs: InputsArg,
    model: options.Model = options.DEFAULT_MODEL,
    version: options.Version = None,
    k: Annotated[
        int | None, typer.Option("--k", "-k", min=1, help="Neighbours per input (default 8).")
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="The split searched, e.g. mnist-test (default: the model's train split)."
        ),
    ] = None,
    space: options.NeighborSpace = None,
    layer: Annotated[
        str | None,
        typer.Option(help="Compare this layer's activations (embedding space; indexed layers)."),
    ] = None,
    metric: options.Metric = None,
    plot: options.Plot = None,
    as_json: options.Json = False,
) -> None:
    """The k nearest examples of a dataset split to each input, and their vote: a prediction
    its neighbours disagree with deserves less trust than its probability says."""
    with connected(ctx) as client:
        result = client.neighbors(
            model, inputs, version=version, k=k, dataset=dataset, space=space, layer=layer,
            metric=metric,
        )  # fmt: skip
        if plot is not None:
            from clients.plots.neighbors import plot_neighbors

            examples = examples_of(client, result)
            grey = any(np.ndim(e) == 2 for row in examples for e in row)
            queries = [query_of(client, name, grey=grey) for name in inputs]
            wrote(plot_neighbors(result, plot, examples=examples, queries=queries, names=inputs))
    if as_json:
        rows = [{"input": name, **raw} for name, raw in zip(inputs, result.raw, strict=True)]
        print_json({**result.to_json(), "results": rows})
        return
    _print_tables(result, inputs)


def _print_tables(result: NeighborsResult, inputs: list[str]) -> None:
    out = console()
    out.print(
        f"{result.model} v{result.version}: the {result.k} nearest in {result.dataset} "
        f"({result.layer or result.space} space, {result.metric} distance)"
    )
    for name, item in zip(inputs, result, strict=True):
        table = Table(
            Column("rank", justify="right"), Column("index", justify="right"), "label",
            Column("distance", justify="right"), title=f"{name}: predicted {item.predicted_label}",
        )  # fmt: skip
        for rank, neighbor in enumerate(item, start=1):
            table.add_row(
                str(rank), str(neighbor.index), neighbor.label, f"{neighbor.distance:.4f}"
            )
        out.print(table)
        verdict = (
            Text("agrees with the prediction", "green")
            if item.agrees
            else Text("disagrees with the prediction: trust it less", "red")
        )
        share = f"{item.vote.share:.0%} of {len(item)}"
        out.print(Text.assemble(f"vote: {item.vote.label} ({share}); ", verdict))
    if len(result) > 1:
        agreeing = sum(item.agrees for item in result)
        out.print(f"{agreeing} of {len(result)} inputs' neighbours agree with the prediction")
