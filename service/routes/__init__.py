"""HTTP routes: thin handlers that read the request and hand over to the data plane."""

from fastapi import APIRouter

from service.routes import (
    admin,
    datasets,
    explain,
    inference,
    interpolate,
    models,
    ops,
    projection,
    v2,
)

ROUTERS: tuple[APIRouter, ...] = (
    models.router,
    inference.router,
    interpolate.router,
    explain.router,
    projection.router,
    datasets.router,
    admin.router,
    v2.router,
    ops.router,
)

__all__ = ["ROUTERS"]
