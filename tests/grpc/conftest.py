"""gRPC clients on the live server: tritonclient.grpc, unchanged, and its own stub."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
import tritonclient.grpc as triton
from tritonclient.grpc import service_pb2_grpc


def grpc_target(server: Any) -> str:
    """host:port of a live server's gRPC front door (bound to a free port in tests)."""
    return f"127.0.0.1:{server.app.state.grpc.port}"


@pytest.fixture(scope="session")
def grpc_client(live_server: Any) -> Iterator[triton.InferenceServerClient]:
    client = triton.InferenceServerClient(grpc_target(live_server))
    yield client
    client.close()


@pytest.fixture(scope="session")
def stub(live_server: Any) -> Iterator[service_pb2_grpc.GRPCInferenceServiceStub]:
    """tritonclient's own generated stub: for typed ``contents``, which its
    ``InferInput`` never sends (it always uses raw_input_contents)."""
    with grpc.insecure_channel(grpc_target(live_server)) as channel:
        yield service_pb2_grpc.GRPCInferenceServiceStub(channel)


@pytest.fixture(scope="session")
def http(live_server: Any) -> Iterator[httpx.Client]:
    """REST on the same server, for answers to compare with."""
    with live_server.client() as client:
        yield client
