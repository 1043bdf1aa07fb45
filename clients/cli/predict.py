"""`layerlens predict FILES...`: classify images or dataset examples, as a table or JSON."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from clients import PredictResult, Verdict
from clients.cli import options
from clients.cli._common import connected, console, err_console, print_json

DEFAULT_BATCH = 32
InputsArg = Annotated[
    list[str], typer.Argument(help="Image files (PNG/JPEG) or dataset examples like mnist-test:1.")
]


def top_k_text(prediction: object) -> str:
    return ", ".join(f"{t.label} {t.probability:.3f}" for t in prediction.top_k)  # type: ignore[attr-defined]


def verdict_text(verdict: Verdict) -> str:
    """e.g. ``out (knn 0.912 > 0.431)``: the verdict, then why."""
    sign = ">" if verdict.out else "<="
    return (
        f"{verdict.verdict} ({verdict.method} {verdict.score:.3g} {sign} {verdict.threshold:.3g})"
    )


def predict(
    ctx: typer.Context,
    inputs: InputsArg,
    model: options.Model = options.DEFAULT_MODEL,
    version: options.Version = None,
    top_k: Annotated[int, typer.Option(min=1, help="How many classes to list.")] = 3,
    batch_size: Annotated[int, typer.Option(min=1, help="Inputs per request.")] = DEFAULT_BATCH,
    fit: options.Fit = None,
    ood: Annotated[
        bool,
        typer.Option("--ood", help="Also say whether each input looks like the training data."),
    ] = False,
    ood_method: Annotated[
        str | None,
        typer.Option(help="The verdict's method: knn, mahalanobis, energy, msp (implies --ood)."),
    ] = None,
    as_json: options.Json = False,
) -> None:
    """Classify each input: its label, probability and top classes (and, with --ood, the
    out-of-distribution verdict: in or out, its score and threshold)."""
    parts: list[PredictResult] = []
    chunks = [inputs[i : i + batch_size] for i in range(0, len(inputs), batch_size)]
    bar = Progress(console=err_console(), transient=True, disable=len(chunks) < 2)
    with connected(ctx) as client, bar:
        task = bar.add_task("predicting", total=len(inputs))
        for chunk in chunks:
            parts.append(
                client.predict(
                    model,
                    chunk,
                    version=version,
                    top_k=top_k,
                    fit=fit,
                    ood=ood,
                    ood_method=ood_method,
                )
            )
            bar.advance(task, len(chunk))
    result = PredictResult.concat(parts)
    if as_json:
        rows = [{"input": name, **raw} for name, raw in zip(inputs, result.raw, strict=True)]
        print_json({"model": result.model, "version": result.version, "predictions": rows})
        return
    columns = ["input", "label", "probability", f"top-{top_k}"]
    asked = ood or ood_method is not None
    table = Table(*columns, *(["ood"] if asked else []), title=f"{model} v{result.version}")
    for name, p in zip(inputs, result.predictions, strict=True):
        verdict = [verdict_text(p.ood)] if asked and p.ood is not None else []
        table.add_row(name, p.label, f"{p.probability:.4f}", top_k_text(p), *verdict)
    console().print(table)
