"""The `layerlens` command: global options, then one sub-command per question."""

from __future__ import annotations

from typing import Annotated

import typer

from clients._http import DEFAULT_RETRIES, DEFAULT_TIMEOUT_S, DEFAULT_URL, URL_ENV
from clients.cli._common import State
from clients.cli.boundary import boundary
from clients.cli.embed import embed, head
from clients.cli.embedding_map import embedding_map
from clients.cli.explain import explain
from clients.cli.interpolate import interpolate
from clients.cli.metrics import metrics
from clients.cli.models import models
from clients.cli.neighbors import neighbors
from clients.cli.predict import predict
from clients.cli.weights import weights

app = typer.Typer(
    name="layerlens",
    help="Ask a layerlens service about its classifiers: predictions, layers, metrics, plots.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def options(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option(envvar=URL_ENV, help=f"Service URL (default: {DEFAULT_URL}).")
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds per request.")
    ] = DEFAULT_TIMEOUT_S,
    retries: Annotated[int, typer.Option(min=0, help="Retries on connection errors and 503.")] = (
        DEFAULT_RETRIES
    ),
) -> None:
    ctx.obj = State(url=url, timeout=timeout, retries=retries)


commands = (
    models, predict, embed, head, interpolate, explain, neighbors, metrics, weights, boundary,
)  # fmt: skip
for command in commands:
    app.command()(command)
app.command(name="map")(embedding_map)


def main() -> None:
    app()
