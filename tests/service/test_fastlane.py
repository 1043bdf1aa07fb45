"""The fast lane answers exactly as FastAPI would: same status, headers and bytes.

One server with the lane (the shared ``live_server``) and one without it, over the same
models; every request below goes to both and the answers are compared. Good requests
must be taken by the lane; unusual ones must be passed on to FastAPI.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
from starlette.types import Receive, Scope, Send

from tests.fixtures.server import LiveServer, run_server
from tests.service.helpers import encode_npy, image_bytes

ZEROS = np.zeros((28, 28), dtype=int).tolist()
DIGIT = np.tile(np.arange(28) * 9, (28, 1)).tolist()
JSON = {"content-type": "application/json"}
PNG = image_bytes(np.array(DIGIT))
PNG_RGB = image_bytes(np.array(DIGIT), mode="RGB")
JPEG = image_bytes(np.array(DIGIT), fmt="JPEG")


def _json(value: Any) -> dict[str, Any]:
    return {"content": orjson.dumps(value), "headers": JSON}


def _v2(values: list[float], shape: list[int], **extra: Any) -> dict[str, Any]:
    tensor = {"name": "x", "shape": shape, "datatype": "FP32", "data": values}
    return _json({"inputs": [tensor], **extra})


def _v2_binary(array: np.ndarray) -> dict[str, Any]:
    raw = np.ascontiguousarray(array, dtype=np.float32).tobytes()
    tensor = {
        "name": "x",
        "shape": list(array.shape),
        "datatype": "FP32",
        "parameters": {"binary_data_size": len(raw)},
    }
    header = orjson.dumps({"inputs": [tensor], "outputs": [{"name": "probabilities"}]})
    return {
        "content": header + raw,
        "headers": {
            "content-type": "application/octet-stream",
            "inference-header-content-length": str(len(header)),
        },
    }


P = "/v1/models/digits:predict"
E = "/v1/models/digits:embed"
I = "/v2/models/digits/infer"  # noqa: E741
X = "/v1/models/digits:explain"
N = "/v1/models/digits:neighbors"
# (id, path, request options, taken by the fast lane?)
GOOD = [
    ("nested", P, _json({"instances": [DIGIT, ZEROS]}), True),
    ("flat", P, _json({"instances": [[v for row in DIGIT for v in row]]}), True),
    ("inputs key", P, _json({"inputs": [DIGIT]}), True),
    ("query", P + "?top_k=5&output=logits", _json({"instances": [DIGIT]}), True),
    ("unit", P + "?scale=unit&fit=none", _json({"instances": [[[0.5] * 28] * 28]}), True),
    ("include_input", P + "?include_input=true", _json({"instances": [DIGIT]}), True),
    ("include_input false", P + "?include_input=false", _json({"instances": [DIGIT]}), True),
    # FastAPI reads more spellings of a bool; the lane leaves them to it.
    ("include_input 1", P + "?include_input=1", _json({"instances": [DIGIT]}), False),
    ("version 1", "/v1/models/digits/versions/1:predict", _json({"instances": [DIGIT]}), True),
    ("xor", "/v1/models/xor:predict?top_k=1", _json({"instances": [[0, 1], [1, 1]]}), True),
    ("charset", P, {"content": orjson.dumps({"instances": [DIGIT]}),
                    "headers": {"content-type": "Application/JSON; charset=utf-8"}}, True),
    ("npy", P, {"content": encode_npy(np.full((3, 28, 28), 7.0, np.float32)),
                "headers": {"content-type": "application/x-npy"}}, True),
    ("embed", E, _json({"instances": [DIGIT]}), True),
    ("embed layer", E + "?layer=flatten", _json({"instances": [DIGIT]}), True),
    ("v2 json", I, _v2([1.0] * 784, [1, 28, 28]), True),
    ("v2 version", "/v2/models/digits/versions/2/infer", _v2([3.0] * 784, [1, 784]), True),
    ("v2 binary", I, _v2_binary(np.full((2, 28, 28), 9.0)), True),
    ("top_k twice", P + "?top_k=2&top_k=3", _json({"instances": [DIGIT]}), False),
    ("unknown parameter", P + "?colour=red", _json({"instances": [DIGIT]}), False),
    ("layer on predict", P + "?layer=flatten", _json({"instances": [DIGIT]}), False),
    ("version 01", "/v1/models/digits/versions/01:predict", _json({"instances": [ZEROS]}), False),
    ("upload", P, {"files": [("files", ("a.png", PNG, "image/png"))]}, True),
    ("uploads", P + "?top_k=2", {"files": [("files", ("a.png", PNG, "image/png")),
                                           ("files", ("b.png", PNG_RGB, "image/png")),
                                           ("files", ("c.jpg", JPEG, "image/jpeg"))]}, True),
    ("upload embed", E, {"files": [("files", ("a.png", PNG, "image/png"))]}, True),
    ("raw png", P, {"content": PNG, "headers": {"content-type": "image/png"}}, True),
    ("raw jpeg", E, {"content": JPEG, "headers": {"content-type": "image/jpeg"}}, True),
    ("explain", X, _json({"instances": [DIGIT]}), True),
    ("explain query", X + "?steps=20&rule=trapezoid&output=logit&target=3",
     _json({"instances": [DIGIT, ZEROS]}), True),
    ("explain saliency", X + "?method=saliency", _json({"instances": [DIGIT]}), True),
    ("explain examples", "/v1/models/digits/versions/1:explain?baseline=mean",
     _json({"examples": [{"dataset": "mnist-test", "index": 1}]}), True),
    ("explain baseline", X + "?steps=10",
     _json({"instances": [DIGIT], "baseline": {"instance": ZEROS}}), True),
    ("explain upload", X, {"files": [("files", ("a.png", PNG, "image/png"))]}, False),
    ("explain steps 010", X + "?steps=010", _json({"instances": [DIGIT]}), True),
    # FastAPI answers a repeated parameter (its last value); the lane leaves that to it
    ("explain steps twice", X + "?steps=2&steps=3", _json({"instances": [DIGIT]}), False),
    ("neighbors", N, _json({"instances": [DIGIT]}), True),
    ("neighbors query", N + "?k=3&metric=cosine&dataset=mnist-test",
     _json({"instances": [DIGIT, ZEROS]}), True),
    ("neighbors pixels", N + "?space=pixel&k=2", _json({"instances": [DIGIT]}), True),
    ("neighbors examples", "/v1/models/digits/versions/1:neighbors?k=4",
     _json({"examples": [{"dataset": "mnist-test", "index": 1}]}), True),
    ("neighbors upload", N, {"files": [("files", ("a.png", PNG, "image/png"))]}, False),
    ("neighbors k twice", N + "?k=2&k=3", _json({"instances": [DIGIT]}), False),
]  # fmt: skip
BAD = [
    ("damaged upload", P, {"files": [("files", ("a.png", b"\x89PNG\r\n\x1a\nnope", "image/png"))]},
     True),
    ("raw gif", P, {"content": b"GIF89a" + bytes(20), "headers": {"content-type": "image/png"}},
     True),
    ("raw empty", P, {"content": b"", "headers": {"content-type": "image/png"}}, True),
    ("no boundary", P, {"content": PNG, "headers": {"content-type": "multipart/form-data"}}, True),
    ("upload to xor", "/v1/models/xor:predict", {"files": [("files", ("a.png", PNG, "image/png"))]},
     True),
    ("malformed", P, {"content": b'{"instances": [', "headers": JSON}, True),
    ("empty body", P, {"content": b"", "headers": JSON}, True),
    ("no instances", P, _json({"rows": []}), True),
    ("not an object", P, _json([1, 2]), True),
    ("empty batch", P, _json({"instances": []}), True),
    ("wrong shape", P, _json({"instances": [[1, 2, 3]]}), True),
    ("booleans", P, _json({"instances": [[True] * 784]}), True),
    ("some booleans", P, _json({"instances": [[1] * 783 + [False]]}), True),
    ("strings", P, _json({"instances": [["1"] * 784]}), True),
    ("nulls", P, _json({"instances": [[None] * 784]}), True),
    ("NaN", P, {"content": b'{"instances": [[NaN, 1]]}', "headers": JSON}, True),
    ("out of range", P, _json({"instances": [[1000] * 784]}), True),
    ("unit out of range", P + "?scale=unit", _json({"instances": [DIGIT]}), True),
    ("unknown model", "/v1/models/nope:predict", _json({"instances": [DIGIT]}), True),
    ("unknown version", "/v1/models/digits/versions/9:predict", _json({"instances": [ZEROS]}),
     True),
    ("bad npy", P, {"content": b"\x93NUMPY junk", "headers": {"content-type": "application/x-npy"}},
     True),
    ("unknown layer", E + "?layer=nope", _json({"instances": [DIGIT]}), True),
    ("v2 no inputs", I, _json({"outputs": []}), True),
    ("v2 bad shape", I, _v2([1.0] * 5, [1, 5]), True),
    ("v2 bad output", I, _v2([1.0] * 784, [1, 784], outputs=[{"name": "nope"}]), True),
    ("v2 header length", I, {"content": b"{}", "headers": {**JSON,
                             "inference-header-content-length": "99"}}, True),
    ("explain unknown target", X + "?target=nope", _json({"instances": [DIGIT]}), True),
    ("explain too many steps", X + "?steps=100000", _json({"instances": [DIGIT]}), True),
    ("explain layer", X + "?layer=nope", _json({"instances": [DIGIT]}), True),
    ("explain no inputs", X, _json({}), True),
    ("explain not an object", X, _json([1, 2]), True),
    ("explain malformed", X, {"content": b'{"instances": [', "headers": JSON}, True),
    ("explain unknown field", X, _json({"instances": [DIGIT], "colour": 1}), True),
    ("explain unknown model", "/v1/models/nope:explain", _json({"instances": [DIGIT]}), True),
    # everything below is passed on to FastAPI
    ("explain steps 0", X + "?steps=0", _json({"instances": [DIGIT]}), False),
    ("explain method x", X + "?method=x", _json({"instances": [DIGIT]}), False),
    ("explain unknown parameter", X + "?colour=red", _json({"instances": [DIGIT]}), False),
    ("explain text/plain", X, {"content": b"hi", "headers": {"content-type": "text/plain"}},
     False),
    ("neighbors unknown dataset", N + "?dataset=nope", _json({"instances": [DIGIT]}), True),
    ("neighbors unknown layer", N + "?layer=nope", _json({"instances": [DIGIT]}), True),
    ("neighbors no inputs", N, _json({}), True),
    ("neighbors wrong shape", N, _json({"instances": [[1, 2]]}), True),
    ("neighbors unknown model", "/v1/models/nope:neighbors", _json({"instances": [DIGIT]}),
     True),
    ("neighbors k 0", N + "?k=0", _json({"instances": [DIGIT]}), False),
    ("neighbors k 101", N + "?k=101", _json({"instances": [DIGIT]}), False),
    ("neighbors metric x", N + "?metric=x", _json({"instances": [DIGIT]}), False),
    ("neighbors unknown parameter", N + "?colour=red", _json({"instances": [DIGIT]}), False),
    ("version 0", "/v1/models/digits/versions/0:predict", _json({"instances": [ZEROS]}), False),
    ("version abc", "/v1/models/digits/versions/abc:predict", _json({"instances": [ZEROS]}), False),
    ("top_k 0", P + "?top_k=0", _json({"instances": [DIGIT]}), False),
    ("top_k 1001", P + "?top_k=1001", _json({"instances": [DIGIT]}), False),
    ("top_k abc", P + "?top_k=abc", _json({"instances": [DIGIT]}), False),
    ("top_k empty", P + "?top_k=", _json({"instances": [DIGIT]}), False),
    ("output x", P + "?output=x", _json({"instances": [DIGIT]}), False),
    ("scale x", P + "?scale=x", _json({"instances": [DIGIT]}), False),
    ("fit x", P + "?fit=x", _json({"instances": [DIGIT]}), False),
    ("text/plain", P, {"content": b"hi", "headers": {"content-type": "text/plain"}}, False),
    ("text/plain, top_k", P + "?top_k=2",
     {"content": b"hi", "headers": {"content-type": "text/plain"}}, False),
]  # fmt: skip
CASES = GOOD + BAD
GOOD_NAMES = {case[0] for case in GOOD}


@pytest.fixture(scope="module")
def slow_lane(live_server: LiveServer) -> Iterator[httpx.Client]:
    with run_server(live_server.settings, fast_lane=False) as server, server.client() as client:
        yield client


@pytest.fixture
def passed_on(live_server: LiveServer) -> Iterator[list[str]]:
    """The paths of the requests the lane passes on to FastAPI while a test runs."""
    lane = live_server.app.fast_lane
    assert lane is not None
    inner, paths = lane.app, []

    async def counting(scope: Scope, receive: Receive, send: Send) -> None:
        paths.append(scope["path"])
        await inner(scope, receive, send)

    lane.app = counting
    try:
        yield paths
    finally:
        lane.app = inner


def _answer(response: httpx.Response) -> tuple[int, dict[str, str | None], bytes]:
    headers = {k: response.headers.get(k) for k in ("content-type", "content-length")}
    headers["retry-after"] = response.headers.get("retry-after")
    headers["inference-header-content-length"] = response.headers.get(
        "inference-header-content-length"
    )
    return response.status_code, headers, response.content


@pytest.mark.parametrize(("name", "path", "options", "in_lane"), CASES, ids=[c[0] for c in CASES])
def test_lane_answers_like_fastapi(
    live_server: LiveServer,
    http: httpx.Client,
    slow_lane: httpx.Client,
    name: str,
    path: str,
    options: dict[str, Any],
    in_lane: bool,
    passed_on: list[str],
) -> None:
    fast = http.post(path, **options)
    slow = slow_lane.post(path, **options)
    assert _answer(fast) == _answer(slow)
    if name in GOOD_NAMES:
        assert fast.status_code == 200, fast.text
    else:
        assert 400 <= fast.status_code < 500, fast.text
    assert passed_on == ([] if in_lane else [path.split("?", maxsplit=1)[0]])


def test_lane_leaves_other_routes_and_methods_alone(
    http: httpx.Client, slow_lane: httpx.Client, passed_on: list[str]
) -> None:
    paths = []
    for method, path in [("GET", P), ("PUT", I), ("POST", P + "/"), ("POST", "/v1/models/x:head")]:
        fast = http.request(method, path, json={"instances": [ZEROS]})
        slow = slow_lane.request(method, path, json={"instances": [ZEROS]})
        assert _answer(fast) == _answer(slow), (method, path)
        assert fast.status_code != 200, (method, path, fast.text)
        paths.append(path)
    assert passed_on == paths


def test_lane_requests_appear_in_metrics_by_route_template(http: httpx.Client) -> None:
    embed = http.post("/v1/models/digits/versions/1:embed", json={"instances": [ZEROS]})
    infer = http.post("/v2/models/xor/infer", **_v2([0.0, 1.0], [1, 2]))
    near = http.post(N, json={"instances": [ZEROS]})
    assert (embed.status_code, infer.status_code, near.status_code) == (200, 200, 200)
    text = http.get("/metrics").text
    assert 'route="/v1/models/{model}/versions/{version}:embed"' in text
    assert 'model="digits",route="/v1/models/{model}:neighbors",status="200"' in text
    assert 'model="xor",route="/v2/models/{model}/infer",status="200"' in text
