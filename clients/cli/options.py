"""The options several commands share, declared once: ``model: options.Model =
options.DEFAULT_MODEL``. Values offered (``--fit``, ``--space``, ``--method``...) come from the
SDK's types."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clients.inputs import Fit as FitValue
from clients.ops.explain import Method as MethodValue
from clients.ops.explain import Output as OutputValue
from clients.ops.explain import Rule as RuleValue
from clients.ops.interpolate import Space as SpaceValue
from clients.ops.neighbors import Metric as MetricValue
from clients.ops.neighbors import NeighborSpace as NeighborSpaceValue

DEFAULT_MODEL = "digits"

ModelArg = Annotated[str, typer.Argument(help="Model name.")]
Model = Annotated[str, typer.Option("--model", "-m", help="Model name (see `layerlens models`).")]
Version = Annotated[
    int | None, typer.Option("--version", "-v", help="Model version (default: the latest).")
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Plot = Annotated[
    Path | None, typer.Option("--plot", help="Write the figure to this PNG file.", dir_okay=False)
]
Fit = Annotated[
    FitValue | None,
    typer.Option(help="How images of another size are fitted (default: as the training data)."),
]
Space = Annotated[SpaceValue, typer.Option(help="Mix pixels or embeddings.")]
Method = Annotated[MethodValue, typer.Option(help="How attributions are computed.")]
Output = Annotated[
    OutputValue, typer.Option(help="The target function: the class's probability or its logit.")
]
Rule = Annotated[
    RuleValue | None,
    typer.Option(help="integrated-gradients: the quadrature along the path (default: adaptive)."),
]
NeighborSpace = Annotated[
    NeighborSpaceValue | None,
    typer.Option(
        "--space", help="Compare the model's embeddings or raw pixels (default: embedding)."
    ),
]
Metric = Annotated[
    MetricValue | None,
    typer.Option(help="euclidean, or cosine (1 - cos) (default: euclidean)."),
]
