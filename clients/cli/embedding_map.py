"""`layerlens map MODEL --plot out.png`: the service's 2-D map of the embedding space (the
page's Map view, point for point), coloured by class, with any inputs placed on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Column, Table

from clients.cli import options
from clients.cli._common import connected, console, print_json, wrote
from clients.errors import InputError
from clients.ops.embedding_map import DEFAULT_MAP_SIZE, MAX_MAP_SIZE
from clients.projection import class_centroids, nearest_centroid_accuracy
from clients.results import EmbeddingMap, Projected


def _write_coords(path: Path, result: EmbeddingMap) -> None:
    """``.npy``: the (N, 2) coordinates; ``.csv``: index, label, class, predicted, x, y."""
    if path.suffix.lower() == ".npy":
        np.save(path, result.coords)
        return
    if path.suffix.lower() != ".csv":
        raise InputError(f"--out {str(path)!r}: write coordinates to a .csv or .npy file")
    names = result.class_names
    lines = ["index,label,class_name,predicted,x,y"]
    rows = zip(result.indices, result.labels, result.predicted, result.coords, strict=True)
    for index, label, guess, (x, y) in rows:
        lines.append(f"{index},{label},{names[label].replace(',', ' ')},{guess},{x:.6g},{y:.6g}")
    path.write_text("\n".join(lines) + "\n")


def _summary(result: EmbeddingMap, separation: float) -> Table:
    kept = (
        f"{result.method} to 2-D keeps {float(result.explained.sum()):.0%} of the variance"
        if result.explained.size
        else f"{result.method} of {result.size:,} examples"
    )
    right = float(np.mean(result.predicted == result.labels))
    table = Table(
        "class", Column("examples", justify="right"), Column("centroid x", justify="right"),
        Column("centroid y", justify="right"), Column("spread", justify="right"),
        title=f"{result.model} v{result.version}, layer {result.layer}, {len(result)} "
        f"{result.dataset} examples (seed {result.seed})",
        caption=f"{kept}; a point is "
        f"nearest its own class's centroid {separation:.1%} of the time "
        f"(chance: {1 / len(set(result.labels.tolist())):.0%}); the model is right on "
        f"{right:.1%} of them",
    )  # fmt: skip
    coords, labels = result.coords, result.labels
    for c, centre in class_centroids(coords, labels).items():
        mine = coords[labels == c]
        spread = float(np.linalg.norm(mine - centre, axis=1).mean())
        name = result.class_names[c]
        table.add_row(name, str(len(mine)), f"{centre[0]:.2f}", f"{centre[1]:.2f}", f"{spread:.2f}")
    return table


def _placed(result: EmbeddingMap, inputs: list[str], placed: Projected) -> Table:
    centroids = class_centroids(result.coords, result.labels)
    classes = list(centroids)
    centres = np.stack([centroids[c] for c in classes])
    table = Table(
        "input", Column("x", justify="right"), Column("y", justify="right"),
        "nearest class centroid", title="Inputs on the map",
    )  # fmt: skip
    for name, (x, y) in zip(inputs, placed.coords, strict=True):
        nearest = classes[int(np.linalg.norm(centres - [x, y], axis=1).argmin())]
        table.add_row(name, f"{x:.4f}", f"{y:.4f}", result.class_names[nearest])
    return table


def embedding_map(
    ctx: typer.Context,
    model: options.ModelArg = options.DEFAULT_MODEL,
    num: Annotated[
        int,
        typer.Option(min=2, max=MAX_MAP_SIZE, help="How many test examples (one request)."),
    ] = DEFAULT_MAP_SIZE,
    seed: Annotated[int, typer.Option(min=0, help="Which sample of the test split.")] = 0,
    method: Annotated[
        str,
        typer.Option(help="The map: pca, tsne or umap (t-SNE and UMAP where the trainer fit one)."),
    ] = "pca",
    layer: Annotated[
        str | None, typer.Option(help="The layer mapped (default: the embedding layer).")
    ] = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            "-i",
            help="Place an input on the map: an image file or a dataset example such as "
            "mnist-test:1 or fashion-mnist-test:3 (repeatable).",
        ),
    ] = None,
    version: options.Version = None,
    plot: options.Plot = None,
    out: Annotated[
        Path | None, typer.Option(help="Save the 2-D coordinates (.csv or .npy).", dir_okay=False)
    ] = None,
    as_json: options.Json = False,
) -> None:
    """The service's 2-D map of a layer (PCA, t-SNE or UMAP): do the classes form separate
    clusters, and where do your inputs land?"""
    names = list(inputs or [])
    with connected(ctx) as client:
        result = client.embedding_map(
            model, num=num, seed=seed, version=version, method=method, layer=layer
        )
        placed = (
            client.project(model, names, version=result.version, method=method, layer=result.layer)
            if names
            else None
        )
        if out is not None:
            _write_coords(out, result)
            wrote(out)
    separation = nearest_centroid_accuracy(result.coords, result.labels)
    if plot is not None:
        from clients.plots.embedding_map import plot_embedding_map

        wrote(plot_embedding_map(result, plot, placed=placed, names=names))
    if as_json:
        body = {**result.to_json(), "nearest_centroid_accuracy": separation}
        if placed is not None:
            coords = placed.coords.tolist()
            body["inputs"] = [
                {"input": name, "coords": xy} for name, xy in zip(names, coords, strict=True)
            ]
        print_json(body)
        return
    console().print(_summary(result, separation))
    if placed is not None:
        console().print(_placed(result, names, placed))
