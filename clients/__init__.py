"""The layerlens Python SDK (and, in ``clients.cli``, the ``layerlens`` command line).

    from clients import Client

    with Client("http://127.0.0.1:8000") as client:
        result = client.predict("digits", "mnist-test:1")
        print(result[0].label, result[0].probability)

Needs only httpx, numpy and Pillow: never the server's TensorFlow.
"""

from clients import results
from clients._async_client import AsyncClient
from clients._client import Client
from clients._http import RetryStats
from clients.errors import (
    APIError,
    BadRequestError,
    ConnectionFailed,
    HeadersTooLargeError,
    InputError,
    LayerlensError,
    NotFoundError,
    PayloadTooLargeError,
    RequestTimeoutError,
    ResponseError,
    ServerError,
    ServiceUnavailableError,
    UnauthorizedError,
    UnprocessableContentError,
    UnsupportedMediaTypeError,
)
from clients.inputs import DatasetRef
from clients.results import *  # noqa: F403  (the result types: listed once, in clients.results)

__all__ = [
    "APIError",
    "AsyncClient",
    "BadRequestError",
    "Client",
    "ConnectionFailed",
    "DatasetRef",
    "HeadersTooLargeError",
    "InputError",
    "LayerlensError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RequestTimeoutError",
    "ResponseError",
    "RetryStats",
    "ServerError",
    "ServiceUnavailableError",
    "UnauthorizedError",
    "UnprocessableContentError",
    "UnsupportedMediaTypeError",
]
__all__ += results.__all__
