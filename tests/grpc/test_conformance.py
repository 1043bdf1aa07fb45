"""tritonclient.grpc, unchanged, against the live server: health, metadata and ModelInfer
with FP32 and UINT8 inputs, typed and raw, equal to the bit to REST V2's binary answers."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.grpc as triton
import tritonclient.http as triton_http
from tritonclient.grpc import service_pb2

from tests.service.helpers import mnist_example

TYPED_FIELD = {"FP32": "fp32_contents", "UINT8": "uint_contents"}


def test_health_and_metadata(grpc_client: triton.InferenceServerClient) -> None:
    assert grpc_client.is_server_live() and grpc_client.is_server_ready()
    assert grpc_client.is_model_ready("digits") and grpc_client.is_model_ready("digits", "1")
    assert not grpc_client.is_model_ready("nope")
    assert not grpc_client.is_model_ready("digits", "9")
    server = grpc_client.get_server_metadata()
    assert server.name == "layerlens"
    meta = grpc_client.get_model_metadata("digits")
    assert meta.name == "digits" and list(meta.versions) == ["1", "2"]
    assert meta.platform == "tensorflow_savedmodel"
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.inputs] == [
        ("x", "FP32", [-1, 28, 28])
    ]
    outputs = {t.name: list(t.shape) for t in meta.outputs}
    assert outputs["probabilities"] == [-1, 10] and outputs["embedding"] == [-1, 128]


def test_metadata_equals_rest(
    grpc_client: triton.InferenceServerClient, http: httpx.Client
) -> None:
    for model in ("digits", "xor", "digits-cnn"):
        rest = http.get(f"/v2/models/{model}").json()
        meta = grpc_client.get_model_metadata(model)
        assert list(meta.versions) == rest["versions"]
        got = [
            {"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in meta.outputs
        ]
        assert got == rest["outputs"]


def _rest_binary(url: str, model: str, x: np.ndarray, datatype: str, names: list[str]) -> dict:
    client = triton_http.InferenceServerClient(url.removeprefix("http://"))
    try:
        tensor = triton_http.InferInput("x", list(x.shape), datatype)
        tensor.set_data_from_numpy(x, binary_data=True)
        outputs = [triton_http.InferRequestedOutput(n, binary_data=True) for n in names]
        result = client.infer(model, [tensor], outputs=outputs)
        return {n: result.as_numpy(n) for n in names}
    finally:
        client.close()


def _typed_request(model: str, x: np.ndarray, datatype: str, names: list[str]) -> Any:
    request = service_pb2.ModelInferRequest(model_name=model, id="typed")
    tensor = request.inputs.add(name="x", datatype=datatype, shape=x.shape)
    getattr(tensor.contents, TYPED_FIELD[datatype]).extend(x.ravel().tolist())
    for name in names:
        request.outputs.add(name=name)
    return request


def _as_numpy(response: Any) -> dict[str, np.ndarray]:
    return {
        out.name: np.frombuffer(raw, dtype="<f4").reshape(list(out.shape))
        for out, raw in zip(response.outputs, response.raw_output_contents, strict=True)
    }


def _assert_bitwise_equal(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert list(got) == list(want)
    for name, array in want.items():
        assert got[name].dtype == np.float32 and got[name].shape == array.shape, name
        np.testing.assert_array_equal(got[name].view(np.uint32), array.view(np.uint32), name)


@pytest.mark.parametrize("datatype", ["FP32", "UINT8"])
@pytest.mark.parametrize("model", ["digits", "digits-cnn"])
def test_infer_raw_and_typed_equal_rest_binary(
    grpc_client: triton.InferenceServerClient,
    stub: Any,
    live_server: Any,
    http: httpx.Client,
    datatype: str,
    model: str,
) -> None:
    images = np.array([mnist_example(http, i)[0] for i in (0, 1, 2)])
    x = images.astype(np.float32 if datatype == "FP32" else np.uint8)
    names = [t.name for t in grpc_client.get_model_metadata(model).outputs]  # every output
    want = _rest_binary(live_server.url, model, x, datatype, names)

    tensor = triton.InferInput("x", list(x.shape), datatype)
    tensor.set_data_from_numpy(x)  # raw_input_contents
    outputs = [triton.InferRequestedOutput(n) for n in names]
    result = grpc_client.infer(model, [tensor], outputs=outputs, request_id="raw")
    _assert_bitwise_equal({n: result.as_numpy(n) for n in names}, want)
    response = result.get_response()
    assert response.id == "raw" and response.model_name == model

    typed = stub.ModelInfer(_typed_request(model, x, datatype, names))
    assert typed.id == "typed" and not typed.outputs[0].HasField("contents")
    _assert_bitwise_equal(_as_numpy(typed), want)


def test_default_outputs_and_versions(grpc_client: triton.InferenceServerClient) -> None:
    tensor = triton.InferInput("x", [2, 2], "FP32")
    tensor.set_data_from_numpy(np.array([[0, 1], [1, 1]], dtype=np.float32))
    result = grpc_client.infer("xor", [tensor])
    names = [out.name for out in result.get_response().outputs]
    assert names == ["probabilities", "logits"]
    np.testing.assert_allclose(result.as_numpy("probabilities").sum(axis=1), 1.0, rtol=1e-5)
    image = triton.InferInput("x", [1, 28, 28], "FP32")
    image.set_data_from_numpy(np.zeros((1, 28, 28), dtype=np.float32))
    for version in ("1", "2"):
        answer = grpc_client.infer("digits", [image], model_version=version)
        assert answer.get_response().model_version == version
    assert grpc_client.infer("digits", [image]).get_response().model_version == "2"


def test_attributions_output_equals_explain_on_both_doors(
    grpc_client: triton.InferenceServerClient, http: httpx.Client, live_server: Any
) -> None:
    """The V2 ``attributions`` output, asked for with request parameters, over gRPC and REST
    (tritonclient both), is the map ``:explain`` answers for the same options."""
    image, _label = mnist_example(http, 1)
    x = np.asarray([image], dtype=np.float32)
    parameters = {"method": "integrated-gradients", "steps": 16, "target": 3}
    explained = http.post(
        "/v1/models/digits:explain?steps=16&target=3", json={"instances": [image]}
    ).json()["explanations"][0]["attributions"]

    tensor = triton.InferInput("x", [1, 28, 28], "FP32")
    tensor.set_data_from_numpy(x)
    outputs = [triton.InferRequestedOutput("attributions"), triton.InferRequestedOutput("logits")]
    answer = grpc_client.infer("digits", [tensor], outputs=outputs, parameters=parameters)
    assert answer.as_numpy("attributions").shape == (1, 28, 28)
    np.testing.assert_allclose(answer.as_numpy("attributions")[0], explained, atol=1e-6)
    assert answer.as_numpy("logits").shape == (1, 10)

    client = triton_http.InferenceServerClient(live_server.url.removeprefix("http://"))
    try:
        rest_tensor = triton_http.InferInput("x", [1, 28, 28], "FP32")
        rest_tensor.set_data_from_numpy(x, binary_data=True)
        rest = client.infer(
            "digits",
            [rest_tensor],
            outputs=[triton_http.InferRequestedOutput("attributions", binary_data=True)],
            parameters=parameters,
        )
    finally:
        client.close()
    np.testing.assert_allclose(rest.as_numpy("attributions")[0], explained, atol=1e-6)


def test_attributions_parameters_are_checked(grpc_client: triton.InferenceServerClient) -> None:
    tensor = triton.InferInput("x", [1, 2], "FP32")
    tensor.set_data_from_numpy(np.array([[0, 1]], dtype=np.float32))
    wanted = [triton.InferRequestedOutput("attributions")]
    for parameters, words in (
        ({"method": "lime"}, "method"),
        ({"steps": 0}, "steps"),
        ({"layer": "embedding"}, ":explain"),
    ):
        with pytest.raises(triton.InferenceServerException) as caught:
            grpc_client.infer("xor", [tensor], outputs=wanted, parameters=parameters)
        assert caught.value.status() == "StatusCode.INVALID_ARGUMENT"
        assert words in caught.value.message()
