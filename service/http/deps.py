"""Dependencies shared by the routes, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParameter
from starlette.convertors import StringConvertor, register_url_convertor

from core.manifest import MODEL_NAME_PATTERN
from service import openapi
from service.dataplane import DataPlane
from service.errors import InvalidInput
from service.openapi import MODEL_ERRORS
from service.protocol.numbers import positive_version

VERSION_PARAMETER = {
    "name": "version",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "examples": [1]},
    "description": "Model version (an integer); without it, the highest version answers.",
}


class ModelNameConvertor(StringConvertor):
    """``{model:model}`` matches valid model names only, so ``/v1/models/x:nope`` is a 404
    rather than a GET-only route answering 405."""

    regex = MODEL_NAME_PATTERN.strip("^$")


register_url_convertor("model", ModelNameConvertor())


# Both dependencies are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency
# in the thread pool, and two thread hand-offs per request cost more than the request.
async def get_dataplane(request: Request) -> DataPlane:
    return request.app.state.dataplane


async def path_version(request: Request) -> int | None:
    """The ``{version}`` path segment when the route has one; ``None`` means the default."""
    raw = request.path_params.get("version")
    if raw is None:
        return None
    version = positive_version(raw)
    if version is None:
        raise InvalidInput(f"version must be a positive integer, got {raw[:40]!r}")
    return version


Plane = Annotated[DataPlane, Depends(get_dataplane)]
Version = Annotated[int | None, Depends(path_version)]
#: The ``{model}`` path segment; the examples are the four tasks' default models.
ModelName = Annotated[
    str,
    PathParameter(
        pattern=MODEL_NAME_PATTERN,
        examples=["digits", "fashion", "xor", "sklearn-digits"],
        description="A loaded model (GET /v1/models lists them).",
    ),
]

#: Whether an answer carries the out-of-distribution verdict, per row (a prediction, a
#: map point): the ``ood`` answer field that ``service.features.ood`` registers.
Ood = Annotated[
    bool,
    Query(
        description="Add 'ood' to each prediction (each map point): the out-of-distribution "
        "verdict {score, threshold, verdict: 'in'|'out', method} (docs/ood.md)."
    ),
]
OodMethod = Annotated[
    str | None,
    Query(
        description="The verdict's method: knn, mahalanobis, energy or msp (default: the "
        "version's, chosen by the trainer); giving one implies ood=true."
    ),
]


def add_model_route(
    router: APIRouter,
    suffix: str,
    endpoint: Callable[..., Any],
    *,
    methods: list[str],
    summary: str,
    prefix: str = "/v1/models",
    openapi_extra: dict[str, Any] | None = None,
    errors: tuple[int, ...] = MODEL_ERRORS,
    **options: Any,
) -> None:
    """Register ``endpoint`` at ``{prefix}/{model}{suffix}`` and the versioned path.

    ``errors``: the error statuses it can answer besides 200 (documented in OpenAPI)."""
    options["responses"] = {**openapi.errors(*errors), **options.get("responses", {})}
    router.add_api_route(
        f"{prefix}/{{model:model}}{suffix}",
        endpoint,
        methods=methods,
        summary=summary,
        openapi_extra=openapi_extra,
        **options,
    )
    versioned = dict(openapi_extra or {})
    versioned["parameters"] = [*versioned.get("parameters", []), VERSION_PARAMETER]
    router.add_api_route(
        f"{prefix}/{{model:model}}/versions/{{version}}{suffix}",
        endpoint,
        methods=methods,
        summary=f"{summary} (one version)",
        openapi_extra=versioned,
        operation_id=f"{endpoint.__name__}_version",
        **options,
    )
