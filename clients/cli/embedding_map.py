"""`layerlens map MODEL --plot out.png`: the embedding space in 2-D, coloured by class."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from clients.cli import options
from clients.cli._common import connected, console, print_json, wrote
from clients.errors import InputError
from clients.ops.embedding_map import DEFAULT_MAP_SIZE
from clients.projection import Projection, class_centroids, nearest_centroid_accuracy
from clients.results.embedding_map import EmbeddingMap


class Method(StrEnum):
    pca = "pca"


def _write_coords(path: Path, result: EmbeddingMap, projection: Projection) -> None:
    """``.npy``: the (N, 2) coordinates; ``.csv``: index, label, class, x, y per example."""
    if path.suffix.lower() == ".npy":
        np.save(path, projection.coords)
        return
    if path.suffix.lower() != ".csv":
        raise InputError(f"--out {str(path)!r}: write coordinates to a .csv or .npy file")
    names = result.class_names
    lines = ["index,label,class_name,x,y"]
    for index, label, (x, y) in zip(result.indices, result.labels, projection.coords, strict=True):
        name = names[label] if label < len(names) else str(label)
        lines.append(f"{index},{label},{name.replace(',', ' ')},{x:.6g},{y:.6g}")
    path.write_text("\n".join(lines) + "\n")


def _summary(result: EmbeddingMap, projection: Projection, separation: float) -> Table:
    share = sum(projection.explained)
    table = Table(
        "class", "examples", "centroid x", "centroid y", "spread",
        title=f"{result.model} v{result.version}, layer {result.layer}, {len(result)} "
        f"{result.dataset} examples",
        caption=f"{projection.method} to 2-D keeps {share:.0%} of the variance; a point is "
        f"nearest its own class's centroid {separation:.1%} of the time "
        f"(chance: {1 / len(set(result.labels.tolist())):.0%})",
    )  # fmt: skip
    coords, labels = projection.coords, result.labels
    for c, centre in class_centroids(coords, labels).items():
        mine = coords[labels == c]
        spread = float(np.linalg.norm(mine - centre, axis=1).mean())
        name = result.class_names[c] if c < len(result.class_names) else str(c)
        table.add_row(name, str(len(mine)), f"{centre[0]:.2f}", f"{centre[1]:.2f}", f"{spread:.2f}")
    return table


def embedding_map(
    ctx: typer.Context,
    model: options.ModelArg = options.DEFAULT_MODEL,
    dataset: Annotated[
        str | None,
        typer.Option(help="Dataset split, e.g. mnist-test (default: the model's own test split)."),
    ] = None,
    num: Annotated[
        int, typer.Option(min=2, help="How many examples (one request each to fetch).")
    ] = DEFAULT_MAP_SIZE,
    start: Annotated[int, typer.Option(min=0, help="Index of the first example.")] = 0,
    layer: Annotated[str | None, typer.Option(help="Layer (default: embedding).")] = None,
    method: Annotated[Method, typer.Option(help="Projection to 2-D.")] = Method.pca,
    version: options.Version = None,
    plot: options.Plot = None,
    out: Annotated[
        Path | None, typer.Option(help="Save the 2-D coordinates (.csv or .npy).", dir_okay=False)
    ] = None,
    as_json: options.Json = False,
) -> None:
    """A 2-D map of the embedding space: do the classes form separate clusters?"""
    with connected(ctx) as client:
        result = client.embedding_map(
            model, dataset, num=num, start=start, layer=layer, version=version
        )
        projection = result.project(method.value)
        if out is not None:
            _write_coords(out, result, projection)
            wrote(out)
    separation = nearest_centroid_accuracy(projection.coords, result.labels)
    if plot is not None:
        from clients.plots.embedding_map import plot_embedding_map

        wrote(plot_embedding_map(result, projection, plot))
    if as_json:
        print_json({
            "model": result.model, "version": result.version, "layer": result.layer,
            "dataset": result.dataset, "method": projection.method,
            "explained_variance": list(projection.explained),
            "nearest_centroid_accuracy": separation, "class_names": result.class_names,
            "indices": result.indices, "labels": result.labels, "coords": projection.coords,
        })  # fmt: skip
        return
    console().print(_summary(result, projection, separation))
