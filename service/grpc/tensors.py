"""ModelInfer messages <-> the protocol's ``InferRequest`` and ``InferResult``.

A request's inputs become the same ``{"name", "datatype", "shape", "data"}`` tensors and raw
byte chunks that REST V2 reads, so both doors share the one ``infer`` sequence
(``service.protocol.infer``: the input's name, datatype, shape against the model, element
count, NaN and range; the outputs asked for). What is gRPC's own is checked here: typed
``contents`` must sit in the field that matches the datatype, and ``raw_input_contents``
holds every input or none. Outputs always leave as FP32 in ``raw_output_contents`` (what
tritonclient reads fastest).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from service.errors import InvalidInput
from service.grpc.protocol import messages
from service.protocol.infer import InferRequest, InferResult

#: The InferTensorContents field each datatype's elements go in (the protocol's table).
CONTENTS_FIELD: dict[str, str] = {
    "BOOL": "bool_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}
_FP32 = np.dtype("<f4")
#: Output parameters that ask for something other than the tensor itself.
UNSUPPORTED_OUTPUT_PARAMETERS = ("classification",)


def _typed_contents(tensor: Any) -> list[Any]:
    populated = [field.name for field, _value in tensor.contents.ListFields()]
    expected = CONTENTS_FIELD.get(tensor.datatype)
    if len(populated) > 1:
        raise InvalidInput(
            f"input {tensor.name!r} has contents in {', '.join(populated)}; "
            f"send them in one field{f' ({expected})' if expected else ''}"
        )
    if not populated:
        return []  # the element count check names the shortfall
    if expected is not None and populated[0] != expected:
        raise InvalidInput(
            f"input {tensor.name!r} is {tensor.datatype} but its contents are in "
            f"{populated[0]}; {tensor.datatype} goes in {expected}"
        )
    return list(getattr(tensor.contents, populated[0]))


def infer_request(request: Any) -> InferRequest:
    """The message as the protocol's request: JSON-like tensors, raw bytes per input."""
    raw = request.raw_input_contents
    if raw and len(raw) != len(request.inputs):
        raise InvalidInput(
            f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs; "
            "send every input's bytes there, in input order, or none"
        )
    inputs: list[dict[str, Any]] = []
    binaries: list[bytes | None] = []
    size = 0
    for index, tensor in enumerate(request.inputs):
        entry: dict[str, Any] = {
            "name": tensor.name,
            "datatype": tensor.datatype,
            "shape": list(tensor.shape),
        }
        if raw:
            if tensor.HasField("contents"):
                raise InvalidInput(
                    f"input {tensor.name!r} has both contents and raw_input_contents"
                )
            binaries.append(raw[index])
            size += len(raw[index])
        else:
            entry["data"] = _typed_contents(tensor)
            binaries.append(None)
            size += 8 * len(entry["data"])
        inputs.append(entry)
    if not inputs:
        raise InvalidInput("the inference request needs at least one input")
    outputs = []
    for output in request.outputs:
        if output.parameters:
            for key in UNSUPPORTED_OUTPUT_PARAMETERS:
                if key in output.parameters:
                    raise InvalidInput(f"output parameter {key!r} is not supported")
        outputs.append({"name": output.name})
    parameters = (
        {key: parameter_value(value) for key, value in request.parameters.items()}
        if request.parameters
        else {}
    )
    return InferRequest(
        id=request.id,
        inputs=inputs,
        binaries=binaries,
        outputs=outputs,
        parameters=parameters,
        size=size,
    )


def parameter_value(parameter: Any) -> Any:
    """An InferParameter's one set value (bool, int64, string, double...), or None."""
    choice = parameter.WhichOneof("parameter_choice")
    return None if choice is None else getattr(parameter, choice)


def infer_response(result: InferResult) -> Any:
    response = messages.ModelInferResponse(
        model_name=result.model, model_version=str(result.version), id=result.id or ""
    )
    add_output, add_raw = response.outputs.add, response.raw_output_contents.append
    for output, values in result.outputs:
        array = values if values.dtype == _FP32 else values.astype(_FP32)
        add_output(name=output.name, datatype="FP32", shape=array.shape)
        add_raw(array.tobytes())  # C order whatever the array's layout
    return response
