"""Prometheus scrape endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from service.telemetry import CONTENT_TYPE_LATEST

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics (of the worker that answers)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def prometheus_metrics(request: Request) -> Response:
    return Response(request.app.state.telemetry.render(), media_type=CONTENT_TYPE_LATEST)
