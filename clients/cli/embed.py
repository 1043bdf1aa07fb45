"""`layerlens embed` and `layerlens head`: look inside the network, and run only its end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from clients.cli import options
from clients.cli._common import connected, console, print_json, wrote
from clients.cli.predict import InputsArg
from clients.errors import InputError

SHOWN_VALUES = 6


def _preview(vector: np.ndarray) -> str:
    flat = vector.ravel()
    head = " ".join(f"{v:.3f}" for v in flat[:SHOWN_VALUES])
    return head + (" ..." if flat.size > SHOWN_VALUES else "")


def embed(
    ctx: typer.Context,
    inputs: InputsArg,
    model: options.Model = options.DEFAULT_MODEL,
    version: options.Version = None,
    layer: Annotated[str | None, typer.Option(help="Layer name (default: embedding).")] = None,
    out: Annotated[Path | None, typer.Option(help="Save the vectors as .npy.")] = None,
    fit: options.Fit = None,
    as_json: options.Json = False,
) -> None:
    """A layer's output for each input (the reports' V1, V2: 128 numbers per image)."""
    with connected(ctx) as client:
        result = client.embed(model, inputs, version=version, layer=layer, fit=fit)
    if out is not None:
        np.save(out, result.embeddings)
        wrote(out)
    if as_json:
        print_json({**result.to_json(), "inputs": inputs})
        return
    table = Table("input", "shape", "norm", "active", "values", title=f"layer {result.layer}")
    for name, vector in zip(inputs, result.embeddings, strict=True):
        active = f"{int(np.count_nonzero(vector))}/{vector.size}"
        norm = f"{float(np.linalg.norm(vector)):.3f}"
        table.add_row(name, str(vector.shape), norm, active, _preview(vector))
    console().print(table)


def head(
    ctx: typer.Context,
    inputs: Annotated[list[str] | None, typer.Argument(help="Images or dataset examples.")] = None,
    embeddings: Annotated[
        Path | None, typer.Option(help="Vectors saved by `embed --out` (.npy), instead.")
    ] = None,
    model: options.Model = options.DEFAULT_MODEL,
    version: options.Version = None,
    as_json: options.Json = False,
) -> None:
    """Run only the layers after the embedding. Given inputs, also run the whole network
    and show that both agree (head(embed(x)) == predict(x))."""
    if (embeddings is None) == (not inputs):
        raise typer.BadParameter("give either INPUTS or --embeddings FILE.npy")
    with connected(ctx) as client:
        if embeddings is not None:
            try:
                vectors = np.load(embeddings)
            except (OSError, ValueError) as exc:
                raise InputError(f"cannot read embeddings from {str(embeddings)!r}: {exc}") from exc
            names = [f"{embeddings.name}[{i}]" for i in range(len(np.atleast_2d(vectors)))]
            full = None
        else:
            vectors = client.embed(model, inputs, version=version).embeddings
            names = list(inputs or [])
            full = client.predict(model, inputs, version=version)
        result = client.head(model, vectors, version=version)
    diffs = (
        [
            float(np.abs(h.probabilities - f.probabilities).max())
            for h, f in zip(result, full, strict=True)
        ]
        if full is not None
        else [None] * len(result)
    )
    if as_json:
        rows = [
            {"input": n, **raw, "max_abs_diff_vs_predict": d}
            for n, raw, d in zip(names, result.raw, diffs, strict=True)
        ]
        print_json({"model": result.model, "version": result.version, "predictions": rows})
        return
    table = Table("input", "head label", "probability", "full network", "max |Δp|")
    for i, (name, p, d) in enumerate(zip(names, result, diffs, strict=True)):
        whole = "" if full is None else f"{full[i].label} {full[i].probability:.4f}"
        table.add_row(name, p.label, f"{p.probability:.4f}", whole, "" if d is None else f"{d:.2e}")
    console().print(table)
