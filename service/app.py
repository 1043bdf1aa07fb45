"""The application factory. Nothing is built at import time: ``create_app(settings)``
makes an app whose lifespan loads and warms every model version before it reports ready.

Run it with ``python -m service`` (or ``uvicorn --factory service.app:create_app_from_env``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from core.db import make_engine
from core.settings import Settings
from service.admission import InFlightLimit
from service.bodies import BodyReader
from service.dataplane import DataPlane
from service.dataplane.outputs import OutputRegistry
from service.fastlane import FastLane
from service.features import ANSWER_FIELDS, DERIVED_OUTPUTS, ROUTERS
from service.grpc import GrpcFrontDoor
from service.guard import RequestGuard
from service.handlers import install_error_handlers
from service.http import ops
from service.lifecycle import Lifecycle
from service.logs import configure_logging
from service.middleware import BodyLimitMiddleware, ObservabilityMiddleware, RequestRecorder
from service.openapi import install_openapi
from service.page import router as page_router
from service.protocol import routes as v2_routes
from service.responses import FastJSONResponse
from service.runtime import ModelRepository
from service.runtime.tf_config import configure_tensorflow
from service.telemetry import Telemetry
from service.vitals import ProgressPool, Vitals

logger = logging.getLogger(__name__)

#: Threads that run SavedModel calls, loads and database reads (never the event loop).
EXECUTOR_THREADS = 4
#: Threads that decode uploads and large bodies: apart from the four above, so requests of
#: a thousand large PNGs wait for each other, not for the models or /metrics' reads.
DECODE_THREADS = 2

DESCRIPTION = """Serve small Keras image classifiers and look inside them.

Own routes under `/v1` (TF Serving style, e.g. `POST /v1/models/digits:predict`), the
Open Inference Protocol (KServe V2) under `/v2`, Prometheus metrics at `/metrics`.
Every error is `{"error": "<what is wrong>", "code": "<machine code>"}`.
"""


class LayerlensAPI(FastAPI):
    """FastAPI with three layers in front of its whole middleware stack: the request guard
    (service.guard: header limits, Host, Origin, the page's headers), the bound on requests
    in flight (service.admission), then the fast lane (service.fastlane).

    The hot inference requests pay for none of FastAPI's per-request machinery; everything
    else goes through FastAPI unchanged.
    """

    front: ASGIApp | None = None
    fast_lane: FastLane | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is None or scope["type"] != "http":
            await super().__call__(scope, receive, send)
        else:
            await self.front(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """FastAPI's own handling (where the lane passes requests on)."""
        await super().__call__(scope, receive, send)


#: The collector's first generation runs after this many new container objects (Python's
#: default: 700). See :func:`tune_gc`.
GC_YOUNG_THRESHOLD = 20_000


def tune_gc() -> None:
    """Make the cyclic collector cheap for a serving worker, once it has loaded its models.

    A JSON prediction parses into about 30 lists that live until its answer is sent; with
    32 requests in flight every collection of the young generation (one per 21 requests at
    Python's threshold of 700) traversed the lists of all of them: 4-6 us of a prediction's
    150 us of CPU, measured with ``gc.callbacks``. Collected every 20,000 allocations, most
    of those lists have died by refcount first. What start-up built (models, routes,
    schemas) is moved out of the collector's sight by ``gc.freeze``, so the rare full
    collections no longer walk it. Cycles are still collected, later."""
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def create_app(settings: Settings | None = None, *, fast_lane: bool = True) -> LayerlensAPI:
    """``fast_lane=False`` sends every request through FastAPI (tests compare the two)."""
    settings = settings or Settings()
    telemetry = Telemetry(multiprocess_dir=settings.prometheus_multiproc_dir)
    lifecycle = Lifecycle()
    executor, decode_executor, vitals = _pools(settings)
    repository = ModelRepository(settings, executor=executor, observe=telemetry.observe_batch)
    engine = make_engine(settings.database_url)
    dataplane = DataPlane(
        settings=settings,
        repository=repository,
        executor=executor,
        telemetry=telemetry,
        engine=engine,
        lifecycle=lifecycle,
        outputs=OutputRegistry(DERIVED_OUTPUTS, ANSWER_FIELDS),
        decode_executor=decode_executor,
        vitals=vitals,
    )
    grpc_door = (
        GrpcFrontDoor(settings, plane=dataplane, lifecycle=lifecycle, telemetry=telemetry)
        if settings.grpc_enabled
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_tensorflow(settings)
        report = await dataplane.reload()
        if report.failed:
            logger.error("could not load: %s", ", ".join(report.failed))
        lifecycle.started = True
        lifecycle.drain_on_sigterm()
        if grpc_door is not None:
            await grpc_door.start()
        tune_gc()
        logger.info("ready: %d model versions loaded", len(repository.snapshot))
        poller = None
        if settings.reload_interval_s > 0:
            poller = asyncio.create_task(dataplane.poll_reload(settings.reload_interval_s))
        try:
            yield
        finally:
            lifecycle.draining = True
            if grpc_door is not None:
                await grpc_door.stop()  # in-flight calls finish before the models close
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
            await repository.close()
            engine.dispose()
            _shut_down(vitals)

    app = LayerlensAPI(
        title="layerlens",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=FastJSONResponse,
        docs_url=None,  # /docs and /redoc come from service.page, on self-hosted assets
        redoc_url=None,
    )
    app.state.dataplane = dataplane
    app.state.telemetry = telemetry
    app.state.grpc = grpc_door
    install_error_handlers(app)
    install_openapi(app)
    for router in (*ROUTERS, v2_routes.router, ops.router):
        app.include_router(router)
    app.include_router(page_router)
    recorder = RequestRecorder(telemetry, is_model=lambda name: name in repository.snapshot.models)
    bodies = _install_middleware(app, settings, recorder)
    if fast_lane:
        app.fast_lane = FastLane(
            app.handle,
            dataplane=dataplane,
            recorder=recorder,
            bodies=bodies,
        )
    app.front = _front(app.fast_lane or app.handle, settings, telemetry, vitals)
    return app


def _pools(settings: Settings) -> tuple[ProgressPool, ProgressPool, Vitals]:
    """The model calls' threads and decoding's, and the vitals that watch them."""
    executor = ProgressPool(EXECUTOR_THREADS, name="model calls", prefix="layerlens")
    decode_executor = ProgressPool(DECODE_THREADS, name="decoding", prefix="layerlens-decode")
    vitals = Vitals(unready_after_s=settings.unready_after_s, pools=(executor, decode_executor))
    return executor, decode_executor, vitals


def _shut_down(vitals: Vitals) -> None:
    """The pools the vitals watch (the model calls', decoding's), and the watch itself."""
    vitals.loop.stop()
    for pool in vitals.pools:
        pool.shutdown(wait=True, cancel_futures=True)


def _install_middleware(app: FastAPI, settings: Settings, recorder: RequestRecorder) -> BodyReader:
    """The body bounds and the observability of FastAPI's routes; the reader is the fast
    lane's too."""
    bodies = BodyReader.from_settings(settings)
    app.add_middleware(BodyLimitMiddleware, reader=bodies)
    app.add_middleware(ObservabilityMiddleware, recorder=recorder)
    return bodies


def _front(inner: ASGIApp, settings: Settings, telemetry: Telemetry, vitals: Vitals) -> ASGIApp:
    """The request guard, then the bound on requests in flight, then ``inner``."""
    in_flight = InFlightLimit(
        inner,
        limit=settings.max_in_flight,
        telemetry=telemetry,
        wait_ms=settings.max_in_flight_wait_ms,
        hold_ms=settings.overload_hold_ms,
    )
    vitals.slots = in_flight.slots
    return RequestGuard(
        in_flight,
        allowed_hosts=settings.allowed_hosts,
        max_header_bytes=settings.max_header_bytes,
        max_header_count=settings.max_header_count,
    )


def create_app_from_env() -> LayerlensAPI:
    """For ``uvicorn --factory``: settings from the environment.

    With several workers uvicorn starts each in a fresh process that only runs this
    factory, so logging is configured here too, not only in ``python -m service``.
    """
    settings = Settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    return create_app(settings)
