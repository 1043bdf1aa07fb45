"""The service's errors as gRPC status codes, chosen by their HTTP status.

One vocabulary for both front doors: whatever answers 400 over REST is INVALID_ARGUMENT
here, with the same message. A client's mistake is never UNKNOWN or INTERNAL; only an
unexpected exception is INTERNAL (and is logged with its traceback by the servicer).
"""

from __future__ import annotations

import grpc

from service.errors import LayerlensError, Overloaded

BY_HTTP_STATUS: dict[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    408: grpc.StatusCode.DEADLINE_EXCEEDED,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    415: grpc.StatusCode.INVALID_ARGUMENT,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    431: grpc.StatusCode.RESOURCE_EXHAUSTED,
    499: grpc.StatusCode.CANCELLED,
    503: grpc.StatusCode.UNAVAILABLE,
}


def status_code(exc: LayerlensError) -> grpc.StatusCode:
    return BY_HTTP_STATUS.get(exc.status_code, grpc.StatusCode.INTERNAL)


def trailing_metadata(exc: LayerlensError) -> tuple[tuple[str, str], ...]:
    """A full queue says when to retry, as the REST answer's Retry-After does."""
    if isinstance(exc, Overloaded):
        return (("retry-after", str(exc.retry_after_s)),)
    return ()
