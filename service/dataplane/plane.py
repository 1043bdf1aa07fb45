"""The data plane: the one place between the front doors and the runtime.

Front doors (the HTTP adapters in ``service.adapters``, the FastAPI routes, the gRPC
servicer) hand it decoded requests; it looks the model up in the current snapshot, decodes
payloads with the codecs, runs the SavedModel endpoints through their runners at the
tensor level, and answers the questions every front door asks (readiness, the catalogue,
stored evaluations, dataset examples).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import numpy as np
from sqlalchemy.engine import Engine

from core.db import UnknownEvaluationKind, check_kind
from core.manifest import (
    EMBEDDING_LAYER,
    ENDPOINT_EMBED,
    ENDPOINT_HEAD,
    ENDPOINT_LAYERS,
    ENDPOINT_PREDICT,
    PROBABILITIES_LAYER,
)
from core.settings import Settings
from core.training_status import read_status
from service import codecs
from service.codecs.validate import check_batch_size
from service.dataplane import explanations, nearest, projection
from service.dataplane import inference_v2 as v2
from service.dataplane.cells import cell_answer, cell_instances, check_cell_query
from service.dataplane.datasets import dataset_example, dataset_examples
from service.dataplane.evaluations import EvaluationReader, read_cell
from service.dataplane.inputs import INLINE_DECODE_BYTES, Payload, decode_payload
from service.dataplane.interpolation import mix, resolve_alphas, summarise
from service.dataplane.kernels import layer_kernel
from service.errors import InvalidInput, UnknownLayer
from service.explain.options import ExplainOptions, NeighborOptions
from service.lifecycle import Lifecycle
from service.runtime import LoadedModel, ModelRepository
from service.runtime.repository import ReloadReport
from service.schemas import (
    ExampleRef,
    ExplainRequest,
    InlineInstance,
    InputsRequest,
    InterpolateRequest,
)
from service.telemetry import Telemetry

T = TypeVar("T")
logger = logging.getLogger(__name__)

#: Outputs of the ``predict`` and ``head`` endpoints; any other name needs ``layers``.
_PREDICT_OUTPUTS = frozenset(v2.DEFAULT_OUTPUTS)
#: The one output of the ``embed`` endpoint (whatever the embedding layer is called).
EMBEDDING_OUTPUT = EMBEDDING_LAYER


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    reason: str = ""


@dataclass(eq=False, kw_only=True)
class DataPlane:
    """Built once per app by ``service.app.create_app``, which owns every part it is given."""

    settings: Settings
    repository: ModelRepository
    executor: Executor
    telemetry: Telemetry
    engine: Engine
    lifecycle: Lifecycle
    evaluation_reader: EvaluationReader = field(init=False)

    def __post_init__(self) -> None:
        self.evaluation_reader = EvaluationReader(self.engine)

    # --- plumbing ---------------------------------------------------------------------
    def model(self, name: str, version: int | None = None) -> LoadedModel:
        return self.repository.snapshot.get(name, version)

    async def in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def off_loop(self, fn: Callable[[], T], *, size: int) -> T:
        """Decoding work: inline for small bodies (a thread hand-off costs more), else in
        the thread pool so a large body never stalls the event loop."""
        return fn() if size <= INLINE_DECODE_BYTES else await self.in_thread(fn)

    async def decode(
        self, loaded: LoadedModel, payload: Payload, *, scale: codecs.Scale, fit: codecs.Fit
    ) -> np.ndarray:
        decode = partial(
            decode_payload, payload, loaded.manifest.input, self.settings, scale=scale, fit=fit
        )
        if payload.kind == "json":
            return await self.off_loop(decode, size=payload.size)
        if payload.kind == "files" and codecs.inline_images(payload.files):
            return decode()  # a few small PNGs: cheaper than the hand-off to the pool
        return await self.in_thread(decode)  # photos, JPEGs and .npy: in the pool

    async def reload(self) -> ReloadReport:
        report = await self.repository.reload()
        snapshot = self.repository.snapshot
        self.telemetry.models_loaded.set(len(snapshot))
        self.telemetry.models_not_serving.set(len(snapshot.not_serving()))
        self.telemetry.models_stale.set(len(snapshot.stale))
        return report

    async def poll_reload(self, interval_s: float) -> None:
        """Reload every ``interval_s`` seconds; a failed scan is logged and retried."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                report = await self.reload()
            except Exception:
                logger.exception("polling reload failed")
                continue
            if report.loaded or report.removed:
                logger.info("reload: loaded %s, removed %s", report.loaded, report.removed)

    def readiness(self) -> Readiness:
        """Ready once started and not draining; with ``strict_readiness``, also only while
        every model's default version serves (``Snapshot.defaults_not_serving``).

        A version that failed to load but is not a default does not count: every replica
        reads the same model volume, so one bad version would otherwise take the whole
        fleet out of its load balancer. It answers its own 503 and shows in the
        ``layerlens_model_versions_not_serving`` gauge instead.
        """
        if not self.lifecycle.ready:
            return Readiness(False, "the server is starting or shutting down")
        blocked = self.repository.snapshot.defaults_not_serving()
        if blocked and self.settings.strict_readiness:
            return Readiness(
                False,
                f"not ready: the default version of {len(blocked)} model(s) failed to load or "
                f"is missing ({', '.join(blocked)}), so requests that name no version get 503; "
                "LAYERLENS_STRICT_READINESS=false serves the others",
            )
        return Readiness(True)

    # --- catalogue --------------------------------------------------------------------
    def model_summaries(self) -> dict[str, Any]:
        """Every loaded model, and under ``training`` the models a running trainer will
        still train (``core.training_status``): each is served once it lands and a reload
        picks it up, and none of them holds readiness."""
        snapshot = self.repository.snapshot
        models = []
        for name, versions in snapshot.models.items():
            default = snapshot.default_version(name)
            # A pinned default that is not loaded still describes the model by its newest.
            m = versions[default if default in versions else max(versions)].manifest
            models.append(
                {
                    "name": name,
                    "versions": snapshot.versions(name),
                    "default_version": default,
                    "task": m.task,
                    "architecture": m.architecture,
                    "description": m.description,
                    "class_names": m.class_names,
                }
            )
        status = read_status(self.settings.models_dir)
        return {"models": models, "training": status.pending if status else []}

    def loaded_versions(self) -> dict[str, list[int]]:
        snapshot = self.repository.snapshot
        return {name: snapshot.versions(name) for name in snapshot.models}

    def metadata(self, name: str, version: int | None) -> dict[str, Any]:
        loaded = self.model(name, version)
        body = loaded.manifest.model_dump(mode="json")
        body["versions"] = self.repository.snapshot.versions(name)
        body["runtimes"] = dict(loaded.runtimes)
        return body

    def v2_metadata(self, name: str, version: int | None) -> dict[str, Any]:
        loaded = self.model(name, version)
        return v2.model_metadata(loaded, self.repository.snapshot.versions(name))

    # --- inference at the tensor level ------------------------------------------------
    async def run_outputs(
        self, loaded: LoadedModel, x: np.ndarray, names: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """The named outputs (see ``v2.output_shapes``) of a decoded batch ``x``.

        One endpoint call through the batcher, the cheapest that yields every name:
        ``predict`` for probabilities and logits, ``embed`` for the embedding alone,
        else ``layers``. Every front door's inference ends here.
        """
        embedding = loaded.manifest.embedding_layer
        if len(names) == 1 and names[0] == embedding:
            outputs = await loaded.runner(ENDPOINT_EMBED).submit(x)
            return {embedding: outputs[EMBEDDING_OUTPUT]}
        endpoint = ENDPOINT_PREDICT if _PREDICT_OUTPUTS.issuperset(names) else ENDPOINT_LAYERS
        return await loaded.runner(endpoint).submit(x)

    async def run_v2_outputs(
        self,
        loaded: LoadedModel,
        x: np.ndarray,
        names: Sequence[str],
        parameters: Mapping[str, Any] | None = None,
    ) -> dict[str, np.ndarray]:
        """``run_outputs`` plus the V2 ``attributions`` output, explained with the request's
        ``parameters`` (what both V2 front doors call)."""
        plain = [name for name in names if name != v2.ATTRIBUTIONS_OUTPUT]
        results = await self.run_outputs(loaded, x, plain) if plain else {}
        if len(plain) < len(names):
            options = v2.explain_options(parameters)
            body = await explanations.explain(self, loaded, x, options)
            maps = [item["attributions"] for item in body["explanations"]]
            results[v2.ATTRIBUTIONS_OUTPUT] = np.stack(maps).astype(np.float32)
        return results

    async def run_head(self, loaded: LoadedModel, vectors: np.ndarray) -> dict[str, np.ndarray]:
        """Probabilities and logits from embedding-layer vectors ``(N, embedding_width)``."""
        return await loaded.runner(ENDPOINT_HEAD).submit(vectors)

    @staticmethod
    def probe_layer(loaded: LoadedModel, layer: str | None) -> str:
        manifest = loaded.manifest
        if layer is None:
            return manifest.embedding_layer
        if manifest.layer(layer) is None:
            names = ", ".join(spec.name for spec in manifest.layers)
            raise UnknownLayer(
                f"model {loaded.name!r} v{loaded.version} has no layer {layer!r}; "
                f"probe-able layers: {names}"
            )
        return layer

    @staticmethod
    def embedding_width(loaded: LoadedModel) -> int:
        spec = loaded.manifest.layer(loaded.manifest.embedding_layer)
        assert spec is not None  # the manifest validates this
        return int(np.prod(spec.output_shape))

    # --- interpolation ----------------------------------------------------------------
    async def interpolate(
        self,
        name: str,
        version: int | None,
        request: InterpolateRequest,
        uploads: Mapping[str, tuple[str, bytes]],
    ) -> dict[str, Any]:
        loaded = self.model(name, version)
        alphas = resolve_alphas(request.alphas, max_alphas=self.settings.max_alphas)
        embedding = loaded.manifest.embedding_layer
        if request.space == "embedding" and request.layer not in (None, embedding):
            raise UnknownLayer(
                f"embedding-space interpolation mixes the layer the head starts from, "
                f"{embedding!r}; layer {request.layer!r} is not supported"
            )
        a = await self._one_input(loaded, "a", request.a, uploads)
        b = await self._one_input(loaded, "b", request.b, uploads)
        if request.space == "pixel":
            outputs = await self.run_outputs(loaded, mix(a, b, alphas), [PROBABILITIES_LAYER])
        else:
            ends = (await self.run_outputs(loaded, np.concatenate([a, b]), [embedding]))[embedding]
            outputs = await self.run_head(loaded, mix(ends[:1], ends[1:], alphas))
        points, summary = summarise(
            alphas, outputs[PROBABILITIES_LAYER], loaded.manifest.class_names
        )
        return {
            "model": loaded.name,
            "version": loaded.version,
            "space": request.space,
            "points": points,
            "summary": summary,
        }

    async def _one_input(
        self,
        loaded: LoadedModel,
        which: str,
        ref: ExampleRef | InlineInstance | None,
        uploads: Mapping[str, tuple[str, bytes]],
    ) -> np.ndarray:
        spec = loaded.manifest.input
        if which in uploads:
            if ref is not None:
                raise InvalidInput(f"input {which!r} was both uploaded and given as a field")
            payload = Payload(kind="files", size=len(uploads[which][1]), files=[uploads[which]])
            return await self.decode(loaded, payload, scale="raw", fit="auto")
        if isinstance(ref, InlineInstance):
            try:
                return codecs.decode_json_instances([ref.instance], spec, max_batch=1)
            except InvalidInput as exc:
                raise InvalidInput(f"input {which!r}: {exc.message}") from None
        if isinstance(ref, ExampleRef):
            x, _label = await self.in_thread(
                dataset_example, ref.dataset, ref.index, self.settings.data_dir
            )
            if tuple(x.shape) != tuple(spec.shape):
                raise InvalidInput(
                    f"input {which!r}: {ref.dataset} examples have shape {list(x.shape)}, "
                    f"model {loaded.name!r} takes {list(spec.shape)}"
                )
            return np.asarray(x, dtype=np.float32).reshape(1, *spec.shape)
        raise InvalidInput(
            f'input {which!r} is missing: send {{"instance": ...}}, '
            f'{{"dataset": "mnist-test", "index": 1}} or upload a file named {which!r}'
        )

    # --- explanations -----------------------------------------------------------------
    async def explain(
        self,
        name: str,
        version: int | None,
        options: ExplainOptions,
        *,
        payload: Payload | None = None,
        request: ExplainRequest | None = None,
        uploads: Mapping[str, tuple[str, bytes]] | None = None,
    ) -> dict[str, Any]:
        """Attributions for a batch given as a payload (uploads, .npy) or a JSON request
        (instances or dataset examples); a baseline comes from ``request`` or an upload
        named ``baseline``."""
        loaded = self.model(name, version)
        request = request or ExplainRequest()
        uploads = uploads or {}
        if payload is not None:
            x = await self.decode(loaded, payload, scale="raw", fit="auto")
        else:
            x = await self._explain_inputs(loaded, request)
        baseline = None
        if request.baseline is not None or "baseline" in uploads:
            options.check_baseline_input()
            baseline = await self._one_input(loaded, "baseline", request.baseline, uploads)
        return await explanations.explain(self, loaded, x, options, baseline)

    async def neighbors(
        self,
        name: str,
        version: int | None,
        options: NeighborOptions,
        *,
        payload: Payload | None = None,
        request: InputsRequest | None = None,
    ) -> dict[str, Any]:
        """The k nearest examples of a split for each input (``service.dataplane.nearest``)."""
        loaded = self.model(name, version)
        if payload is not None:
            x = await self.decode(loaded, payload, scale="raw", fit="auto")
        else:
            x = await self._explain_inputs(loaded, request or InputsRequest())
        return await nearest.neighbors(self, loaded, x, options)

    # --- the embedding map ------------------------------------------------------------
    async def projection(self, name: str, version: int | None) -> dict[str, Any]:
        """The version's 2-D projection (``service.dataplane.projection``)."""
        return await projection.describe(self, self.model(name, version))

    async def projection_points(
        self, name: str, version: int | None, num: int, seed: int
    ) -> dict[str, Any]:
        """A sample of the fitted split, already projected."""
        return await projection.points(self, self.model(name, version), num, seed)

    async def project(
        self,
        name: str,
        version: int | None,
        *,
        payload: Payload | None = None,
        request: InputsRequest | None = None,
    ) -> dict[str, Any]:
        """Inputs of every form ``:neighbors`` takes, placed on the version's map."""
        loaded = self.model(name, version)
        if payload is not None:
            x = await self.decode(loaded, payload, scale="raw", fit="auto")
        else:
            x = await self._explain_inputs(loaded, request or InputsRequest())
        return await projection.project(self, loaded, x)

    async def _explain_inputs(self, loaded: LoadedModel, request: InputsRequest) -> np.ndarray:
        if (request.instances is None) == (request.examples is None):
            raise InvalidInput(
                'send the inputs as "instances": [...] or as "examples": '
                '[{"dataset": "mnist-test", "index": 1}], not both'
            )
        if request.instances is not None:
            payload = Payload(kind="json", size=0, json={"instances": request.instances})
            return await self.decode(loaded, payload, scale="raw", fit="auto")
        examples = request.examples or []
        if not examples:
            raise InvalidInput('"examples" is empty: give at least one dataset example')
        check_batch_size(len(examples), self.settings.max_batch_size, noun="example")
        rows = [
            await self._one_input(loaded, f"examples[{i}]", ref, {})
            for i, ref in enumerate(examples)
        ]
        return np.concatenate(rows)

    # --- stored results and model internals -------------------------------------------
    async def evaluations(self, name: str, version: int | None, kind: str | None) -> dict:
        loaded = self.model(name, version)
        if kind is not None:
            try:
                check_kind(kind)
            except UnknownEvaluationKind as exc:
                raise InvalidInput(str(exc)) from None
        rows = await self.evaluation_reader.read(self.in_thread, loaded.name, loaded.version, kind)
        return {"model": loaded.name, "version": loaded.version, "evaluations": rows}

    async def cell_examples(
        self, name: str, version: int | None, true_class: int, predicted_class: int,
        start: int, num: int, *, instances: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        """A page of the test examples in one confusion-matrix cell (``dataplane.cells``),
        with their inputs when ``instances``."""
        loaded = self.model(name, version)
        check_cell_query(loaded.manifest.num_classes, true_class, predicted_class, num)
        cell = await self.evaluation_reader.call(
            self.in_thread, read_cell, loaded.name, loaded.version, true_class,
            predicted_class, start, num,
        )  # fmt: skip
        answer = cell_answer(loaded.name, loaded.version, cell)
        if instances:
            answer["instances"] = await self.in_thread(
                cell_instances, answer["dataset"], answer["indices"], self.settings.data_dir
            )
        return answer

    def weights(self, name: str, version: int | None, layer: str | None) -> dict[str, Any]:
        return layer_kernel(self.model(name, version), layer)

    async def example(self, ref: str, index: int) -> dict[str, Any]:
        x, label = await self.in_thread(dataset_example, ref, index, self.settings.data_dir)
        return {"dataset": ref, "index": index, "label": label, "instance": x}

    async def examples(self, ref: str, start: int, num: int) -> dict[str, Any]:
        load = partial(
            dataset_examples, ref, start, num, self.settings.data_dir,
            max_num=self.settings.max_batch_size,
        )  # fmt: skip
        x, labels, size = await self.in_thread(load)
        return {"dataset": ref, "start": start, "size": size, "labels": labels, "instances": x}
