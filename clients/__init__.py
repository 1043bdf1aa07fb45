"""The layerlens Python SDK (and, in ``clients.cli``, the ``layerlens`` command line).

    from clients import Client

    with Client("http://127.0.0.1:8000") as client:
        result = client.predict("digits", "mnist-test:1")
        print(result[0].label, result[0].probability)

Needs only httpx, numpy and Pillow: never the server's TensorFlow.
"""

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
from clients.results import (
    Agreement,
    CellExamples,
    DatasetExample,
    DatasetExamples,
    EmbeddingMap,
    Embeddings,
    Evaluation,
    ExplainResult,
    Explanation,
    ExplanationPath,
    Flip,
    InferResult,
    Interpolation,
    InterpolationPoint,
    LayerInfo,
    Metrics,
    ModelMetadata,
    ModelSummary,
    Neighbor,
    Neighborhood,
    NeighborsResult,
    NeighborVote,
    Prediction,
    PredictResult,
    Projected,
    Projection,
    TopK,
    Verdict,
    Weights,
)

__all__ = [
    "APIError",
    "Agreement",
    "AsyncClient",
    "BadRequestError",
    "CellExamples",
    "Client",
    "ConnectionFailed",
    "DatasetExample",
    "DatasetExamples",
    "DatasetRef",
    "EmbeddingMap",
    "Embeddings",
    "Evaluation",
    "ExplainResult",
    "Explanation",
    "ExplanationPath",
    "Flip",
    "HeadersTooLargeError",
    "InferResult",
    "InputError",
    "Interpolation",
    "InterpolationPoint",
    "LayerInfo",
    "LayerlensError",
    "Metrics",
    "ModelMetadata",
    "ModelSummary",
    "Neighbor",
    "NeighborVote",
    "Neighborhood",
    "NeighborsResult",
    "NotFoundError",
    "PayloadTooLargeError",
    "PredictResult",
    "Prediction",
    "Projected",
    "Projection",
    "RequestTimeoutError",
    "ResponseError",
    "RetryStats",
    "ServerError",
    "ServiceUnavailableError",
    "TopK",
    "UnauthorizedError",
    "UnprocessableContentError",
    "UnsupportedMediaTypeError",
    "Verdict",
    "Weights",
]
