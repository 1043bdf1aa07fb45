"""The data plane: the one place between HTTP routes and the runtime.

Routes hand it parsed payloads; it looks the model up in the current snapshot, decodes
with the codecs, runs the SavedModel endpoints through their runners and encodes results.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from functools import partial
from typing import Any, TypeVar

import numpy as np

from core.db import make_engine
from core.manifest import (
    ENDPOINT_EMBED,
    ENDPOINT_HEAD,
    ENDPOINT_LAYERS,
    ENDPOINT_PREDICT,
    PROBABILITIES_LAYER,
)
from core.settings import Settings
from service import codecs
from service.dataplane import inference_v2 as v2
from service.dataplane.evaluations import check_kind, read_evaluations
from service.dataplane.examples import dataset_example, dataset_examples
from service.dataplane.inputs import INLINE_DECODE_BYTES, Payload, decode_payload, decode_vectors
from service.dataplane.interpolation import mix, resolve_alphas, summarise
from service.dataplane.kernels import dense_kernel
from service.dataplane.predictions import encode_predictions
from service.errors import InvalidInput, UnknownLayer
from service.protocol.v2_binary import take_binary_inputs
from service.runtime import LoadedModel, ModelRepository
from service.runtime.repository import ReloadReport
from service.schemas import ExampleRef, InlineInstance, InterpolateRequest
from service.telemetry import Telemetry

T = TypeVar("T")
logger = logging.getLogger(__name__)


class DataPlane:
    def __init__(
        self,
        settings: Settings,
        *,
        repository: ModelRepository,
        executor: Executor,
        telemetry: Telemetry,
    ) -> None:
        self.settings = settings
        self.repository = repository
        self.executor = executor
        self.telemetry = telemetry
        self.engine = make_engine(settings.database_url)

    # --- plumbing ---------------------------------------------------------------------
    def model(self, name: str, version: int | None = None) -> LoadedModel:
        return self.repository.snapshot.get(name, version)

    async def in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def decode(self, loaded: LoadedModel, payload: Payload, **options: str) -> np.ndarray:
        decode = partial(decode_payload, payload, loaded.manifest.input, self.settings, **options)
        if payload.kind == "json" and payload.size <= INLINE_DECODE_BYTES:
            return decode()
        return await self.in_thread(decode)

    async def reload(self) -> ReloadReport:
        report = await self.repository.reload()
        snapshot = self.repository.snapshot
        self.telemetry.models_loaded.set(len(snapshot))
        self.telemetry.models_not_serving.set(len(snapshot.not_serving()))
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

    def close(self) -> None:
        self.engine.dispose()

    # --- catalogue --------------------------------------------------------------------
    def list_models(self) -> dict[str, Any]:
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
        return {"models": models}

    def metadata(self, name: str, version: int | None) -> dict[str, Any]:
        loaded = self.model(name, version)
        body = loaded.manifest.model_dump(mode="json")
        body["versions"] = self.repository.snapshot.versions(name)
        body["runtimes"] = dict(loaded.runtimes)
        return body

    # --- inference --------------------------------------------------------------------
    async def predict(
        self,
        name: str,
        version: int | None,
        payload: Payload,
        *,
        top_k: int | None = None,
        with_logits: bool = False,
        scale: str = "raw",
        fit: str = "auto",
        include_input: bool = False,
    ) -> dict[str, Any]:
        loaded = self.model(name, version)
        x = await self.decode(loaded, payload, scale=scale, fit=fit)
        outputs = await loaded.runner(ENDPOINT_PREDICT).submit(x)
        body = self._prediction_body(loaded, outputs, top_k=top_k, with_logits=with_logits)
        if include_input:  # what the model saw, in its value range: the page shows it
            for entry, seen in zip(body["predictions"], x, strict=True):
                entry["input"] = seen
        return body

    def _prediction_body(
        self,
        loaded: LoadedModel,
        outputs: Mapping[str, np.ndarray],
        *,
        top_k: int | None,
        with_logits: bool,
    ) -> dict[str, Any]:
        predictions = encode_predictions(
            outputs["probabilities"],
            loaded.manifest.class_names,
            top_k=top_k or self.settings.default_top_k,
            logits=outputs["logits"] if with_logits else None,
        )
        return {"model": loaded.name, "version": loaded.version, "predictions": predictions}

    async def embed(
        self,
        name: str,
        version: int | None,
        payload: Payload,
        *,
        layer: str | None = None,
        scale: str = "raw",
        fit: str = "auto",
    ) -> dict[str, Any]:
        loaded = self.model(name, version)
        layer = self.probe_layer(loaded, layer)
        x = await self.decode(loaded, payload, scale=scale, fit=fit)
        vectors = await self.layer_output(loaded, x, layer)
        return {
            "model": loaded.name,
            "version": loaded.version,
            "layer": layer,
            "shape": list(vectors.shape),
            "embeddings": vectors,
        }

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

    async def layer_output(self, loaded: LoadedModel, x: np.ndarray, layer: str) -> np.ndarray:
        if layer == loaded.manifest.embedding_layer:
            return (await loaded.runner(ENDPOINT_EMBED).submit(x))["embedding"]
        return (await loaded.runner(ENDPOINT_LAYERS).submit(x))[layer]

    async def head(
        self,
        name: str,
        version: int | None,
        embeddings: object,
        *,
        top_k: int | None = None,
        with_logits: bool = False,
    ) -> dict[str, Any]:
        loaded = self.model(name, version)
        vectors = decode_vectors(
            embeddings,
            self.embedding_width(loaded),
            what="embeddings",
            max_batch=self.settings.max_batch_size,
        )
        outputs = await loaded.runner(ENDPOINT_HEAD).submit(vectors)
        return self._prediction_body(loaded, outputs, top_k=top_k, with_logits=with_logits)

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
        if request.space == "embedding":
            embedding = loaded.manifest.embedding_layer
            if request.layer not in (None, embedding):
                raise UnknownLayer(
                    f"embedding-space interpolation mixes the layer the head starts from, "
                    f"{embedding!r}; layer {request.layer!r} is not supported"
                )
        a = await self._one_input(loaded, "a", request.a, uploads)
        b = await self._one_input(loaded, "b", request.b, uploads)
        if request.space == "pixel":
            outputs = await loaded.runner(ENDPOINT_PREDICT).submit(mix(a, b, alphas))
        else:
            ends = await loaded.runner(ENDPOINT_EMBED).submit(np.concatenate([a, b]))
            vectors = ends["embedding"]
            mixed = mix(vectors[:1], vectors[1:], alphas)
            outputs = await loaded.runner(ENDPOINT_HEAD).submit(mixed)
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
            return codecs.decode_json_instances([ref.instance], spec, max_batch=1)
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

    # --- stored results and model internals -------------------------------------------
    async def evaluations(self, name: str, version: int | None, kind: str | None) -> dict:
        loaded = self.model(name, version)
        check_kind(kind)
        rows = await self.in_thread(
            read_evaluations, self.engine, loaded.name, loaded.version, kind
        )
        return {"model": loaded.name, "version": loaded.version, "evaluations": rows}

    def weights(self, name: str, version: int | None, layer: str | None) -> dict[str, Any]:
        return dense_kernel(self.model(name, version), layer)

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

    # --- Open Inference Protocol ------------------------------------------------------
    def v2_metadata(self, name: str, version: int | None) -> dict[str, Any]:
        loaded = self.model(name, version)
        return v2.model_metadata(loaded, self.repository.snapshot.versions(name))

    async def v2_infer(
        self, name: str, version: int | None, request: object, tail: bytes
    ) -> tuple[dict[str, Any], list[bytes]]:
        loaded = self.model(name, version)
        body = v2.check_request(request)
        binaries = take_binary_inputs(body["inputs"], tail)
        outputs = v2.requested_outputs(loaded, body)
        decode = partial(
            v2.decode_inputs, loaded, body, binaries, max_batch=self.settings.max_batch_size
        )
        x = decode() if len(tail) <= INLINE_DECODE_BYTES else await self.in_thread(decode)
        results = await self.run_outputs(loaded, x, [name for name, _binary in outputs])
        return v2.encode_outputs(loaded, body, results, outputs)

    async def run_outputs(
        self, loaded: LoadedModel, x: np.ndarray, names: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """The named outputs (see ``v2.output_shapes``) of a decoded batch, at the tensor level.

        One endpoint call through the batcher: ``predict`` when only probabilities and
        logits are asked for, else ``layers``. Every front door (REST V2, gRPC) ends here.
        """
        return await loaded.runner(v2.endpoint_for(names)).submit(x)
