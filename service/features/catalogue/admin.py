"""Administrative routes, behind the X-API-Key header (disabled when no key is set)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header

from service.dataplane.catalogue import loaded_versions
from service.errors import NotFound, Unauthorized
from service.http.deps import Plane
from service.openapi import errors
from service.responses import FastJSONResponse

router = APIRouter(tags=["admin"])


def check_api_key(plane: Plane, given: str | None) -> None:
    expected = plane.settings.api_key
    if expected is None:
        raise NotFound("administrative routes are disabled: no API key is configured")
    if given is None or not hmac.compare_digest(
        given.encode(), expected.get_secret_value().encode()
    ):
        raise Unauthorized("missing or wrong X-API-Key header")


@router.post(
    "/v1/admin/reload",
    summary="Rescan MODELS_DIR: load new versions, drop removed",
    responses=errors(401, 404),
)
async def reload_models(
    plane: Plane, x_api_key: Annotated[str | None, Header()] = None
) -> FastJSONResponse:
    check_api_key(plane, x_api_key)
    report = await plane.reload()
    return FastJSONResponse(
        {
            "loaded": report.loaded,
            "removed": report.removed,
            "failed": sorted(report.failed),
            "models": loaded_versions(plane),
        }
    )
