"""The core data plane: what every feature and front door needs, and nothing feature-specific.

Front doors (the HTTP routes and the fast lane, the gRPC servicer) and the features
(``service.features``) hand it decoded requests; it looks the model up in the current
snapshot, decodes payloads with the codecs, runs endpoints and named outputs through the
runners (the batcher), moves blocking work off the event loop, reloads the repository and
says whether the server is ready. Features depend on it; it depends on none of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import numpy as np
from sqlalchemy.engine import Engine

from core.manifest import (
    EMBEDDING_LAYER,
    ENDPOINT_EMBED,
    ENDPOINT_HEAD,
    ENDPOINT_LAYERS,
    ENDPOINT_PREDICT,
)
from core.settings import Settings
from service import codecs, departures
from service.dataplane.evaluations import EvaluationReader
from service.dataplane.outputs import DEFAULT_OUTPUTS, OutputRegistry, Run
from service.dataplane.payload import INLINE_DECODE_BYTES, Payload, decode_payload
from service.errors import ModelNotReady, UnknownLayer
from service.lifecycle import Lifecycle
from service.runtime import LoadedModel, ModelRepository
from service.runtime.repository import ReloadReport
from service.runtime.runners import BatchObserver, RunFn, Runner, make_runner
from service.telemetry import Telemetry
from service.vitals import Vitals

T = TypeVar("T")
logger = logging.getLogger(__name__)

#: Outputs of the ``predict`` and ``head`` endpoints; any other name needs ``layers``.
_PREDICT_OUTPUTS = frozenset(DEFAULT_OUTPUTS)


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
    decode_executor: Executor | None = None
    """Decoding's own threads (``service.app``), apart from the models' (None: shared)."""
    vitals: Vitals | None = None
    """Whether the worker can serve now (``service.vitals``); None: not looked at."""
    outputs: OutputRegistry = field(default_factory=OutputRegistry)
    evaluation_reader: EvaluationReader = field(init=False)

    def __post_init__(self) -> None:
        self.evaluation_reader = EvaluationReader(self.engine)

    # --- plumbing ---------------------------------------------------------------------
    def model(self, name: str, version: int | None = None) -> LoadedModel:
        return self.repository.snapshot.get(name, version)

    def feature_runner(
        self,
        loaded: LoadedModel,
        run: RunFn,
        *,
        what: str,
        on_batch: BatchObserver,
        max_batch_size: int | None = None,
    ) -> Runner:
        """A batcher for a feature's own work on ``loaded`` (explain's paths, the neighbour
        search): batched by the model's policy, run on the model pool."""
        return make_runner(
            run,
            model=loaded.name,
            name=f"{loaded.name} v{loaded.version} {what}",
            settings=self.settings,
            executor=self.executor,
            on_batch=on_batch,
            max_batch_size=max_batch_size,
        )

    async def in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def off_loop(self, fn: Callable[[], T], *, size: int) -> T:
        """Decoding work: inline for small bodies (a thread hand-off costs more), else in
        the thread pool so a large body never stalls the event loop."""
        return fn() if size <= INLINE_DECODE_BYTES else await self._in_decode_thread(fn)

    async def _in_decode_thread(self, fn: Callable[[], T]) -> T:
        # Long enough to be worth stopping if the client leaves (service.departures).
        departures.watch("decode")
        executor = self.decode_executor or self.executor
        return await asyncio.get_running_loop().run_in_executor(executor, fn)

    async def decode(
        self,
        loaded: LoadedModel,
        payload: Payload,
        *,
        scale: codecs.Scale = "raw",
        fit: codecs.Fit = "auto",
    ) -> np.ndarray:
        departure = departures.current()
        decode = partial(
            decode_payload,
            payload,
            loaded.manifest.input,
            self.settings,
            scale=scale,
            fit=fit,
            stop=departure.check if departure is not None else None,
        )
        if payload.kind == "json":  # small bodies inline (a thread hand-off costs more)
            inline = payload.size <= INLINE_DECODE_BYTES
        else:  # a few small PNGs inline; photos, JPEGs and .npy in a pool
            inline = payload.kind == "files" and codecs.inline_images(payload.files)
        return decode() if inline else await self._in_decode_thread(decode)

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
        """Ready once started and not draining, while the worker can serve (its slots,
        pools and event loop move: ``service.vitals``); with ``strict_readiness``, also
        only while every model's default version serves (``Snapshot.defaults_not_serving``).

        A version that failed to load but is not a default does not count: every replica
        reads the same model volume, so one bad version would otherwise take the whole
        fleet out of its load balancer. It answers its own 503 and shows in the
        ``layerlens_model_versions_not_serving`` gauge instead.
        """
        if not self.lifecycle.ready:
            return Readiness(False, "the server is starting or shutting down")
        if self.vitals is not None and (problem := self.vitals.problem()):
            return Readiness(False, problem)
        blocked = self.repository.snapshot.defaults_not_serving()
        if blocked and self.settings.strict_readiness:
            return Readiness(
                False,
                f"not ready: the default version of {len(blocked)} model(s) failed to load or "
                f"is missing ({', '.join(blocked)}), so requests that name no version get 503; "
                "LAYERLENS_STRICT_READINESS=false serves the others",
            )
        return Readiness(True)

    # --- inference at the tensor level ------------------------------------------------
    def run_outputs(
        self, loaded: LoadedModel, x: np.ndarray, names: Sequence[str]
    ) -> Awaitable[dict[str, np.ndarray]]:
        """The model's own named outputs of ``x``, from the cheapest endpoint that has them
        all (``predict``, ``embed`` or ``layers``), through its batcher. Not a coroutine (nor
        is :meth:`run_named`): the hot path pays for no frame between the verb and batcher."""
        departures.stage("batch")
        embedding = loaded.manifest.embedding_layer
        if len(names) == 1 and names[0] == embedding:
            return self._embedding_only(loaded, x)
        endpoint = ENDPOINT_PREDICT if _PREDICT_OUTPUTS.issuperset(names) else ENDPOINT_LAYERS
        return loaded.runner(endpoint).submit(x)

    @staticmethod
    async def _embedding_only(loaded: LoadedModel, x: np.ndarray) -> dict[str, np.ndarray]:
        outputs = await loaded.runner(ENDPOINT_EMBED).submit(x)
        return {loaded.manifest.embedding_layer: outputs[EMBEDDING_LAYER]}

    def run_named(
        self,
        loaded: LoadedModel,
        x: np.ndarray,
        names: Sequence[str],
        parameters: Mapping[str, Any] | None = None,
    ) -> Awaitable[dict[str, np.ndarray]]:
        """Any names of the output registry (``service.dataplane.outputs``): the model's own
        in one endpoint call, then each derived output from that call's results. Every
        front door's inference ends here."""
        if names is DEFAULT_OUTPUTS:  # every plain prediction: the model's own, no planning
            return self.run_outputs(loaded, x, names)
        plain, derived = self.outputs.plan(loaded, names)
        if plain and not derived:
            return self.run_outputs(loaded, x, plain)
        return self._run_derived(loaded, x, plain, derived, parameters or {})

    async def _run_derived(
        self, loaded: LoadedModel, x: np.ndarray, plain: list[str], derived: list[str], params: Any
    ) -> dict[str, np.ndarray]:
        results = await self.run_outputs(loaded, x, plain) if plain else {}
        for name in derived:
            entry = self.outputs.derived[name]
            results[name] = await entry.compute(Run(self, loaded, x, results, params))
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
        if spec is None:  # the manifest's own validation makes this unreachable
            raise ModelNotReady(f"model {loaded.name!r} v{loaded.version} has no embedding")
        return int(np.prod(spec.output_shape))
