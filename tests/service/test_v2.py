"""Open Inference Protocol: tritonclient.http works unchanged, binary and JSON tensors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from tests.service.helpers import assert_error, mnist_example


@pytest.fixture(scope="module")
def client(live_server: Any) -> Iterator[triton.InferenceServerClient]:
    c = triton.InferenceServerClient(live_server.url.removeprefix("http://"))
    yield c
    c.close()


def test_health_and_metadata(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("digits") and client.is_model_ready("digits", "1")
    assert not client.is_model_ready("nope")
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    meta = client.get_model_metadata("digits")
    assert meta["platform"] == "tensorflow_savedmodel" and meta["versions"] == ["1", "2"]
    assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 28, 28]}]
    outputs = {o["name"]: o["shape"] for o in meta["outputs"]}
    assert outputs["probabilities"] == [-1, 10] and outputs["embedding"] == [-1, 128]


@pytest.mark.parametrize("binary", [True, False])
def test_infer_fp32_and_uint8_matches_v1_predict(
    client: triton.InferenceServerClient, http: httpx.Client, binary: bool
) -> None:
    instances = np.array([mnist_example(http, i)[0] for i in (0, 1)])
    expected = http.post("/v1/models/digits:predict", json={"instances": instances.tolist()})
    expected_p = [p["probabilities"] for p in expected.json()["predictions"]]
    for datatype, dtype in (("FP32", np.float32), ("UINT8", np.uint8)):
        tensor = triton.InferInput("x", [2, 28, 28], datatype)
        tensor.set_data_from_numpy(instances.astype(dtype), binary_data=binary)
        outputs = [
            triton.InferRequestedOutput("probabilities", binary_data=binary),
            triton.InferRequestedOutput("embedding", binary_data=binary),
        ]
        result = client.infer("digits", [tensor], outputs=outputs, model_version="2")
        np.testing.assert_allclose(result.as_numpy("probabilities"), expected_p, atol=1e-5)
        assert result.as_numpy("embedding").shape == (2, 128)
        assert result.get_response()["model_version"] == "2"


def test_infer_default_outputs_and_errors(
    client: triton.InferenceServerClient, live_server: Any
) -> None:
    tensor = triton.InferInput("x", [1, 2], "FP32")
    tensor.set_data_from_numpy(np.array([[0, 1]], dtype=np.float32))
    result = client.infer("xor", [tensor])
    assert result.as_numpy("probabilities").shape == (1, 2)
    assert result.as_numpy("logits").shape == (1, 2)
    with pytest.raises(InferenceServerException, match="nope"):
        client.infer("xor", [tensor], outputs=[triton.InferRequestedOutput("nope")])
    wrong = triton.InferInput("x", [1, 3], "FP32")
    wrong.set_data_from_numpy(np.zeros((1, 3), dtype=np.float32))
    with pytest.raises(InferenceServerException):
        client.infer("xor", [wrong])
    with httpx.Client(base_url=live_server.url) as http:
        assert_error(http.post("/v2/models/xor/infer", content=b"{"), 400, "json")
        assert_error(http.post("/v2/models/xor/infer", json={"inputs": []}), 400, "inputs")
        bad_name = {"inputs": [{"name": "y", "shape": [1, 2], "datatype": "FP32", "data": [0, 1]}]}
        assert_error(http.post("/v2/models/xor/infer", json=bad_name), 400, "'y'", "'x'")
        assert http.get("/v2/health/live").json() == {"live": True}
        assert http.get("/v2/models/digits/versions/1").json()["name"] == "digits"
