"""`layerlens models [MODEL]`: what the service holds, or one model's manifest."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from clients.cli import options
from clients.cli._common import connected, console, print_json


def models(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Argument(help="Show this model's details.")] = None,
    version: options.Version = None,
    as_json: options.Json = False,
) -> None:
    """List the models, or show one model's input, classes and probe-able layers."""
    with connected(ctx) as client:
        if model is None:
            found = client.models()
            if as_json:
                print_json([vars(m) for m in found])
                return
            table = Table("model", "versions", "default", "task", "architecture", "classes")
            for m in found:
                versions = ", ".join(str(v) for v in m.versions)
                table.add_row(
                    m.name, versions, str(m.default_version), m.task, m.architecture,
                    str(len(m.class_names)),
                )  # fmt: skip
            console().print(table)
            if training := client.training():
                console().print(
                    f"still training (served as each lands): {', '.join(training)}",
                    highlight=False,
                )
            return
        meta = client.metadata(model, version=version)
    if as_json:
        print_json(meta.raw)
        return
    out = console()
    out.print(Text.assemble((meta.name, "bold"), f" version {meta.version}: {meta.description}"))
    out.print(f"input: {meta.input_kind} {meta.input_shape}, values in {meta.value_range}")
    out.print(f"classes: {', '.join(meta.class_names)}", highlight=False)
    table = Table("layer", "kind", "output shape", "")
    for layer in meta.layers:
        role = "embedding: head starts here" if layer.name == meta.embedding_layer else ""
        role = role or (f"probe only: {layer.probe_only}" if layer.probe_only else "")
        table.add_row(layer.name, layer.kind, str(tuple(layer.output_shape)), role)
    out.print(table)
