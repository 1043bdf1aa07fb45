"""Open Inference Protocol (KServe V2) REST routes: what tritonclient and kserve call.

The server's own metadata and health are here; model metadata and ``infer`` are
``service.protocol``'s, which gRPC shares."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from service.errors import ModelNotReady
from service.http.deps import ModelName, Plane, Version, add_model_route
from service.openapi import MODEL_ERRORS, errors
from service.protocol import rest
from service.protocol.metadata import model_metadata
from service.protocol.v2_binary import BINARY_CONTENT_TYPE, HEADER_LENGTH
from service.responses import FastJSONResponse

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


@router.get(
    "/v2/health/ready",
    summary="Readiness: every model loaded and warm, not draining",
    responses=errors(503),
)
async def ready(plane: Plane) -> FastJSONResponse:
    readiness = plane.readiness()
    if not readiness.ready:
        raise ModelNotReady(readiness.reason)
    return FastJSONResponse({"ready": True})


async def v2_model_metadata(model: ModelName, version: Version, plane: Plane) -> FastJSONResponse:
    return FastJSONResponse(model_metadata(plane, model, version))


async def v2_model_ready(model: ModelName, version: Version, plane: Plane) -> FastJSONResponse:
    loaded = plane.model(model, version)
    return FastJSONResponse({"name": loaded.name, "version": str(loaded.version), "ready": True})


async def v2_infer(model: ModelName, version: Version, request: Request, plane: Plane) -> Response:
    body, header_length = await request.body(), request.headers.get(HEADER_LENGTH)
    return (await rest.infer(plane, model, version, body, header_length)).response()


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
    errors=(*MODEL_ERRORS, 413),
    responses={
        200: {
            "description": "JSON, or JSON followed by binary outputs (binary-data extension)",
            "content": {"application/json": {}, BINARY_CONTENT_TYPE: {}},
        }
    },
)
