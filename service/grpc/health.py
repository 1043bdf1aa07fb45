"""The standard ``grpc.health.v1.Health`` service, following the service's readiness.

SERVING exactly when ``/v2/health/ready`` answers 200 (service.readiness): NOT_SERVING while
starting, draining or (strict readiness) while a version failed to load. ``Check`` works
the answer out at the moment it is asked; ``Watch`` streams see a change within
``REFRESH_S``. Both the overall status (service "") and the inference service's own are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer

from service.dataplane import DataPlane
from service.grpc.protocol import SERVICE_NAME

#: How often Watch streams are brought up to date.
REFRESH_S = 1.0
SERVICES = ("", SERVICE_NAME)


class ReadinessHealth(HealthServicer):
    def __init__(self, plane: DataPlane) -> None:
        super().__init__()
        self._plane = plane
        self._task: asyncio.Task[None] | None = None

    def status(self) -> int:
        ready = self._plane.readiness().ready
        return (
            health_pb2.HealthCheckResponse.SERVING
            if ready
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )

    async def refresh(self) -> None:
        status = self.status()
        for service in SERVICES:
            if self._server_status.get(service) != status:
                await self.set(service, status)

    async def Check(self, request: Any, context: Any) -> Any:  # noqa: N802 (the protocol's name)
        await self.refresh()
        return await super().Check(request, context)

    async def _refresh_forever(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(REFRESH_S)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._refresh_forever())

    async def stop(self) -> None:
        """NOT_SERVING for good (watchers are told), then stop refreshing."""
        await self.enter_graceful_shutdown()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
