"""Every route of the service and the client method that calls it. The paths are built
here and nowhere else; a test checks this table against the server's OpenAPI document,
so a new route without a client method fails the build."""

from __future__ import annotations

from urllib.parse import quote

#: (HTTP method, path template) -> Client method name. ``{}`` stands for any path parameter.
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/v1/models"): "models",
    ("GET", "/v1/models/{}"): "metadata",
    ("GET", "/v1/models/{}/versions/{}"): "metadata",
    ("POST", "/v1/models/{}:predict"): "predict",
    ("POST", "/v1/models/{}/versions/{}:predict"): "predict",
    ("POST", "/v1/models/{}:embed"): "embed",
    ("POST", "/v1/models/{}/versions/{}:embed"): "embed",
    ("POST", "/v1/models/{}:head"): "head",
    ("POST", "/v1/models/{}/versions/{}:head"): "head",
    ("POST", "/v1/models/{}:interpolate"): "interpolate",
    ("POST", "/v1/models/{}/versions/{}:interpolate"): "interpolate",
    ("POST", "/v1/models/{}:explain"): "explain",
    ("POST", "/v1/models/{}/versions/{}:explain"): "explain",
    ("POST", "/v1/models/{}:neighbors"): "neighbors",
    ("POST", "/v1/models/{}/versions/{}:neighbors"): "neighbors",
    ("GET", "/v1/models/{}/projection"): "projection",
    ("GET", "/v1/models/{}/versions/{}/projection"): "projection",
    ("GET", "/v1/models/{}/projection/points"): "embedding_map",
    ("GET", "/v1/models/{}/versions/{}/projection/points"): "embedding_map",
    ("POST", "/v1/models/{}:project"): "project",
    ("POST", "/v1/models/{}/versions/{}:project"): "project",
    ("GET", "/v1/models/{}/metrics"): "metrics",
    ("GET", "/v1/models/{}/versions/{}/metrics"): "metrics",
    ("GET", "/v1/models/{}/metrics/examples"): "cell_examples",
    ("GET", "/v1/models/{}/versions/{}/metrics/examples"): "cell_examples",
    ("GET", "/v1/models/{}/weights"): "weights",
    ("GET", "/v1/models/{}/versions/{}/weights"): "weights",
    ("GET", "/v1/datasets/{}"): "dataset_examples",
    ("GET", "/v1/datasets/{}/{}"): "dataset_example",
    ("POST", "/v1/admin/reload"): "reload",
    ("GET", "/v2"): "server_metadata",
    ("GET", "/v2/health/live"): "live",
    ("GET", "/v2/health/ready"): "ready",
    ("GET", "/v2/models/{}"): "model_metadata",
    ("GET", "/v2/models/{}/versions/{}"): "model_metadata",
    ("GET", "/v2/models/{}/ready"): "model_ready",
    ("GET", "/v2/models/{}/versions/{}/ready"): "model_ready",
    ("POST", "/v2/models/{}/infer"): "infer",
    ("POST", "/v2/models/{}/versions/{}/infer"): "infer",
    ("GET", "/metrics"): "prometheus_metrics",
}


def _seg(value: str | int) -> str:
    return quote(str(value), safe="")


def model_path(model: str, version: int | None = None, *, prefix: str = "/v1") -> str:
    """``/v1/models/digits`` or ``/v1/models/digits/versions/2``."""
    path = f"{prefix}/models/{_seg(model)}"
    return path if version is None else f"{path}/versions/{int(version)}"


def verb_path(model: str, version: int | None, verb: str) -> str:
    """TF Serving's ``...:predict`` style."""
    return f"{model_path(model, version)}:{verb}"


def dataset_path(dataset: str, index: int | None = None) -> str:
    """One example (``/v1/datasets/mnist-test/1``), or the route for runs of them."""
    path = f"/v1/datasets/{_seg(dataset)}"
    return path if index is None else f"{path}/{int(index)}"
