"""`layerlens interpolate A B`: sweep alpha between two inputs and plot the reports' figure."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from clients.cli import options
from clients.cli._common import connected, console, print_json, wrote

ROWS_SHOWN = 12


def interpolate(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="Image file or dataset example (alpha = 1).")],
    b: Annotated[str, typer.Argument(help="Image file or dataset example (alpha = 0).")],
    space: options.Space = "pixel",
    start: Annotated[float, typer.Option(help="First alpha.")] = 0.0,
    stop: Annotated[float, typer.Option(help="Last alpha.")] = 1.0,
    num: Annotated[int, typer.Option(min=2, help="How many alphas.")] = 100,
    layer: Annotated[str | None, typer.Option(help="Layer to mix in (embedding space).")] = None,
    model: options.Model = options.DEFAULT_MODEL,
    version: options.Version = None,
    plot: options.Plot = None,
    as_json: options.Json = False,
) -> None:
    """Classify x(alpha) = alpha·A + (1 − alpha)·B and show where the class flips."""
    with connected(ctx) as client:
        result = client.interpolate(
            model, a, b, space=space, start=start, stop=stop, num=num,
            layer=layer, version=version,
        )  # fmt: skip
    if plot is not None:
        from clients.plots.interpolation import plot_interpolation

        wrote(plot_interpolation(result, plot, a=a, b=b))
    if as_json:
        print_json(result.to_json())
        return
    out = console()
    first, last = result.points[0], result.points[-1]
    out.print(
        f"{result.space} space, {len(result)} alphas: alpha={first.alpha:g} -> {first.label} "
        f"({first.probability:.3f}), alpha={last.alpha:g} -> {last.label} ({last.probability:.3f})",
        highlight=False,
    )
    table = Table("flip between alphas", "from", "to")
    for flip in result.flips:
        table.add_row(f"{flip.alpha_before:.4f} .. {flip.alpha_after:.4f}", flip.from_label,
                      flip.to_label)  # fmt: skip
    if result.flips:
        out.print(table)
    else:
        out.print("the predicted class never changes")
    step = max(1, len(result) // ROWS_SHOWN)
    points = Table("alpha", "label", "probability", title="sampled points")
    for p in result.points[::step]:
        points.add_row(f"{p.alpha:.3f}", p.label, f"{p.probability:.4f}")
    out.print(points)
