"""Exception handlers: every error leaves as ``{"error": message, "code": code}``.

LayerlensError carries its status; FastAPI's validation errors become a 400 that names
the field; Starlette's 404/405 keep their status in the same shape; anything else is
logged with its traceback and answered with a generic 500 (no internals in the body).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import InvalidInput, LayerlensError
from service.responses import FastJSONResponse

logger = logging.getLogger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
_WHERE = {
    "query": "query parameter",
    "path": "path parameter",
    "body": "body field",
    "parameter": "parameter",
}
M = TypeVar("M", bound=BaseModel)


def error_response(exc: Exception, method: str, path: str) -> FastJSONResponse:
    """The one renderer of errors, for FastAPI's handlers and the fast lane alike.

    A LayerlensError answers with its own status, code and headers (5xx ones are logged);
    anything else is logged with its traceback and answered with a body that says nothing
    about internals.
    """
    if isinstance(exc, LayerlensError):
        if exc.status_code >= 500:
            # one line per kind of 5xx a minute, with a count (service.logs.RepeatLimit)
            logger.warning("%s %s: %s", method, path, exc.message, extra={"repeat_key": exc.code})
        return _json_error(exc.status_code, exc.message, exc.code, exc.headers())
    logger.error("unhandled error on %s %s", method, path, exc_info=exc)
    return _json_error(500, "internal error", "internal")


def _json_error(
    status: int, message: str, code: str, headers: dict[str, str] | None = None
) -> FastJSONResponse:
    return FastJSONResponse({"error": message, "code": code}, status_code=status, headers=headers)


def describe_validation_errors(errors: Sequence[Any]) -> str:
    """``[{"loc": ("query", "top_k"), "msg": ...}]`` -> ``"query parameter top_k: ..."``."""
    parts = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ())]
        if error.get("type") == "json_invalid":
            parts.append(f"malformed JSON body: {error.get('msg', '')}".rstrip(": "))
            continue
        if loc and loc[0] in _WHERE:
            field = ".".join(loc[1:]) or "(the body)"
            parts.append(f"{_WHERE[loc[0]]} {field}: {error.get('msg', 'invalid')}")
        else:
            parts.append(f"{'.'.join(loc) or 'request'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def validated(model: type[M], raw: object, *, where: str = "body") -> M:
    """``model.model_validate(raw)``; its errors a 400 worded as FastAPI's own for a body
    (``where="body"``) or for the Open Inference Protocol's request ``parameters``."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": (where, *e["loc"])} for e in exc.errors()]
        raise InvalidInput(describe_validation_errors(errors)) from None


async def _render(request: Request, exc: Exception) -> FastJSONResponse:
    return error_response(exc, request.method, request.url.path)


async def _validation_error(request: Request, exc: Exception) -> FastJSONResponse:
    if not isinstance(exc, RequestValidationError):  # registered for that class only
        return error_response(exc, request.method, request.url.path)
    errors = exc.errors()
    code = "malformed_json" if any(e.get("type") == "json_invalid" for e in errors) else None
    return _json_error(400, describe_validation_errors(errors), code or "invalid_input")


async def _http_error(request: Request, exc: Exception) -> FastJSONResponse:
    if not isinstance(exc, StarletteHTTPException):  # registered for that class only
        return error_response(exc, request.method, request.url.path)
    status = exc.status_code
    if status == 404 and exc.detail == "Not Found":
        message = f"no route {request.method} {request.url.path}"
    elif status == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    code = _HTTP_CODES.get(status, "http_error")
    return _json_error(status, message, code, dict(exc.headers or {}))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LayerlensError, _render)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _render)
