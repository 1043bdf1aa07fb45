"""Our copy of the protocol is wire-compatible with tritonclient's: every message and field
we define exists there with the same number, type and label; the service has the same
method paths. And the committed descriptor is what inference.proto compiles to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf.descriptor import Descriptor
from tritonclient.grpc import service_pb2

from service.grpc.protocol import POOL, SERVICE_NAME, messages

REPO_ROOT = Path(__file__).resolve().parents[2]


def _fields(message: Descriptor) -> dict[str, tuple]:
    out = {}
    for field in message.fields:
        target = field.message_type.full_name if field.message_type else None
        repeated = field.is_repeated if hasattr(field, "is_repeated") else field.label == 3
        out[field.name] = (field.number, field.type, repeated, target)
    return out


def _all_messages(message: Descriptor) -> list[Descriptor]:
    return [message, *(m for nested in message.nested_types for m in _all_messages(nested))]


def test_every_message_matches_tritonclients() -> None:
    ours_file = POOL.FindFileContainingSymbol(SERVICE_NAME)
    theirs = service_pb2.DESCRIPTOR.pool
    checked = 0
    for top in ours_file.message_types_by_name.values():
        for message in _all_messages(top):
            other = theirs.FindMessageTypeByName(message.full_name)
            assert _fields(message) == _fields(other), message.full_name
            oneofs = {o.name: [f.name for f in o.fields] for o in message.oneofs}
            assert oneofs == {o.name: [f.name for f in o.fields] for o in other.oneofs}
            checked += 1
    assert checked >= 20


def test_the_service_methods_match_tritonclients() -> None:
    ours = POOL.FindServiceByName(SERVICE_NAME)
    theirs = service_pb2.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    assert [m.name for m in ours.methods] == [
        "ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer"
    ]  # fmt: skip
    for method in ours.methods:
        other = theirs.methods_by_name[method.name]
        assert method.input_type.full_name == other.input_type.full_name
        assert method.output_type.full_name == other.output_type.full_name
        assert not method.client_streaming and not method.server_streaming


def test_a_request_round_trips_through_tritonclients_classes() -> None:
    request = messages.ModelInferRequest(model_name="xor", id="7")
    tensor = request.inputs.add(name="x", datatype="UINT8", shape=[1, 2])
    tensor.parameters["p"].int64_param = 3
    request.raw_input_contents.append(b"\x00\x01")
    theirs = service_pb2.ModelInferRequest.FromString(request.SerializeToString())
    assert theirs.inputs[0].parameters["p"].int64_param == 3
    assert theirs.raw_input_contents == [b"\x00\x01"]
    assert messages.ModelInferRequest.FromString(theirs.SerializeToString()) == request


def test_the_committed_descriptor_is_up_to_date() -> None:
    pytest.importorskip("grpc_tools", reason="grpcio-tools (dev extra) compiles the proto")
    check = subprocess.run(
        [sys.executable, "-m", "service.grpc.regenerate", "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
