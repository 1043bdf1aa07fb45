"""Open Inference Protocol (KServe V2) REST routes: what tritonclient and kserve call."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from service.errors import ModelNotReady
from service.protocol.v2_binary import (
    BINARY_CONTENT_TYPE,
    HEADER_LENGTH,
    encode_response,
    split_body,
)
from service.readiness import not_ready_reason
from service.responses import FastJSONResponse
from service.routes.deps import Plane, Version, add_model_route

router = APIRouter(tags=["open inference protocol (v2)"])

SERVER_NAME = "layerlens"
SERVER_VERSION = "0.1.0"
EXTENSIONS = ["binary_tensor_data"]

INFER_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "JSON, optionally followed by binary tensors (binary-data extension; "
        f"the JSON length is then in the {HEADER_LENGTH} header).",
        "content": {
            "application/json": {
                "schema": {"type": "object"},
                "examples": {
                    "xor": {
                        "summary": "Two XOR points, FP32",
                        "value": {
                            "inputs": [
                                {
                                    "name": "x",
                                    "shape": [2, 2],
                                    "datatype": "FP32",
                                    "data": [0, 1, 1, 1],
                                }
                            ],
                            "outputs": [{"name": "probabilities"}],
                        },
                    }
                },
            },
            BINARY_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get("/v2", summary="Server metadata")
async def server_metadata() -> FastJSONResponse:
    return FastJSONResponse(
        {"name": SERVER_NAME, "version": SERVER_VERSION, "extensions": EXTENSIONS}
    )


@router.get("/v2/health/live", summary="Liveness")
async def live() -> FastJSONResponse:
    return FastJSONResponse({"live": True})


@router.get("/v2/health/ready", summary="Readiness: every model loaded and warm, not draining")
async def ready(request: Request, plane: Plane) -> FastJSONResponse:
    reason = not_ready_reason(request.app.state.lifecycle, plane)
    if reason is not None:
        raise ModelNotReady(reason)
    return FastJSONResponse({"ready": True})


async def v2_model_metadata(model: str, version: Version, plane: Plane) -> FastJSONResponse:
    return FastJSONResponse(plane.v2_metadata(model, version))


async def v2_model_ready(model: str, version: Version, plane: Plane) -> FastJSONResponse:
    loaded = plane.model(model, version)
    return FastJSONResponse({"name": loaded.name, "version": str(loaded.version), "ready": True})


async def v2_infer(model: str, version: Version, request: Request, plane: Plane) -> Response:
    body, tail = split_body(await request.body(), request.headers.get(HEADER_LENGTH))
    header, binaries = await plane.v2_infer(model, version, body, tail)
    content, headers = encode_response(header, binaries)
    media = BINARY_CONTENT_TYPE if binaries else "application/json"
    return Response(content, media_type=media, headers=headers)


_PREFIX = "/v2/models"
add_model_route(
    router, "", v2_model_metadata, methods=["GET"], summary="Model metadata", prefix=_PREFIX
)
add_model_route(
    router, "/ready", v2_model_ready, methods=["GET"], summary="Model readiness", prefix=_PREFIX
)
add_model_route(
    router,
    "/infer",
    v2_infer,
    methods=["POST"],
    summary="Inference",
    prefix=_PREFIX,
    openapi_extra=INFER_BODY,
)
