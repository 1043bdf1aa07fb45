"""Open Inference Protocol (KServe V2): model metadata and ``infer`` over the runtime."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import ValidationError

from core.manifest import ENDPOINT_PREDICT, LOGITS_LAYER, PROBABILITIES_LAYER
from service import codecs
from service.errors import InvalidInput
from service.explain.options import ExplainOptions
from service.runtime import LoadedModel

PLATFORM = "tensorflow_savedmodel"
#: What the ``predict`` and ``head`` endpoints return, and what ``infer`` answers by default.
DEFAULT_OUTPUTS = (PROBABILITIES_LAYER, LOGITS_LAYER)
#: The output that explains rather than computes: ``:explain``'s map per input, asked for
#: with the request parameters ``method``, ``target``, ``steps`` (any ``ExplainOptions`` field).
ATTRIBUTIONS_OUTPUT = "attributions"


def input_name(loaded: LoadedModel) -> str:
    return loaded.manifest.endpoints[ENDPOINT_PREDICT].inputs[0].name


def output_shapes(loaded: LoadedModel) -> dict[str, tuple[int, ...]]:
    """probabilities, logits, then every probe-able layer (each once)."""
    classes = (loaded.manifest.num_classes,)
    shapes = {PROBABILITIES_LAYER: classes, LOGITS_LAYER: classes}
    for layer in loaded.manifest.layers:
        shapes.setdefault(layer.name, tuple(layer.output_shape))
    shapes.setdefault(ATTRIBUTIONS_OUTPUT, tuple(loaded.manifest.input.shape))
    return shapes


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
    try:
        return ExplainOptions.model_validate(chosen)
    except ValidationError as exc:
        problems = "; ".join(
            f"parameter {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(problems) from None


def model_metadata(loaded: LoadedModel, versions: list[int]) -> dict[str, Any]:
    return {
        "name": loaded.name,
        "versions": [str(v) for v in versions],
        "platform": PLATFORM,
        "inputs": [
            {
                "name": input_name(loaded),
                "datatype": "FP32",
                "shape": [-1, *loaded.manifest.input.shape],
            }
        ],
        "outputs": [
            {"name": name, "datatype": "FP32", "shape": [-1, *shape]}
            for name, shape in output_shapes(loaded).items()
        ],
    }


def decode_inputs(
    loaded: LoadedModel, request: dict[str, Any], binaries: list[bytes | None], *, max_batch: int
) -> np.ndarray:
    inputs = request["inputs"]
    expected = input_name(loaded)
    repeated_names(inputs, "input")
    if len(inputs) != 1:
        raise InvalidInput(f"model {loaded.name!r} takes exactly one input, {expected!r}")
    tensor, data = inputs[0], binaries[0]
    if not isinstance(tensor, dict) or tensor.get("name") != expected:
        got = tensor.get("name") if isinstance(tensor, dict) else tensor
        raise InvalidInput(f"unknown input {got!r}; model {loaded.name!r} takes {expected!r}")
    if data is None:
        if "data" not in tensor:
            raise InvalidInput(f"input {expected!r} has neither 'data' nor binary data")
        data = tensor["data"]
    return codecs.decode_v2_input(
        tensor.get("datatype"),
        tensor.get("shape"),
        data,
        loaded.manifest.input,
        max_batch=max_batch,
    )


def repeated_names(tensors: list[Any], kind: str) -> None:
    """400 for a name given twice, before any work: 1,000 copies of one output were once
    computed 1,000 times (6.5 GB); Triton refuses them too."""
    seen: set[str] = set()
    for tensor in tensors:
        name = tensor.get("name") if isinstance(tensor, dict) else None
        if isinstance(name, str):
            if name in seen:
                raise InvalidInput(f"{kind} {name[:80]!r} is named more than once")
            seen.add(name)


def requested_outputs(loaded: LoadedModel, request: dict[str, Any]) -> list[tuple[str, bool]]:
    """(name, as binary) for each output asked for; the defaults when none are."""
    parameters = request.get("parameters") or {}
    binary_default = bool(isinstance(parameters, dict) and parameters.get("binary_data_output"))
    outputs = request.get("outputs")
    if not outputs:
        return [(name, binary_default) for name in DEFAULT_OUTPUTS]
    if not isinstance(outputs, list):
        raise InvalidInput("'outputs' must be a list of {\"name\": ...} objects")
    repeated_names(outputs, "output")
    available = output_shapes(loaded)
    chosen = []
    for output in outputs:
        name = output.get("name") if isinstance(output, dict) else None
        if not isinstance(name, str) or name not in available:
            raise InvalidInput(
                f"unknown output {name!r}; model {loaded.name!r} has: {', '.join(available)}"
            )
        params = output.get("parameters") or {}
        binary = params.get("binary_data", binary_default) if isinstance(params, dict) else False
        chosen.append((name, bool(binary)))
    return chosen


def encode_outputs(
    loaded: LoadedModel,
    request: dict[str, Any],
    results: dict[str, np.ndarray],
    outputs: list[tuple[str, bool]],
) -> tuple[dict[str, Any], list[bytes]]:
    """-> (JSON header, binary chunks in output order)."""
    tensors = []
    binaries: list[bytes] = []
    for name, binary in outputs:
        array = np.ascontiguousarray(results[name], dtype="<f4")
        tensor: dict[str, Any] = {"name": name, "datatype": "FP32", "shape": list(array.shape)}
        if binary:
            raw = array.tobytes()
            tensor["parameters"] = {"binary_data_size": len(raw)}
            binaries.append(raw)
        else:
            tensor["data"] = array.reshape(-1)
        tensors.append(tensor)
    header: dict[str, Any] = {
        "model_name": loaded.name,
        "model_version": str(loaded.version),
        "outputs": tensors,
    }
    if isinstance(request.get("id"), str):
        header["id"] = request["id"]
    return header, binaries


def check_request(request: object) -> dict[str, Any]:
    if not isinstance(request, dict):
        raise InvalidInput("the inference request must be a JSON object")
    if not isinstance(request.get("inputs"), list) or not request["inputs"]:
        raise InvalidInput("the inference request needs a non-empty 'inputs' list")
    return request
