"""``attributions``: the explanation as a named output, for the Open Inference Protocol.

A V2 request (REST or gRPC) that names the output ``attributions`` gets ``:explain``'s map
per input, over the input, with the method and its options given as request
``parameters`` (any ``ExplainOptions`` field: ``method``, ``target``, ``steps``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from service.dataplane import DataPlane
from service.dataplane.outputs import DerivedOutput
from service.errors import InvalidInput
from service.features.explain.options import ExplainOptions
from service.features.explain.run import explain
from service.handlers import validated
from service.runtime import LoadedModel

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


async def _attributions(
    plane: DataPlane,
    loaded: LoadedModel,
    x: np.ndarray,
    _outputs: Mapping[str, np.ndarray],
    parameters: Mapping[str, Any],
) -> np.ndarray:
    body = await explain(plane, loaded, x, explain_options(parameters))
    maps = [item["attributions"] for item in body.explanations]
    return np.stack(maps).astype(np.float32)


ATTRIBUTIONS = DerivedOutput(
    name=NAME,
    shape=lambda loaded: tuple(loaded.manifest.input.shape),
    compute=_attributions,
)
