"""The blocking client: drives the shared operations over an ``httpx.Client``."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

import httpx

from clients._http import (
    DEFAULT_BACKOFF_S,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    Request,
    RetryPolicy,
    read_response,
    resolve_base_url,
    transport_failure,
)
from clients.ops import embedding_map as embedding_map_op
from clients.ops import interpolate as interpolate_op
from clients.ops import v1, v2
from clients.ops._batches import Op
from clients.results import (
    DatasetExample,
    DatasetExamples,
    EmbeddingMap,
    Embeddings,
    InferResult,
    Interpolation,
    Metrics,
    ModelMetadata,
    ModelSummary,
    PredictResult,
    Weights,
)

Space = Literal["pixel", "embedding"]
Fit = Literal["auto", "none", "mnist-centre", "pad-resize"]


class Client:
    """A layerlens service, one method per route.

    ``Client()`` talks to ``LAYERLENS_URL`` (default http://127.0.0.1:8000). Connection
    errors and 503 answers are retried with exponential backoff; every other failure raises
    a ``clients.errors`` exception carrying the server's message and status.
    Use it as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        retries: int = DEFAULT_RETRIES,
        backoff_s: float = DEFAULT_BACKOFF_S,
        headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = resolve_base_url(base_url)
        self._retry = RetryPolicy(retries=retries, backoff_s=backoff_s)
        self._cache: dict[str, Any] = {}
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, headers=headers, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- the driver ------------------------------------------------------------------
    def _run(self, op: Op) -> Any:
        try:
            request = next(op)
            while True:
                request = op.send(self._send(request))
        except StopIteration as stop:
            return stop.value

    def _send(self, request: Request) -> Any:
        if request.cacheable and request.path in self._cache:
            return self._cache[request.path]
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    request.method, request.path, **request.httpx_kwargs()
                )
            except httpx.TransportError as exc:
                if not self._retry.should_retry_exception(exc, attempt):
                    raise transport_failure(exc, self.base_url + request.path) from exc
                time.sleep(self._retry.delay(attempt))
            else:
                if not self._retry.should_retry_status(request, response, attempt):
                    break
                time.sleep(self._retry.delay(attempt, response.headers.get("Retry-After")))
            attempt += 1
        reply = read_response(request, response)
        if request.cacheable:
            self._cache[request.path] = reply
        return reply

    # --- /v1 -------------------------------------------------------------------------
    def models(self) -> list[ModelSummary]:
        """Every model the service holds, with its versions and class names."""
        return self._run(v1.models())

    def training(self) -> list[str]:
        """The models a running trainer will still train (each is served once it lands)."""
        return self._run(v1.training())

    def metadata(self, model: str, *, version: int | None = None) -> ModelMetadata:
        """One version's manifest (the default version unless given)."""
        return self._run(v1.metadata(model, version))

    def predict(
        self,
        model: str,
        inputs: Any,
        *,
        version: int | None = None,
        top_k: int | None = None,
        logits: bool = False,
        scale: Literal["raw", "unit"] | None = None,
        fit: Fit | None = None,
    ) -> PredictResult:
        """Classify images (paths, bytes, PIL images), numbers (arrays, nested lists; one
        instance or a batch) or dataset examples (``"mnist-test:1"``), in order.
        ``scale="unit"``: numbers are in [0, 1] rather than the model's range; ``fit``: how
        the server fits images of another size (default: as the training data was made)."""
        return self._run(
            v1.predict(
                model, inputs, version=version, top_k=top_k, logits=logits, scale=scale, fit=fit
            )
        )

    def embed(
        self,
        model: str,
        inputs: Any,
        *,
        version: int | None = None,
        layer: str | None = None,
        scale: Literal["raw", "unit"] | None = None,
        fit: Fit | None = None,
    ) -> Embeddings:
        """A layer's output per input (default: the embedding layer, the one ``head`` takes)."""
        return self._run(
            v1.embed(model, inputs, version=version, layer=layer, scale=scale, fit=fit)
        )

    def head(
        self,
        model: str,
        embeddings: Any,
        *,
        version: int | None = None,
        top_k: int | None = None,
        logits: bool = False,
    ) -> PredictResult:
        """Run only the layers after the embedding: ``head(embed(x))`` equals ``predict(x)``."""
        return self._run(v1.head(model, embeddings, version=version, top_k=top_k, logits=logits))

    def interpolate(
        self,
        model: str,
        a: Any,
        b: Any,
        *,
        space: Space = "pixel",
        start: float = 0.0,
        stop: float = 1.0,
        num: int = 100,
        alphas: Sequence[float] | None = None,
        layer: str | None = None,
        version: int | None = None,
    ) -> Interpolation:
        """Classify ``alpha * a + (1 - alpha) * b`` for each alpha (``alphas``, or ``num``
        evenly spaced from ``start`` to ``stop``), mixing pixels or embeddings."""
        op = interpolate_op.interpolate(
            model, a, b, version=version, space=space, alphas=alphas,
            start=start, stop=stop, num=num, layer=layer,
        )  # fmt: skip
        return self._run(op)

    def embedding_map(
        self,
        model: str,
        dataset: str | None = None,
        *,
        num: int = embedding_map_op.DEFAULT_MAP_SIZE,
        start: int = 0,
        layer: str | None = None,
        version: int | None = None,
    ) -> EmbeddingMap:
        """Embeddings of dataset examples ``start .. start + num - 1`` with their true
        classes (default: the test split of the model's own data); ``.project()`` maps
        them to 2-D."""
        op = embedding_map_op.embedding_map(
            model, dataset, num=num, start=start, version=version, layer=layer
        )
        return self._run(op)

    def metrics(
        self, model: str, *, version: int | None = None, kind: str | None = None
    ) -> Metrics:
        """The stored evaluations (test, train, validation, history, cross-dataset, sweep)."""
        return self._run(v1.metrics(model, version=version, kind=kind))

    def weights(
        self, model: str, *, version: int | None = None, layer: str | None = None
    ) -> Weights:
        """A Dense layer's kernel (default: the first one)."""
        return self._run(v1.weights(model, version=version, layer=layer))

    def dataset_example(self, dataset: str, index: int) -> DatasetExample:
        """One example of a dataset the service holds, e.g. ``("mnist-test", 1)``."""
        return self._run(v1.dataset_example(dataset, index))

    def dataset_examples(self, dataset: str, *, start: int = 0, num: int = 100) -> DatasetExamples:
        """Examples ``start`` to ``start + num - 1`` with their labels (fewer where the split
        ends), fetched in pages of up to 256 per request."""
        return self._run(v1.dataset_examples(dataset, start=start, num=num))

    def reload(self, api_key: str | None = None) -> dict[str, Any]:
        """Ask the service to rescan its model repository (needs the admin API key)."""
        return self._run(v1.reload(api_key))

    def prometheus_metrics(self) -> str:
        """The service's own counters, in Prometheus text format."""
        return self._run(v1.prometheus_metrics())

    # --- /v2: the Open Inference Protocol ----------------------------------------------
    def server_metadata(self) -> dict[str, Any]:
        return self._run(v2.server_metadata())

    def live(self) -> bool:
        return self._run(v2.live())

    def ready(self) -> bool:
        return self._run(v2.ready())

    def model_metadata(self, model: str, *, version: int | None = None) -> dict[str, Any]:
        return self._run(v2.model_metadata(model, version))

    def model_ready(self, model: str, *, version: int | None = None) -> bool:
        return self._run(v2.model_ready(model, version))

    def infer(
        self,
        model: str,
        inputs: Any,
        *,
        version: int | None = None,
        outputs: list[str] | None = None,
        request_id: str | None = None,
    ) -> InferResult:
        """V2 inference: ``{name: array}``, or one array for the model's first input."""
        op = v2.infer(model, inputs, version=version, outputs=outputs, request_id=request_id)
        return self._run(op)


__all__ = ["Client"]
