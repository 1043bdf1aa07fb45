"""``attributions``: the explanation as a named output, for the Open Inference Protocol.

A V2 request (REST or gRPC) that names the output ``attributions`` gets ``:explain``'s map
per input, over the input, with the method and its options given as request
``parameters`` (any ``ExplainOptions`` field: ``method``, ``target``, ``steps``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from service.dataplane.outputs import DerivedOutput, Run
from service.errors import InvalidInput
from service.features.explain.options import ExplainOptions
from service.features.explain.run import explain
from service.handlers import validated

NAME = "attributions"


def explain_options(parameters: object) -> ExplainOptions:
    """The request parameters that are ``ExplainOptions`` fields (others, such as
    ``binary_data_output``, are the protocol's own); 400 naming a bad one."""
    if not isinstance(parameters, Mapping):
        parameters = {}
    chosen = {k: v for k, v in parameters.items() if k in ExplainOptions.model_fields}
    if "layer" in chosen:
        raise InvalidInput("the attributions output is over the input; use :explain for layer=")
    if isinstance(chosen.get("target"), int) and not isinstance(chosen["target"], bool):
        chosen["target"] = str(chosen["target"])
    return validated(ExplainOptions, chosen, where="parameter")


async def _attributions(run: Run) -> np.ndarray:
    body = await explain(run.plane, run.loaded, run.x, explain_options(run.parameters))
    maps = [item["attributions"] for item in body.explanations]
    return np.stack(maps).astype(np.float32)


ATTRIBUTIONS = DerivedOutput(
    name=NAME,
    shape=lambda loaded: tuple(loaded.manifest.input.shape),
    compute=_attributions,
)
