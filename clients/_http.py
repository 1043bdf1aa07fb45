"""The HTTP plumbing the sync and async clients share: requests as plain data, the retry
policy, and turning a response into JSON or an exception. No I/O happens here, so the two
clients differ only in how they send and sleep."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from clients.errors import (
    APIError,
    ConnectionFailed,
    ResponseError,
    error_for_status,
    message_from_body,
    retry_after_seconds,
)

DEFAULT_URL = "http://127.0.0.1:8000"
URL_ENV = "LAYERLENS_URL"
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_S = 0.25
MAX_BACKOFF_S = 8.0
RETRY_STATUS = 503
#: "Not now" from the service (503) or from a proxy in front of it (502, 504). Every route
#: is idempotent (inference is a pure function of the input), so a repeat is safe.
RETRY_STATUSES = frozenset({502, RETRY_STATUS, 504})
#: The connection failed or was reset (a replica killed, a proxy restarting). A read
#: timeout is not retried: the model may still be busy with the request.
RETRY_EXCEPTIONS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
)
#: Retries may add this share of the requests a client sends, plus a reserve to start with.
RETRY_BUDGET_RATIO = 0.1
RETRY_BUDGET_RESERVE = 10.0


def resolve_base_url(url: str | None) -> str:
    """The argument wins, then ``LAYERLENS_URL``, then the local default. The SDK cannot use
    ``core.settings`` (it ships without the server), so this is its one environment read."""
    chosen = url or os.environ.get(URL_ENV) or DEFAULT_URL
    return chosen.rstrip("/")


@dataclass(frozen=True)
class Request:
    """One HTTP call, described as data so one operation serves both clients."""

    method: Literal["GET", "POST"]
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    data: dict[str, str] | None = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    expect: Literal["json", "text", "status"] = "json"
    cacheable: bool = False

    def httpx_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"params": {k: v for k, v in self.params.items() if v is not None}}
        if self.json is not None:
            kwargs["json"] = self.json
        if self.files is not None:
            kwargs["files"] = self.files
        if self.data is not None:
            kwargs["data"] = self.data
        if self.content is not None:
            kwargs["content"] = self.content
        if self.headers:
            kwargs["headers"] = self.headers
        return kwargs


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = DEFAULT_RETRIES
    backoff_s: float = DEFAULT_BACKOFF_S

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Exponential backoff; a server's Retry-After is honoured up to the cap."""
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), MAX_BACKOFF_S)
            except ValueError:
                pass
        return min(self.backoff_s * (2**attempt), MAX_BACKOFF_S)

    def should_retry_status(self, request: Request, response: httpx.Response, attempt: int) -> bool:
        """502/503/504 mean "not now" (overloaded, model loading, a replica going away); a
        health check wants that answer itself."""
        return (
            response.status_code in RETRY_STATUSES
            and request.expect != "status"
            and attempt < self.retries
        )

    def should_retry_exception(self, exc: Exception, attempt: int) -> bool:
        return isinstance(exc, RETRY_EXCEPTIONS) and attempt < self.retries


@dataclass
class RetryBudget:
    """Retries may add at most a tenth of a client's requests (plus a small reserve), as
    gRPC's retry throttling and Finagle's retry budget do: when a service sheds load with
    503s, clients that retry every request three times would quadruple the very overload;
    with the budget they add a tenth, and the backlog drains."""

    ratio: float = RETRY_BUDGET_RATIO
    reserve: float = RETRY_BUDGET_RESERVE
    tokens: float = RETRY_BUDGET_RESERVE

    def sent(self) -> None:
        """A first attempt went out: it earns ``ratio`` of a retry."""
        self.tokens = min(self.reserve, self.tokens + self.ratio)

    def take(self) -> bool:
        """May one retry go out now? Spends it if so."""
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


@dataclass
class RetryStats:
    """What the retry policy did over a client's life, for callers that count (a load test,
    a dashboard): the SDK only adds to it. One client per thread keeps the counts exact."""

    requests: int = 0
    """First attempts sent (cached replies are not sent, so not counted)."""
    retries: int = 0
    """Attempts after the first: each followed a 502/503/504 or a failed or reset connection."""
    budget_denied: int = 0
    """Retries the policy allowed but the retry budget refused (the failure was raised)."""
    causes: dict[str, int] = field(default_factory=dict)
    """What each retry followed: a status (``"502"``) or an httpx error (``"ReadError"``)."""

    def retried(self, cause: str) -> None:
        self.retries += 1
        self.causes[cause] = self.causes.get(cause, 0) + 1


def read_response(request: Request, response: httpx.Response) -> Any:
    """The body of a successful response, or the server's error raised as an APIError.
    Health checks (``expect="status"``) answer False for 503 instead of raising."""
    if request.expect == "status" and response.status_code == RETRY_STATUS:
        return False
    if response.status_code >= 400:
        raise _api_error(response)
    if request.expect == "status":
        return True
    if request.expect == "text":
        return response.text
    try:
        return response.json()
    except ValueError as exc:
        raise ResponseError(
            f"{request.method} {request.path} answered {response.status_code} "
            f"with a body that is not JSON: {response.text[:200]!r}"
        ) from exc


def transport_failure(exc: Exception, url: str) -> ConnectionFailed:
    if isinstance(exc, httpx.TimeoutException):
        return ConnectionFailed(f"no answer from {url} in time ({type(exc).__name__})")
    return ConnectionFailed(f"cannot reach the layerlens service at {url}: {exc}")


def _api_error(response: httpx.Response) -> APIError:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    fallback = f"{response.reason_phrase or 'error'}: {str(body)[:200]}".rstrip(": ")
    message, code = message_from_body(body, fallback)
    return error_for_status(response.status_code)(
        response.status_code,
        message,
        code=code,
        body=body,
        retry_after_s=retry_after_seconds(response.headers.get("retry-after")),
    )
