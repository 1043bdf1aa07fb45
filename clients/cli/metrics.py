"""`layerlens metrics MODEL`: the stored evaluations as tables, and as plots;
``--examples TRUE,PREDICTED`` lists one confusion cell's test examples."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer
from rich.console import Group, RenderableType
from rich.table import Column, Table
from rich.text import Text

from clients import Agreement, CellExamples, Metrics
from clients.cli import options
from clients.cli._common import connected, console, print_json, wrote
from clients.errors import InputError

#: Stored key -> column header (short, so the table fits an 80-column terminal).
HEADLINE = {
    "accuracy": "accuracy",
    "loss": "loss",
    "num_examples": "examples",
    "mean_max_probability": "mean max p",
}
#: training/agreement.py's CONFIDENT: the share of predictions the softmax is this sure of.
CONFIDENT = 0.99


def _cell(value: object) -> str:
    """Scalars as they are; a history series by its last epoch's value."""
    if isinstance(value, np.ndarray):
        value = value.ravel()[-1].item() if value.size else None
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def _percent(value: float | None) -> str:
    return "-" if value is None or np.isnan(value) else f"{value:.1%}"


def _number(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.4f}"


def _agreement_summary(a: Agreement) -> Text:
    """The figures of the README's agreement table (scripts/agreement_table.py), as lines."""
    lines = [f"majority ({a.majority} of {a.k} neighbours) agrees with "
             f"{_percent(a.majority_agrees)} of predictions"]  # fmt: skip
    if a.labelled:
        lines.append(
            f"accuracy when it agrees {_percent(a.accuracy_when_majority_agrees)}, when it "
            f"disagrees {_percent(a.accuracy_when_majority_disagrees)} "
            f"(overall {_percent(a.accuracy)})"
        )
    lines.append(
        f"softmax ≥ {CONFIDENT}: {_percent(a.confident_share)} of predictions, majority agrees "
        f"with {_percent(a.majority_agrees_when_confident)} of those"
    )
    return Text("\n".join(lines))


def _right(header: str) -> Column:
    return Column(header, justify="right")


def _agreement(a: Agreement) -> Group:
    """One row per bucket: how many of the k nearest training examples carry the predicted
    class; accuracy only where the labels are the model's own (its test split)."""
    headers = ["agreeing", "images", "share"]
    headers += ["accuracy"] if a.bucket_accuracy is not None else []
    title = f"agreement, {a.dataset}: {a.num_examples} images"
    table = Table(*map(_right, [*headers, "mean confidence"]), title=title)
    for i, count in enumerate(a.counts):
        row = [f"{a.agreeing[i]}/{a.k}", str(count), _percent(float(a.shares[i]))]
        if a.bucket_accuracy is not None:
            row.append(_number(a.bucket_accuracy[i]))
        table.add_row(*row, _number(a.mean_confidence[i]))
    return Group(table, _agreement_summary(a))


def _tables(metrics: Metrics, names: list[str]) -> list[RenderableType]:
    # only columns some evaluation fills: the table then fits an 80-column terminal
    keys = [k for k in HEADLINE if any(e.data.get(k) is not None for e in metrics.evaluations)]
    headers = [HEADLINE[k] for k in keys]
    summary = Table("kind", "dataset", *headers, title=f"{metrics.model} v{metrics.version}")
    for e in metrics.evaluations:
        summary.add_row(e.kind, e.dataset, *(_cell(e.data.get(k)) for k in keys))
    tables: list[RenderableType] = [summary]
    for e in metrics.of_kind("test"):
        per_class = Table("class", "accuracy", "examples", title=f"per class, {e.dataset}")
        accuracy = e.data.get("per_class_accuracy", [])
        counts = e.data.get("confusion_matrix")
        for i, name in enumerate(names[: len(accuracy)]):
            total = "" if counts is None else str(int(counts[i].sum()))
            per_class.add_row(name, f"{float(accuracy[i]):.4f}", total)
        tables.append(per_class)
    for e in metrics.of_kind("sweep"):
        parameter = str(e.data.get("parameter", "value"))
        sweep = Table(parameter, "model", "test accuracy", title=f"sweep, {e.dataset}")
        for point in e.raw.get("data", {}).get("points", []):
            accuracy = float(point.get("test_accuracy", float("nan")))
            sweep.add_row(str(point.get("value")), str(point.get("model")), f"{accuracy:.4f}")
        tables.append(sweep)
    tables += [_agreement(a) for a in metrics.agreements()]
    return tables


def _cell_pair(text: str) -> tuple[int, int]:
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise InputError(f"--examples takes TRUE,PREDICTED class ids such as 3,5, not {text!r}")
    return int(parts[0]), int(parts[1])


def _cell_table(cell: CellExamples, names: list[str]) -> Table:
    first, last = cell.start + 1, cell.start + len(cell)
    shown = f"{first}-{last} of {cell.total}" if len(cell) else f"none of {cell.total}"
    title = (f"{cell.model} v{cell.version}, true {names[cell.true]}, predicted "
             f"{names[cell.predicted]}: {shown}")  # fmt: skip
    table = Table(_right("index"), _right("probability"), "input", title=title)
    for index, probability in zip(cell.indices, cell.probabilities, strict=True):
        table.add_row(str(index), f"{probability:.4f}", f"{cell.dataset}:{index}")
    return table


def metrics(
    ctx: typer.Context,
    model: options.ModelArg,
    kind: Annotated[
        str | None,
        typer.Option(
            help="test, train, validation, history, cross-dataset, sweep, agreement, ood, map "
            "or robustness."
        ),
    ] = None,
    version: options.Version = None,
    plot: options.Plot = None,
    as_json: options.Json = False,
    examples: Annotated[
        str | None,
        typer.Option(
            metavar="TRUE,PREDICTED",
            help="List the test examples of one confusion-matrix cell, e.g. 3,5 (48 a page).",
        ),
    ] = None,
    start: Annotated[
        int, typer.Option(min=0, help="With --examples: the position in the cell to start at.")
    ] = 0,
) -> None:
    """Accuracy, per-class accuracy, confusion matrix, confidence, history, cross-dataset,
    neighbour agreement; or one confusion cell's test examples (--examples)."""
    if examples is not None:
        with connected(ctx) as client:
            true, predicted = _cell_pair(examples)
            cell = client.cell_examples(model, true, predicted, version=version, start=start)
            names = client.metadata(model, version=cell.version).class_names
        if as_json:
            print_json(cell.to_json())
        else:
            console().print(_cell_table(cell, names))
        return
    with connected(ctx) as client:
        result = client.metrics(model, version=version, kind=kind)
        names = client.metadata(model, version=result.version or version).class_names
        if plot is not None:
            from clients.plots.metrics import plot_metrics

            try:
                wrote(plot_metrics(result, names, plot))
            except ValueError as exc:
                raise InputError(f"{model}: {exc} (kind={kind or 'all'})") from exc
    if as_json:
        print_json(result.to_json())
        return
    for table in _tables(result, names):
        console().print(table)
