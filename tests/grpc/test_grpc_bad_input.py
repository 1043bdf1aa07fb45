"""The gRPC bad-input suite: each client mistake gets its status code and a message naming
the problem (never UNKNOWN or INTERNAL), and the server answers normally afterwards."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
from tritonclient.grpc import service_pb2

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def _request(
    *,
    model: str = "xor",
    version: str = "",
    datatype: str = "FP32",
    shape: tuple[int, ...] = (1, 2),
    fp32: list[float] | None = None,
    raw: bytes | None = None,
    outputs: tuple[str, ...] = (),
    edit: Callable[[Any], None] | None = None,
) -> Any:
    request = service_pb2.ModelInferRequest(model_name=model, model_version=version)
    tensor = request.inputs.add(name="x", datatype=datatype, shape=shape)
    if raw is not None:
        request.raw_input_contents.append(raw)
    else:
        tensor.contents.fp32_contents.extend([0.0, 1.0] if fp32 is None else fp32)
    for name in outputs:
        request.outputs.add(name=name)
    if edit is not None:
        edit(request)
    return request


def _uint_contents(request: Any) -> None:
    tensor = request.inputs[0]
    tensor.ClearField("contents")
    tensor.contents.uint_contents.extend([0, 1])


def _second_input(request: Any) -> None:
    request.inputs.add(name="y", datatype="FP32", shape=[1, 2]).contents.fp32_contents.extend(
        [0.0, 1.0]
    )


def _contents_and_raw(request: Any) -> None:
    request.raw_input_contents.append(np.zeros(2, "<f4").tobytes())


def _classification(request: Any) -> None:
    request.outputs.add(name="probabilities").parameters["classification"].int64_param = 2


CASES = [
    ("unsupported datatype", _request(datatype="STRING"), INVALID, ["datatype", "STRING"]),
    ("contents in the wrong field", _request(datatype="FP32", edit=_uint_contents), INVALID,
     ["uint_contents", "fp32_contents"]),
    ("datatype disagrees with contents", _request(datatype="UINT8"), INVALID,
     ["UINT8", "fp32_contents", "uint_contents"]),
    ("shape and contents disagree", _request(shape=(1, 2), fp32=[0.0, 1.0, 1.0]), INVALID,
     ["3 elements", "needs 2"]),
    ("shape does not fit the model", _request(shape=(1, 3), fp32=[0.0, 1.0, 1.0]), INVALID,
     ["shape"]),
    ("negative dimension", _request(shape=(-1, 2)), INVALID, ["shape"]),
    ("no contents at all", _request(fp32=[]), INVALID, ["0 elements"]),
    ("raw contents of the wrong length", _request(raw=b"\x00" * 7), INVALID,
     ["7 bytes", "needs 8"]),
    ("raw uint8 of the wrong length", _request(datatype="UINT8", raw=b"\x00" * 3), INVALID,
     ["3 bytes", "needs 2"]),
    ("contents and raw contents", _request(edit=_contents_and_raw), INVALID,
     ["both contents and raw_input_contents"]),
    ("two inputs", _request(edit=_second_input), INVALID, ["exactly one input"]),
    ("unknown output", _request(outputs=("nope",)), INVALID, ["unknown output 'nope'"]),
    ("classification output", _request(edit=_classification), INVALID, ["classification"]),
    ("NaN", _request(fp32=[math.nan, 1.0]), INVALID, ["nan"]),
    ("infinity", _request(fp32=[math.inf, 1.0]), INVALID, ["inf"]),
    ("bad version", _request(version="latest"), INVALID, ["version", "latest"]),
    ("unknown model", _request(model="nope"), grpc.StatusCode.NOT_FOUND, ["nope", "not found"]),
    ("unknown version", _request(version="9"), grpc.StatusCode.NOT_FOUND, ["9"]),
    ("batch over max_batch_size", _request(shape=(5000, 2), raw=bytes(5000 * 8)),
     grpc.StatusCode.RESOURCE_EXHAUSTED, ["5000", "max_batch_size"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("request_", "code", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_infer_requests(
    stub: Any, request_: Any, code: grpc.StatusCode, words: list[str]
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.ModelInfer(request_)
    error = caught.value
    assert error.code() == code, error.details()
    for word in words:
        assert word.lower() in error.details().lower(), (word, error.details())
    # ... and the server still answers.
    answer = stub.ModelInfer(_request())
    assert [out.name for out in answer.outputs] == ["probabilities", "logits"]


def test_metadata_of_unknown_model_and_version(stub: Any) -> None:
    for request, code in (
        (service_pb2.ModelMetadataRequest(name="nope"), grpc.StatusCode.NOT_FOUND),
        (service_pb2.ModelMetadataRequest(name="digits", version="9"), grpc.StatusCode.NOT_FOUND),
        (service_pb2.ModelMetadataRequest(name="digits", version="0"), INVALID),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            stub.ModelMetadata(request)
        assert caught.value.code() == code


def test_calls_the_service_does_not_implement(stub: Any) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.ModelConfig(service_pb2.ModelConfigRequest(name="xor"))
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_metrics_count_calls_by_rpc_model_and_code(stub: Any, http: httpx.Client) -> None:
    stub.ModelInfer(_request())
    with pytest.raises(grpc.RpcError):
        stub.ModelInfer(_request(outputs=("nope",)))
    text = http.get("/metrics").text
    ok = 'layerlens_grpc_requests_total{code="OK",model="xor",rpc="ModelInfer"}'
    bad = 'layerlens_grpc_requests_total{code="INVALID_ARGUMENT",model="xor",rpc="ModelInfer"}'
    assert ok in text and bad in text
    assert 'layerlens_grpc_request_duration_seconds_count{model="xor",rpc="ModelInfer"}' in text
