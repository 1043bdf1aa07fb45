"""The OpenAPI document, made to tell the truth about what the service answers.

Routes declare their error statuses with :func:`errors` (one schema, ``ErrorBody``, for
every one of them). FastAPI would also document a 422 for every route with parameters,
which this service never sends (validation errors are 400s in the ``ErrorBody`` shape), so
:func:`install_openapi` removes it (the 422 of an unusable image, declared with
:func:`errors`, stays); request-body schemas made from pydantic models keep their nested
definitions in ``components.schemas`` (:func:`body_schema`), so no reference dangles.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from service.admission import ALWAYS_ANSWERED
from service.schemas import ErrorBody

#: Why each error status is sent, as /docs shows it.
_REASONS = {
    400: "Bad input: the message names the field, shape, value or parameter",
    401: "Missing or wrong X-API-Key",
    404: "Unknown model, version, dataset or route",
    413: "Too large: body, batch, image pixels or alphas over their limits",
    415: "Unsupported content type",
    422: "An uploaded image no fit can use: fitted to the input it would be under one pixel thick",
    503: "Not ready, overloaded (with Retry-After) or the metrics database unavailable",
}
#: Nested definitions of request-body models, added to ``components.schemas``.
_COMPONENTS: dict[str, Any] = {}
_REF_TEMPLATE = "#/components/schemas/{model}"
#: How FastAPI describes the validation 422 it documents on its own.
_FASTAPI_422 = "Validation Error"

#: Every route on a model: the version segment (400), an unknown model or version (404),
#: a version that failed to load or a pinned default not loaded (503).
MODEL_ERRORS = (400, 404, 503)
#: Inference routes add the size limits, content types, unusable images and the batch
#: queue's 503.
INFERENCE_ERRORS = (*MODEL_ERRORS, 413, 415, 422)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """FastAPI ``responses`` for these error statuses, each in the ``ErrorBody`` shape."""
    return {status: {"model": ErrorBody, "description": _REASONS[status]} for status in statuses}


def _error_response(status: int) -> dict[str, Any]:
    """``errors(status)`` as it reads in the document (FastAPI renders ``model`` there)."""
    return {
        "description": _REASONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its definitions moved to ``components.schemas``."""
    schema = model.model_json_schema(ref_template=_REF_TEMPLATE)
    _COMPONENTS.update(schema.pop("$defs", {}))
    return schema


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            overloaded = _error_response(503)
            for path, operations in document.get("paths", {}).items():
                for operation in operations.values():
                    responses = operation.setdefault("responses", {})
                    if responses.get("422", {}).get("description") == _FASTAPI_422:
                        responses.pop("422")
                    if path not in ALWAYS_ANSWERED:  # service.admission may shed any other
                        responses.setdefault("503", overloaded)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            schemas.update(_COMPONENTS)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
