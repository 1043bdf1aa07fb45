"""The service's error hierarchy, the one place every error class lives.

``service.handlers.error_response`` (called by FastAPI's exception handlers and by the fast
lane alike) turns these into ``{"error": message, "code": code}`` with the status code
below; anything else is logged with its traceback and answered 500 with a generic message
(no internals in the body). The gRPC front door maps the same classes by status code.

    LayerlensError (500, internal)
    ├── BadRequest (400, bad_request)
    │   ├── InvalidInput (400, invalid_input)        shape, dtype, range, NaN/Inf, empty batch
    │   ├── InvalidImage (400, invalid_image)        undecodable or corrupt image bytes
    │   ├── MalformedJSON (400, malformed_json)      a body that is not JSON
    │   ├── InvalidHost (400, invalid_host)          a Host header not in allowed_hosts
    │   └── UnknownLayer (400, unknown_layer)
    ├── NotFound (404, not_found)
    │   ├── ModelNotFound (404, model_not_found)
    │   ├── VersionNotFound (404, version_not_found)
    │   ├── DatasetNotFound (404, dataset_not_found)
    │   ├── PredictionsNotFound (404, predictions_not_found)  no per-example test predictions
    │   ├── OodNotCalibrated (404, ood_not_calibrated)  no out-of-distribution calibration
    │   └── MapNotFound (404, map_not_found)         a t-SNE/UMAP map the version lacks
    ├── Unauthorized (401, unauthorized)
    ├── ForeignOrigin (403, foreign_origin)         a POST sent by another site's page
    ├── RequestTimeout (408, body_timeout)           a body not sent within body_timeout_s
    ├── PayloadTooLarge (413, payload_too_large)     body, batch, image pixels or memory, alphas
    ├── UnsupportedMediaType (415, unsupported_media_type)
    ├── UnusableImage (422, unusable_image)          an aspect ratio no fit can use
    ├── HeadersTooLarge (431, headers_too_large)     header bytes or count over the limits
    ├── ClientLeft (499, client_left)                the client left: recorded, never received
    ├── ModelNotReady (503, model_not_ready)
    ├── MetricsUnavailable (503, metrics_unavailable) the metrics database cannot be read
    └── Overloaded (503, overloaded)                 batch queue full; carries Retry-After
"""

from __future__ import annotations


class LayerlensError(Exception):
    status_code = 500
    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(LayerlensError):
    status_code = 400
    code = "bad_request"


class InvalidInput(BadRequest):
    code = "invalid_input"


class InvalidImage(BadRequest):
    code = "invalid_image"


class MalformedJSON(BadRequest):
    code = "malformed_json"


class InvalidHost(BadRequest):
    code = "invalid_host"


class UnknownLayer(BadRequest):
    code = "unknown_layer"


class NotFound(LayerlensError):
    status_code = 404
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class VersionNotFound(NotFound):
    code = "version_not_found"


class DatasetNotFound(NotFound):
    code = "dataset_not_found"


class PredictionsNotFound(NotFound):
    code = "predictions_not_found"


class OodNotCalibrated(NotFound):
    """A verdict asked of a version trained before its calibration existed; the message
    names the command that adds it (``layerlens-train train``, no retraining)."""

    code = "ood_not_calibrated"


class MapNotFound(NotFound):
    """A t-SNE or UMAP map the version was not fitted with; the message names the maps it
    has and the command that fits the ones its recipe opts in."""

    code = "map_not_found"


class Unauthorized(LayerlensError):
    status_code = 401
    code = "unauthorized"


class ForeignOrigin(LayerlensError):
    status_code = 403
    code = "foreign_origin"


class RequestTimeout(LayerlensError):
    status_code = 408
    code = "body_timeout"


class ClientLeft(LayerlensError):
    """The client disconnected, and the request stopped at its next stage
    (service.departures). 499 is the status nginx logs for it: no client receives it, the
    metrics and the access log count it."""

    status_code = 499
    code = "client_left"


class PayloadTooLarge(LayerlensError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(LayerlensError):
    status_code = 415
    code = "unsupported_media_type"


class UnusableImage(LayerlensError):
    """A well-formed image that no fit can turn into the model's input (a 1-pixel line)."""

    status_code = 422
    code = "unusable_image"


class HeadersTooLarge(LayerlensError):
    status_code = 431
    code = "headers_too_large"


class ModelNotReady(LayerlensError):
    status_code = 503
    code = "model_not_ready"


class MetricsUnavailable(LayerlensError):
    status_code = 503
    code = "metrics_unavailable"


class Overloaded(LayerlensError):
    status_code = 503
    code = "overloaded"

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}
