"""The gRPC server's operations: health following readiness, reflection, the message size
limit, deadlines (a call that runs out of time is dropped, not computed) and the drain."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from tritonclient.grpc import service_pb2, service_pb2_grpc

from tests.fixtures.server import LiveServer, run_server
from tests.grpc.conftest import grpc_target

SERVICE = "inference.GRPCInferenceService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
#: sklearn-digits waits this long for a batch to fill on the small server.
SLOW_WINDOW_MS = 1500


def _health(target: str, service: str = "") -> int:
    with grpc.insecure_channel(target) as channel:
        request = health_pb2.HealthCheckRequest(service=service)
        return health_pb2_grpc.HealthStub(channel).Check(request, timeout=5).status


def _digits8(rows: int = 1) -> Any:
    request = service_pb2.ModelInferRequest(model_name="sklearn-digits")
    request.inputs.add(name="x", datatype="FP32", shape=[rows, 8, 8])
    request.raw_input_contents.append(np.zeros((rows, 8, 8), "<f4").tobytes())
    return request


def _publish(models_dir: Path, source: Path, name: str, version: int, *, broken: bool) -> None:
    target = models_dir / name / str(version)
    shutil.copytree(source / name / "1", target)
    manifest = target / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "version": version}))
    if broken:
        (target / "saved_model" / "saved_model.pb").write_bytes(b"not a protobuf")


@pytest.fixture(scope="module")
def small_server(
    model_repository: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """xor (v2 broken, v1 its default), fashion (its only version broken: strictly not
    ready), sklearn-digits with a long batch window, and a 20 kB message limit."""
    models_dir = tmp_path_factory.mktemp("grpc-models")
    source = model_repository.models_dir
    _publish(models_dir, source, "xor", 1, broken=False)
    _publish(models_dir, source, "xor", 2, broken=True)
    _publish(models_dir, source, "sklearn-digits", 1, broken=False)
    _publish(models_dir, source, "fashion", 1, broken=True)
    settings = model_repository.settings(
        models_dir=models_dir,
        max_body_bytes=20_000,
        batch_per_model={"sklearn-digits": {"max_wait_ms": SLOW_WINDOW_MS, "max_size": 4096}},
    )
    with run_server(settings, wait_path="/v2/health/live") as server:
        yield server


def test_health_follows_readiness_on_the_live_server(live_server: LiveServer) -> None:
    target = grpc_target(live_server)
    assert _health(target) == SERVING and _health(target, SERVICE) == SERVING
    lifecycle = live_server.app.state.dataplane.lifecycle
    lifecycle.draining = True  # what SIGTERM does first
    try:
        assert _health(target) == NOT_SERVING and _health(target, SERVICE) == NOT_SERVING
        with grpc.insecure_channel(target) as channel:
            stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
            assert not stub.ServerReady(service_pb2.ServerReadyRequest()).ready
    finally:
        lifecycle.draining = False
    assert _health(target) == SERVING


def test_not_serving_while_a_model_has_no_version_that_loads(small_server: LiveServer) -> None:
    """Readiness counts defaults only: fashion has no version that loads (not ready), while
    xor's broken v2, not its default, answers its own UNAVAILABLE without holding it."""
    target = grpc_target(small_server)
    assert _health(target) == NOT_SERVING and _health(target, SERVICE) == NOT_SERVING
    with grpc.insecure_channel(target) as channel, small_server.client() as http:
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        assert stub.ServerLive(service_pb2.ServerLiveRequest()).live
        assert not stub.ServerReady(service_pb2.ServerReadyRequest()).ready
        assert http.get("/v2/health/ready").status_code == 503  # the same rule
        assert stub.ModelReady(service_pb2.ModelReadyRequest(name="xor", version="1")).ready
        assert not stub.ModelReady(service_pb2.ModelReadyRequest(name="xor", version="2")).ready
        request = service_pb2.ModelInferRequest(model_name="xor", model_version="2")
        request.inputs.add(name="x", datatype="FP32", shape=[1, 2])
        request.raw_input_contents.append(np.zeros(2, "<f4").tobytes())
        with pytest.raises(grpc.RpcError) as caught:
            stub.ModelInfer(request)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "failed to load" in caught.value.details()


def test_reflection_lists_and_describes_the_services(live_server: LiveServer) -> None:
    with grpc.insecure_channel(grpc_target(live_server)) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        assert {SERVICE, "grpc.health.v1.Health"} <= services
        pool = descriptor_pool.DescriptorPool(database)
        infer = pool.FindServiceByName(SERVICE).methods_by_name["ModelInfer"]
        assert infer.input_type.fields_by_name["raw_input_contents"].number == 7
        assert pool.FindServiceByName("grpc.health.v1.Health").methods_by_name["Check"]


def test_a_message_over_the_limit_is_resource_exhausted(small_server: LiveServer) -> None:
    with grpc.insecure_channel(grpc_target(small_server)) as channel:
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.ModelInfer(_digits8(rows=100))  # 25.6 kB of raw contents
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "larger than max" in caught.value.details()
        assert stub.ModelInfer(_digits8(rows=1)).outputs  # still answering


def _model_calls(http: httpx.Client, model: str) -> float:
    """How many model calls ``model`` made, from the batch-size histogram's count."""
    prefix = f'layerlens_batch_size_count{{model="{model}"}}'
    lines = [line for line in http.get("/metrics").text.splitlines() if line.startswith(prefix)]
    return float(lines[0].split()[-1]) if lines else 0.0


def test_a_call_past_its_deadline_is_dropped_from_the_queue(small_server: LiveServer) -> None:
    runner = small_server.app.state.dataplane.model("sklearn-digits").runner("predict")
    with grpc.insecure_channel(grpc_target(small_server)) as channel, small_server.client() as http:
        before = _model_calls(http, "sklearn-digits")
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.ModelInfer(_digits8(rows=3), timeout=0.3)  # queued in a 1.5 s window
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        time.sleep(SLOW_WINDOW_MS / 1000 + 0.5)  # the window closed: nothing left to run
        assert runner.queued_rows == 0
        assert _model_calls(http, "sklearn-digits") == before  # the model never ran it
        text = http.get("/metrics").text
        assert 'code="DEADLINE_EXCEEDED",model="sklearn-digits",rpc="ModelInfer"' in text


def test_shutdown_lets_calls_in_flight_finish(model_repository: Any, tmp_path: Path) -> None:
    _publish(tmp_path, model_repository.models_dir, "sklearn-digits", 1, broken=False)
    settings = model_repository.settings(
        models_dir=tmp_path,
        batch_per_model={"sklearn-digits": {"max_wait_ms": SLOW_WINDOW_MS, "max_size": 4096}},
    )
    with run_server(settings) as server:
        channel = grpc.insecure_channel(grpc_target(server))
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        in_flight = stub.ModelInfer.future(_digits8(rows=2), timeout=30)
        time.sleep(0.3)  # it waits in the batch window while the server is told to stop
    # The server has stopped; the call that was in flight still got its answer.
    response = in_flight.result()
    assert [out.name for out in response.outputs] == ["probabilities", "logits"]
    with pytest.raises(grpc.RpcError) as caught:
        stub.ServerLive(service_pb2.ServerLiveRequest(), timeout=2)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    channel.close()
