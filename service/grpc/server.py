"""The gRPC front door's server: built, started and stopped by the app's lifespan.

It runs on the app's own event loop in the same process, so it shares the data plane, the
batcher and the thread pool with the HTTP routes. Each uvicorn worker starts one; with
several workers they all bind ``grpc_port`` with SO_REUSEPORT and the kernel spreads new
connections over them (a gRPC channel is one long-lived connection, so a client spreads
its load over workers by opening several channels). With one worker SO_REUSEPORT stays
off, so a port already taken is an error at start-up rather than a silent split.

Shutdown: on SIGTERM (service.lifecycle) the server stops taking new calls at once and
gives the ones in flight ``graceful_timeout_s``; the lifespan waits for that before it
closes the models.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

from core.settings import Settings
from service.dataplane import DataPlane
from service.grpc.health import ReadinessHealth
from service.grpc.metrics import GrpcMetrics
from service.grpc.protocol import POOL, SERVICE_NAME
from service.grpc.servicer import InferenceServicer
from service.lifecycle import Lifecycle
from service.telemetry import Telemetry

logger = logging.getLogger(__name__)

HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name


@cache
def reflection_pool() -> descriptor_pool.DescriptorPool:
    """The protocol's pool plus the health and reflection services, for grpcurl & co."""
    for module in (health_pb2, reflection_pb2):
        POOL.Add(descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb))
    return POOL


def server_options(settings: Settings) -> list[tuple[str, int]]:
    return [
        # One request-size limit for both front doors; larger calls: RESOURCE_EXHAUSTED.
        ("grpc.max_receive_message_length", settings.max_body_bytes),
        ("grpc.max_send_message_length", -1),
        ("grpc.so_reuseport", 1 if settings.workers > 1 else 0),
    ]


class GenericHandlersOnly:
    """A server as the generated ``add_*_to_server`` functions see it: they register each
    service twice, as a generic handler and as registered methods, and only the generic
    one is kept.

    Why: with any registered method, grpc.aio keeps one pending task per registered method
    and runs an ``asyncio.wait`` over all of them for every call that arrives; profiled
    under load, that was 14% of a worker's Python time. Generic handlers are looked up by
    the method's path instead, and serve the same calls.
    """

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: tuple[grpc.GenericRpcHandler, ...]) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        """Dropped: the generic handler registered beside it serves these methods."""


class GrpcFrontDoor:
    def __init__(
        self,
        settings: Settings,
        *,
        plane: DataPlane,
        lifecycle: Lifecycle,
        telemetry: Telemetry,
    ) -> None:
        self.settings = settings
        self.lifecycle = lifecycle
        self.servicer = InferenceServicer(plane, GrpcMetrics(telemetry))
        self.health = ReadinessHealth(plane)
        self.server: grpc.aio.Server | None = None
        #: The bound port (``grpc_port`` 0 picks a free one).
        self.port: int | None = None
        self._stopping: asyncio.Task[None] | None = None

    async def start(self) -> None:
        server = grpc.aio.server(options=server_options(self.settings))
        generic = GenericHandlersOnly(server)
        generic.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE_NAME, self.servicer.handlers()),)
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, generic)
        reflection.enable_server_reflection(
            [SERVICE_NAME, HEALTH_SERVICE, reflection.SERVICE_NAME], generic, reflection_pool()
        )
        address = f"{self.settings.host}:{self.settings.grpc_port}"
        self.port = server.add_insecure_port(address)  # raises if it cannot bind
        await server.start()
        self.server = server
        self.health.start()
        loop = asyncio.get_running_loop()
        self.lifecycle.on_drain.append(lambda: loop.call_soon_threadsafe(self._begin_stop))
        logger.info("gRPC (Open Inference Protocol) on %s:%d", self.settings.host, self.port)

    def _begin_stop(self) -> None:
        if self._stopping is None and self.server is not None:
            self._stopping = asyncio.get_running_loop().create_task(self._stop(self.server))

    async def _stop(self, server: grpc.aio.Server) -> None:
        await self.health.stop()
        await server.stop(self.settings.graceful_timeout_s)
        logger.info("gRPC server stopped")

    async def stop(self) -> None:
        """Stop taking calls, let those in flight finish (up to the graceful timeout)."""
        self._begin_stop()
        if self._stopping is not None:
            await self._stopping
