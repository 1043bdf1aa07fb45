"""The Open Inference Protocol's ``infer``, written once for both of its doors.

REST (``service.protocol.rest``: JSON, optionally followed by binary tensors) and gRPC
(``service.grpc.tensors``: ``ModelInferRequest``) each convert their wire format into an
:class:`InferRequest` and an :class:`InferResult` back into theirs; everything between,
looking the model up, validating the request against it (one input, its name, datatype,
shape, element count, range and NaN; the outputs asked for, each once), decoding, and
running the named outputs through the data plane's registry, is :func:`infer`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from core.manifest import ENDPOINT_PREDICT
from service import codecs
from service.dataplane import DataPlane
from service.dataplane.outputs import DEFAULT_OUTPUTS, OutputRegistry
from service.errors import InvalidInput
from service.runtime import LoadedModel


@dataclass(frozen=True, kw_only=True)
class InferRequest:
    """A request as a door read it, before anything is checked against the model."""

    id: str | None
    inputs: Sequence[Any]
    """Each ``{"name", "datatype", "shape"}`` and, unless its bytes are in ``binaries``,
    ``"data"`` (REST's JSON tensors; gRPC's typed contents put in the same form)."""
    binaries: Sequence[bytes | None]
    """Raw bytes per input (REST's binary extension, gRPC's ``raw_input_contents``)."""
    outputs: Any
    """The request's ``outputs`` (``[{"name", "parameters"}]``); empty or None: the defaults."""
    parameters: Any
    """The request's ``parameters`` (``binary_data_output``; ``ExplainOptions`` fields)."""
    size: int
    """Bytes to decode: small requests are decoded inline, large ones in the thread pool."""


@dataclass(frozen=True, slots=True)
class RequestedOutput:
    name: str
    binary: bool
    """REST's binary-data extension; gRPC answers raw bytes whatever this says."""


@dataclass(frozen=True, slots=True)
class InferResult:
    model: str
    version: int
    id: str | None
    outputs: list[tuple[RequestedOutput, np.ndarray]]


async def infer(
    plane: DataPlane,
    model: str,
    version: int | None,
    read: Callable[[], InferRequest],
    *,
    before_run: Callable[[], None] | None = None,
) -> InferResult:
    """``read`` converts the door's request once the model is known (an unknown model is a
    404 whatever the body); ``before_run`` may refuse once decoding is done (gRPC: a
    deadline that passed)."""
    loaded = plane.model(model, version)
    request = read()
    requested = requested_outputs(plane.outputs, loaded, request)
    decode = partial(decode_inputs, loaded, request, max_batch=plane.settings.max_batch_size)
    x = await plane.off_loop(decode, size=request.size)
    if before_run is not None:
        before_run()
    names = [output.name for output in requested]
    results = await plane.run_named(loaded, x, names, request.parameters)
    outputs = [(output, results[output.name]) for output in requested]
    return InferResult(loaded.name, loaded.version, request.id, outputs)


def input_name(loaded: LoadedModel) -> str:
    return loaded.manifest.endpoints[ENDPOINT_PREDICT].inputs[0].name


def decode_inputs(loaded: LoadedModel, request: InferRequest, *, max_batch: int) -> np.ndarray:
    inputs = request.inputs
    expected = input_name(loaded)
    repeated_names(inputs, "input")
    if len(inputs) != 1:
        raise InvalidInput(f"model {loaded.name!r} takes exactly one input, {expected!r}")
    tensor, data = inputs[0], request.binaries[0]
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


def repeated_names(tensors: Sequence[Any], kind: str) -> None:
    """400 for a name given twice, before any work: 1,000 copies of one output were once
    computed 1,000 times (6.5 GB); Triton refuses them too."""
    seen: set[str] = set()
    for tensor in tensors:
        name = tensor.get("name") if isinstance(tensor, dict) else None
        if isinstance(name, str):
            if name in seen:
                raise InvalidInput(f"{kind} {name[:80]!r} is named more than once")
            seen.add(name)


def requested_outputs(
    registry: OutputRegistry, loaded: LoadedModel, request: InferRequest
) -> list[RequestedOutput]:
    """Each output asked for, checked against the registry; the defaults when none are."""
    parameters = request.parameters or {}
    binary_default = bool(isinstance(parameters, dict) and parameters.get("binary_data_output"))
    outputs = request.outputs
    if not outputs:
        return [RequestedOutput(name, binary_default) for name in DEFAULT_OUTPUTS]
    if not isinstance(outputs, list):
        raise InvalidInput("'outputs' must be a list of {\"name\": ...} objects")
    repeated_names(outputs, "output")
    chosen = []
    for output in outputs:
        name = output.get("name") if isinstance(output, dict) else None
        registry.check(loaded, [name])
        params = output.get("parameters") or {}
        binary = params.get("binary_data", binary_default) if isinstance(params, dict) else False
        chosen.append(RequestedOutput(str(name), bool(binary)))
    return chosen
