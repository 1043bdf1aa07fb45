"""What the SDK raises. Every failure the server reports keeps its status, code and message,
so a caller can branch on ``status_code`` or ``code`` and show ``message`` as it is.

    LayerlensError
    ├── ConnectionFailed          the server could not be reached (after the retries)
    ├── InputError                an input the SDK cannot send (also a ValueError)
    ├── ResponseError             the server answered something that is not the API's JSON
    └── APIError                  the server answered an error status; carries its body
        ├── BadRequestError       400
        ├── UnauthorizedError     401, 403
        ├── NotFoundError         404
        ├── RequestTimeoutError   408 (the body did not arrive within the server's timeout)
        ├── PayloadTooLargeError  413
        ├── UnsupportedMediaTypeError 415
        ├── UnprocessableContentError 422 (e.g. an image no fit can use: a 1-pixel line)
        ├── HeadersTooLargeError  431
        ├── ServiceUnavailableError   503 (retried first)
        └── ServerError           other 5xx
"""

from __future__ import annotations

from typing import Any


class LayerlensError(Exception):
    """Base of every error the SDK raises."""


class ConnectionFailed(LayerlensError):
    """Raised when no HTTP answer came back, naming the URL so the user can check it."""


class InputError(LayerlensError, ValueError):
    """Raised before sending, when an input cannot be turned into a request; names the input."""


class ResponseError(LayerlensError):
    """Raised when a success status carries a body the SDK cannot read."""


class APIError(LayerlensError):
    """The server said no. ``message`` is the server's own words; ``retry_after_s`` its
    Retry-After (seconds), when it said when to come back."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | None = None,
        body: Any = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.code = code
        self.body = body
        self.retry_after_s = retry_after_s


class BadRequestError(APIError):
    pass


class UnauthorizedError(APIError):
    pass


class NotFoundError(APIError):
    pass


class RequestTimeoutError(APIError):
    """408: the request's body did not reach the server within its ``body_timeout_s``
    (a slow or stalled upload); the server closed the connection."""


class PayloadTooLargeError(APIError):
    pass


class UnsupportedMediaTypeError(APIError):
    pass


class UnprocessableContentError(APIError):
    """422: well-formed input the server cannot use (an image too elongated for any fit)."""


class HeadersTooLargeError(APIError):
    """431: the request's headers passed the server's limits on their size or count."""


class ServiceUnavailableError(APIError):
    pass


class ServerError(APIError):
    pass


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: UnauthorizedError,
    404: NotFoundError,
    408: RequestTimeoutError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: UnprocessableContentError,
    431: HeadersTooLargeError,
    503: ServiceUnavailableError,
}


def error_for_status(status_code: int) -> type[APIError]:
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    return ServerError if status_code >= 500 else APIError


def retry_after_seconds(header: str | None) -> float | None:
    """Retry-After in seconds (the form layerlens and its edge send); None when absent or
    an HTTP date."""
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        return None


def message_from_body(body: Any, fallback: str) -> tuple[str, str | None]:
    """(message, code) of the server's error body, ``{"error": ..., "code": ...}``; anything
    else (a proxy's page in front of the service, say) gets ``fallback`` and no code."""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        code = body.get("code")
        return body["error"], code if isinstance(code, str) else None
    return fallback, None
