"""Every public method of the SDK, written once. Each method here builds its sans-I/O
operation (``clients.ops``); ``Client`` turns it into a blocking method and ``AsyncClient``
into a coroutine, both with this signature and docstring, so the two cannot drift apart."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Sequence
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Concatenate,
    Generic,
    ParamSpec,
    TypeVar,
    get_args,
    get_type_hints,
    overload,
)

import httpx

from clients._exchange import Exchange, Session
from clients._http import (
    DEFAULT_BACKOFF_S,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    RetryPolicy,
    RetryStats,
    resolve_base_url,
)
from clients.inputs import Fit, Scale
from clients.ops import embedding_map as embedding_map_op
from clients.ops import explain as explain_op
from clients.ops import interpolate as interpolate_op
from clients.ops import neighbors as neighbors_op
from clients.ops import projection as projection_op
from clients.ops import v1, v2
from clients.ops._batches import Op
from clients.ops.explain import Method, Output, Rule
from clients.ops.interpolate import Space
from clients.ops.neighbors import Metric, NeighborSpace
from clients.results import (
    CellExamples,
    DatasetExample,
    DatasetExamples,
    EmbeddingMap,
    Embeddings,
    ExplainResult,
    InferResult,
    Interpolation,
    Metrics,
    ModelMetadata,
    ModelSummary,
    NeighborsResult,
    PredictResult,
    Projected,
    Projection,
    Weights,
)

if TYPE_CHECKING:
    from clients._async_client import AsyncClient
    from clients._client import Client

P = ParamSpec("P")
R = TypeVar("R")
TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)
#: How a client class drives an operation builder: it returns the client's own method.
Driver = Callable[[Callable[..., Op[Any]]], Callable[..., Any]]


class Operation(Generic[P, R]):
    """A public method as the function that builds its operation. Each client class
    replaces it with a method of its own kind (see ``BaseClient.__init_subclass__``)."""

    def __init__(self, build: Callable[Concatenate[Any, P], Op[R]]) -> None:
        self.build = build

    def method_for(self, owner: type, drive: Driver) -> Callable[..., Any]:
        """``drive(build)`` dressed as the public method: the build's name, docstring and
        signature, returning what the operation returns rather than the operation."""
        hints = get_type_hints(self.build)
        result = get_args(hints["return"])[2]
        method = drive(self.build)
        method.__name__ = self.build.__name__
        method.__qualname__ = f"{owner.__qualname__}.{self.build.__name__}"
        method.__module__ = owner.__module__
        method.__doc__ = self.build.__doc__
        method.__annotations__ = {**hints, "return": result}
        signature = inspect.signature(self.build, eval_str=True)
        method.__signature__ = signature.replace(return_annotation=result)  # type: ignore[attr-defined]
        return method

    if TYPE_CHECKING:  # what each client's method looks like to a type checker

        @overload
        def __get__(self, client: None, owner: type[Any]) -> Operation[P, R]: ...
        @overload
        def __get__(
            self, client: AsyncClient, owner: type[Any]
        ) -> Callable[P, Coroutine[Any, Any, R]]: ...
        @overload
        def __get__(self, client: Client, owner: type[Any]) -> Callable[P, R]: ...
        def __get__(self, client: Any, owner: type[Any]) -> Any: ...


def operation(build: Callable[Concatenate[Any, P], Op[R]]) -> Operation[P, R]:
    return Operation(build)


class BaseClient(Generic[TransportT]):
    """What both clients share: the connection settings and the public methods. A subclass
    names its httpx client class and says how it drives an operation (``_drive``)."""

    _http_class: ClassVar[type[httpx.Client] | type[httpx.AsyncClient]]

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        retries: int = DEFAULT_RETRIES,
        backoff_s: float = DEFAULT_BACKOFF_S,
        headers: dict[str, str] | None = None,
        transport: TransportT | None = None,
    ) -> None:
        self.base_url = resolve_base_url(base_url)
        self._session = Session(self.base_url, RetryPolicy(retries, backoff_s), {})
        self._http = self._http_class(
            base_url=self.base_url, timeout=timeout, headers=headers, transport=transport
        )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Give the class its own method for every operation it does not already have (a
        subclass of ``Client`` keeps the methods it inherits and the ones it overrides)."""
        super().__init_subclass__(**kwargs)
        for name, value in vars(BaseClient).items():
            if isinstance(inspect.getattr_static(cls, name), Operation):
                setattr(cls, name, value.method_for(cls, cls._drive))

    @staticmethod
    def _drive(build: Callable[..., Op[Any]]) -> Callable[..., Any]:
        raise NotImplementedError("a client class says how it runs an operation")

    def _exchange(self, op: Op[R]) -> Exchange[R]:
        return self._session.exchange(op)

    @property
    def retry_stats(self) -> RetryStats:
        """Requests sent, retries made and retries the budget refused, so far (live counts)."""
        return self._session.stats

    # --- /v1 -------------------------------------------------------------------------
    @operation
    def models(self) -> Op[list[ModelSummary]]:
        """Every model the service holds, with its versions and class names."""
        return v1.models()

    @operation
    def training(self) -> Op[list[str]]:
        """The models a running trainer will still train (each is served once it lands)."""
        return v1.training()

    @operation
    def metadata(self, model: str, *, version: int | None = None) -> Op[ModelMetadata]:
        """One version's manifest (the default version unless given)."""
        return v1.metadata(model, version)

    @operation
    def predict(
        self,
        model: str,
        inputs: Any,
        *,
        version: int | None = None,
        top_k: int | None = None,
        logits: bool = False,
        scale: Scale | None = None,
        fit: Fit | None = None,
        ood: bool = False,
        ood_method: str | None = None,
    ) -> Op[PredictResult]:
        """Classify images (paths, bytes, PIL images), numbers (arrays, nested lists; one
        instance or a batch) or dataset examples (``"mnist-test:1"``), in order.
        ``scale="unit"``: numbers are in [0, 1] rather than the model's range; ``fit``: how
        the server fits images of another size (default: as the training data was made).
        ``ood=True`` (or an ``ood_method``: knn, mahalanobis, energy, msp) adds each
        prediction's out-of-distribution verdict (``Prediction.ood``)."""
        return v1.predict(
            model,
            inputs,
            version=version,
            top_k=top_k,
            logits=logits,
            scale=scale,
            fit=fit,
            ood=ood,
            ood_method=ood_method,
        )

    @operation
    def embed(
        self,
        model: str,
        inputs: Any,
        *,
        version: int | None = None,
        layer: str | None = None,
        scale: Scale | None = None,
        fit: Fit | None = None,
    ) -> Op[Embeddings]:
        """A layer's output per input (default: the embedding layer, the one ``head`` takes)."""
        return v1.embed(model, inputs, version=version, layer=layer, scale=scale, fit=fit)

    @operation
    def head(
        self,
        model: str,
        embeddings: Any,
        *,
        version: int | None = None,
        top_k: int | None = None,
        logits: bool = False,
    ) -> Op[PredictResult]:
        """Run only the layers after the embedding: ``head(embed(x))`` equals ``predict(x)``."""
        return v1.head(model, embeddings, version=version, top_k=top_k, logits=logits)

    @operation
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
        ood: bool = False,
        ood_method: str | None = None,
    ) -> Op[Interpolation]:
        """Classify ``alpha * a + (1 - alpha) * b`` for each alpha (``alphas``, or ``num``
        evenly spaced from ``start`` to ``stop``), mixing pixels or embeddings; ``ood=True``
        (or an ``ood_method``) adds each point's out-of-distribution verdict."""
        return interpolate_op.interpolate(
            model, a, b, version=version, space=space, alphas=alphas,
            start=start, stop=stop, num=num, layer=layer, ood=ood, ood_method=ood_method,
        )  # fmt: skip

    @operation
    def explain(
        self,
        model: str,
        inputs: Any,
        *,
        version: int | None = None,
        method: Method = "integrated-gradients",
        target: int | str | None = None,
        output: Output = "probability",
        layer: str | None = None,
        baseline: Any = None,
        steps: int | None = None,
        rule: Rule | None = None,
        samples: int | None = None,
        noise: float | None = None,
        seed: int | None = None,
        patch: int | None = None,
        stride: int | None = None,
    ) -> Op[ExplainResult]:
        """Which parts of each input moved the model towards ``target`` (default: the
        predicted class), as a signed array in the input's shape (the layer's width with
        ``layer``). Inputs as for ``predict``. ``baseline``: ``"black"``, ``"blur"``,
        ``"mean"``, ``"noise"`` or one input. Options left as None take the service's
        defaults (docs/explain.md): ``steps``/``rule`` for integrated gradients,
        ``samples``/``noise``/``seed`` for smoothgrad, ``patch``/``stride`` for occlusion.
        The service bounds a request's cost (inputs times path points): beyond it, 413."""
        return explain_op.explain(
            model, inputs, version=version, method=method, target=target, output=output,
            layer=layer, baseline=baseline, steps=steps, rule=rule, samples=samples,
            noise=noise, seed=seed, patch=patch, stride=stride,
        )  # fmt: skip

    @operation
    def neighbors(
        self,
        model: str,
        inputs: Any,
        *,
        version: int | None = None,
        k: int | None = None,
        dataset: str | None = None,
        space: NeighborSpace | None = None,
        layer: str | None = None,
        metric: Metric | None = None,
    ) -> Op[NeighborsResult]:
        """The ``k`` nearest examples of a dataset split to each input (default: 8 from the
        model's train split), their vote and whether it agrees with the prediction: the
        training data behind an answer. ``space="pixel"`` compares raw inputs rather than
        the model's embeddings; ``layer`` compares another layer's activations where the
        model indexed it; ``metric="cosine"`` measures ``1 - cos``. Inputs as for
        ``explain``. Options left as None take the service's defaults (docs/explain.md)."""
        return neighbors_op.neighbors(
            model, inputs, version=version, k=k, dataset=dataset, space=space, layer=layer,
            metric=metric,
        )  # fmt: skip

    @operation
    def embedding_map(
        self,
        model: str,
        *,
        num: int = embedding_map_op.DEFAULT_MAP_SIZE,
        seed: int = 0,
        version: int | None = None,
        method: str | None = None,
        layer: str | None = None,
        ood: bool = False,
    ) -> Op[EmbeddingMap]:
        """``num`` examples of the model's test split (drawn by ``seed``, in index order) on
        the service's 2-D map of ``layer`` (default: the embedding) by ``method`` (``pca``,
        the default, ``tsne`` or ``umap`` where the trainer fitted one), with their true and
        predicted classes: the points the page's Map view draws for the same arguments.
        ``ood``: each point's out-of-distribution verdict too (``EmbeddingMap.outside``)."""
        return embedding_map_op.embedding_map(
            model, num=num, seed=seed, version=version, method=method, layer=layer, ood=ood
        )

    @operation
    def projection(
        self,
        model: str,
        *,
        version: int | None = None,
        method: str | None = None,
        layer: str | None = None,
    ) -> Op[Projection]:
        """The service's 2-D map of ``layer`` by ``method``: for PCA its mean and components
        (``.apply(vectors)`` places vectors on it); for t-SNE and UMAP how it places inputs;
        ``.maps`` lists every map the version has."""
        return projection_op.projection(model, version, method=method, layer=layer)

    @operation
    def project(
        self,
        model: str,
        inputs: Any,
        *,
        version: int | None = None,
        method: str | None = None,
        layer: str | None = None,
    ) -> Op[Projected]:
        """Where inputs land on the map (``.coords``, (N, 2)): the service runs them to the
        layer and places them (PCA's axes, or among the nearest t-SNE/UMAP map examples).
        Inputs as for ``neighbors``."""
        return projection_op.project(model, inputs, version=version, method=method, layer=layer)

    @operation
    def metrics(
        self, model: str, *, version: int | None = None, kind: str | None = None
    ) -> Op[Metrics]:
        """The stored evaluations (test, train, validation, history, cross-dataset, sweep,
        agreement, robustness)."""
        return v1.metrics(model, version=version, kind=kind)

    @operation
    def cell_examples(
        self,
        model: str,
        true: int,
        predicted: int,
        *,
        version: int | None = None,
        start: int = 0,
        num: int = 48,
        instances: bool = False,
    ) -> Op[CellExamples]:
        """The test examples of class ``true`` predicted as ``predicted`` (one cell of the
        stored confusion matrix), ``num`` (up to 500) from the ``start``-th, with the
        cell's ``total``; ``instances=True`` adds their inputs. The service stores them
        when it evaluates a version."""
        return v1.cell_examples(
            model, true, predicted, version=version, start=start, num=num, instances=instances
        )

    @operation
    def weights(
        self, model: str, *, version: int | None = None, layer: str | None = None
    ) -> Op[Weights]:
        """A Dense layer's kernel (default: the first one)."""
        return v1.weights(model, version=version, layer=layer)

    @operation
    def dataset_example(self, dataset: str, index: int) -> Op[DatasetExample]:
        """One example of a dataset the service holds, e.g. ``("mnist-test", 1)``."""
        return v1.dataset_example(dataset, index)

    @operation
    def dataset_examples(
        self, dataset: str, *, start: int = 0, num: int = 100
    ) -> Op[DatasetExamples]:
        """Examples ``start`` to ``start + num - 1`` with their labels (fewer where the split
        ends), fetched in pages of up to 256 per request."""
        return v1.dataset_examples(dataset, start=start, num=num)

    @operation
    def reload(self, api_key: str | None = None) -> Op[dict[str, Any]]:
        """Ask the service to rescan its model repository (needs the admin API key)."""
        return v1.reload(api_key)

    @operation
    def prometheus_metrics(self) -> Op[str]:
        """The service's own counters, in Prometheus text format."""
        return v1.prometheus_metrics()

    # --- /v2: the Open Inference Protocol ----------------------------------------------
    @operation
    def server_metadata(self) -> Op[dict[str, Any]]:
        return v2.server_metadata()

    @operation
    def live(self) -> Op[bool]:
        return v2.live()

    @operation
    def ready(self) -> Op[bool]:
        return v2.ready()

    @operation
    def model_metadata(self, model: str, *, version: int | None = None) -> Op[dict[str, Any]]:
        return v2.model_metadata(model, version)

    @operation
    def model_ready(self, model: str, *, version: int | None = None) -> Op[bool]:
        return v2.model_ready(model, version)

    @operation
    def infer(
        self,
        model: str,
        inputs: Any,
        *,
        version: int | None = None,
        outputs: list[str] | None = None,
        request_id: str | None = None,
    ) -> Op[InferResult]:
        """V2 inference: ``{name: array}``, or one array for the model's first input."""
        return v2.infer(model, inputs, version=version, outputs=outputs, request_id=request_id)
