"""``inference.GRPCInferenceService`` on grpc.aio: the six calls of the protocol.

``ModelInfer`` converts its message and runs the protocol's one ``infer`` sequence
(``service.protocol.infer``), the one REST runs: the same runtime, batcher, limits and
validation; nothing of an HTTP route is here. Errors leave as gRPC status codes chosen by
their HTTP status (service.grpc.status) with the same message; an unexpected exception is
logged with its traceback and answered INTERNAL. A call whose deadline has passed is not
started, and one whose deadline passes while it waits in the batch queue is taken out of the
queue: grpc cancels the handler's task at the deadline and ``DynamicBatcher.submit`` gives
the rows back when cancelled, so the model never computes an answer nobody reads (no timer
of our own per call: an ``asyncio.wait_for`` cost a task per call and changed nothing).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from service.dataplane import DataPlane
from service.errors import InvalidInput, LayerlensError, ModelNotReady, NotFound
from service.grpc import tensors
from service.grpc.metrics import GrpcMetrics
from service.grpc.protocol import METHODS, SERVICE_NAME, messages
from service.grpc.status import status_code, trailing_metadata
from service.protocol import infer as sequence
from service.protocol.metadata import model_metadata
from service.protocol.numbers import positive_version

logger = logging.getLogger(__name__)

SERVER_NAME = "layerlens"
SERVER_VERSION = "0.1.0"
#: Protocol extensions this front door implements (binary tensors are REST's; gRPC has raw).
EXTENSIONS: list[str] = []

Handler = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]


def parse_version(version: str) -> int | None:
    """``""`` is the default version; anything else must be a positive integer."""
    if not version:
        return None
    parsed = positive_version(version)
    if parsed is None:
        raise InvalidInput(f"version must be a positive integer, got {version[:40]!r}")
    return parsed


class InferenceServicer:
    def __init__(self, plane: DataPlane, metrics: GrpcMetrics) -> None:
        self.plane = plane
        self.metrics = metrics

    # --- the six calls ---------------------------------------------------------------
    async def ServerLive(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return messages.ServerLiveResponse(live=True)

    async def ServerReady(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return messages.ServerReadyResponse(ready=self.plane.readiness().ready)

    async def ModelReady(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        """ready=false for a model or version that is unknown or not loaded (as Triton)."""
        version = parse_version(request.version)
        try:
            self.plane.model(request.name, version)
        except (NotFound, ModelNotReady):
            return messages.ModelReadyResponse(ready=False)
        return messages.ModelReadyResponse(ready=True)

    async def ServerMetadata(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return messages.ServerMetadataResponse(
            name=SERVER_NAME, version=SERVER_VERSION, extensions=EXTENSIONS
        )

    async def ModelMetadata(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        body = model_metadata(self.plane, request.name, parse_version(request.version))
        response = messages.ModelMetadataResponse(
            name=body.name, versions=body.versions, platform=body.platform
        )
        for tensor in body.inputs:
            response.inputs.add(name=tensor.name, datatype=tensor.datatype, shape=tensor.shape)
        for tensor in body.outputs:
            response.outputs.add(name=tensor.name, datatype=tensor.datatype, shape=tensor.shape)
        return response

    async def ModelInfer(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        def before_run() -> None:
            remaining = context.time_remaining()
            if remaining is not None and remaining <= 0:
                raise DeadlinePassed()

        result = await sequence.infer(
            self.plane,
            request.model_name,
            parse_version(request.model_version),
            lambda: tensors.infer_request(request),
            before_run=before_run,
        )
        return tensors.infer_response(result)

    # --- plumbing ----------------------------------------------------------------------
    def handlers(self) -> dict[str, grpc.RpcMethodHandler]:
        """RPC name -> method handler, each wrapped with errors and metrics."""
        out = {}
        for name, (request_cls, response_cls) in METHODS.items():
            out[name] = grpc.unary_unary_rpc_method_handler(
                self._wrap(name, getattr(self, name)),
                request_deserializer=request_cls.FromString,
                response_serializer=response_cls.SerializeToString,
            )
        return out

    def _model_label(self, request: Any) -> str:
        """The model named by the request when it exists (bounded label values)."""
        name = getattr(request, "model_name", None) or getattr(request, "name", "")
        return name if name in self.plane.repository.snapshot.models else ""

    def _wrap(self, rpc: str, method: Handler) -> Handler:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            start = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                return await method(request, context)
            except LayerlensError as exc:
                code = status_code(exc)
                if code is grpc.StatusCode.INTERNAL:
                    logger.error("%s failed", rpc, exc_info=exc)
                context.set_trailing_metadata(trailing_metadata(exc))
                await context.abort(code, exc.message)
            except DeadlinePassed:
                code = grpc.StatusCode.DEADLINE_EXCEEDED
                await context.abort(code, "the deadline passed before the model ran")
            except asyncio.CancelledError:  # the client left, or its deadline passed
                remaining = context.time_remaining()
                expired = remaining is not None and remaining <= 0
                code = grpc.StatusCode.DEADLINE_EXCEEDED if expired else grpc.StatusCode.CANCELLED
                raise
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                code = grpc.StatusCode.INTERNAL
                logger.error("unhandled error in %s.%s", SERVICE_NAME, rpc, exc_info=exc)
                await context.abort(code, "internal error")
            finally:
                seconds = time.perf_counter() - start
                self.metrics.observe(rpc, self._model_label(request), code.name, seconds)

        call.__name__ = rpc
        return call


class DeadlinePassed(Exception):
    """The call's deadline passed before its answer was computed."""
