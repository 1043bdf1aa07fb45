"""The Open Inference Protocol over REST: JSON (optionally followed by binary tensors) to
an :class:`~service.protocol.infer.InferRequest` and the result back, around the one
``infer`` sequence (``service.protocol.infer``). The FastAPI route and the fast lane both
call :func:`infer`."""

from __future__ import annotations

from typing import Any

import numpy as np

from service.dataplane import DataPlane
from service.errors import InvalidInput
from service.protocol import infer as sequence
from service.protocol.infer import InferRequest, InferResult
from service.protocol.v2_binary import (
    BINARY_CONTENT_TYPE,
    encode_response,
    split_body_bounded,
    take_binary_inputs,
)
from service.responses import MEDIA_JSON, Answer


async def infer(
    plane: DataPlane, model: str, version: int | None, body: bytes, header_length: str | None
) -> Answer:
    """``infer``: JSON, or JSON plus binary tensors (the binary-data extension)."""
    head, tail = await split_body_bounded(body, header_length, plane.settings.max_decode_bytes)

    def read() -> InferRequest:
        request = check_request(head)
        return InferRequest(
            id=request["id"] if isinstance(request.get("id"), str) else None,
            inputs=request["inputs"],
            binaries=take_binary_inputs(request["inputs"], tail),
            outputs=request.get("outputs"),
            parameters=request.get("parameters"),
            size=len(tail),
        )

    result = await sequence.infer(plane, model, version, read)
    header, chunks = encode_outputs(result)
    content, headers = encode_response(header, chunks)
    return Answer(content, BINARY_CONTENT_TYPE if chunks else MEDIA_JSON, headers)


def check_request(request: object) -> dict[str, Any]:
    if not isinstance(request, dict):
        raise InvalidInput("the inference request must be a JSON object")
    if not isinstance(request.get("inputs"), list) or not request["inputs"]:
        raise InvalidInput("the inference request needs a non-empty 'inputs' list")
    return request


def encode_outputs(result: InferResult) -> tuple[dict[str, Any], list[bytes]]:
    """-> (JSON header, binary chunks in output order)."""
    tensors = []
    binaries: list[bytes] = []
    for output, values in result.outputs:
        array = np.ascontiguousarray(values, dtype="<f4")
        tensor: dict[str, Any] = {
            "name": output.name,
            "datatype": "FP32",
            "shape": list(array.shape),
        }
        if output.binary:
            raw = array.tobytes()
            tensor["parameters"] = {"binary_data_size": len(raw)}
            binaries.append(raw)
        else:
            tensor["data"] = array.reshape(-1)
        tensors.append(tensor)
    header: dict[str, Any] = {
        "model_name": result.model,
        "model_version": str(result.version),
        "outputs": tensors,
    }
    if result.id is not None:
        header["id"] = result.id
    return header, binaries
