"""Bad input never causes a 5xx: each case is a clear 4xx naming the problem."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.fixtures.server import run_server
from tests.service.helpers import assert_error, copy_versions, image_bytes

PREDICT = "/v1/models/digits:predict"


def _image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (28, 28)).save(buffer, format=fmt)
    return buffer.getvalue()


def _bomb() -> bytes:
    """A tiny PNG that decodes to 100 000 x 100 000 pixels."""
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


_NOISE_PNG = image_bytes(np.random.default_rng(0).integers(0, 256, (28, 28)))

CASES = [
    (
        "malformed JSON",
        {"content": b'{"instances": [', "headers": {"content-type": "application/json"}},
        400,
        ["json"],
    ),
    (
        "empty body",
        {"content": b"", "headers": {"content-type": "application/json"}},
        400,
        ["empty"],
    ),
    ("no instances key", {"json": {"rows": []}}, 400, ["instances"]),
    ("empty batch", {"json": {"instances": []}}, 400, []),
    ("wrong shape", {"json": {"instances": [[1, 2, 3]]}}, 400, ["28"]),
    ("ragged rows", {"json": {"instances": [[[0] * 28] * 27 + [[0] * 5]]}}, 400, []),
    ("strings", {"json": {"instances": [["a"] * 784]}}, 400, []),
    (
        "NaN",
        {"content": b'{"instances": [[NaN, 1]]}', "headers": {"content-type": "application/json"}},
        400,
        [],
    ),
    (
        "infinity as number",
        {
            "content": b'{"instances": [[' + b"1e999," * 783 + b"1]]}",
            "headers": {"content-type": "application/json"},
        },
        400,
        [],
    ),
    ("out of range", {"json": {"instances": [[1000] * 784]}}, 400, []),
    (
        "text/plain",
        {"content": b"hello", "headers": {"content-type": "text/plain"}},
        415,
        ["text/plain"],
    ),
    ("GIF", {"files": [("files", ("a.gif", _image("GIF"), "image/gif"))]}, 415, ["gif"]),
    ("TIFF", {"files": [("files", ("a.tif", _image("TIFF"), "image/tiff"))]}, 415, ["tiff"]),
    (
        "corrupt PNG",
        {"files": [("files", ("a.png", b"\x89PNG\r\n\x1a\nnonsense", "image/png"))]},
        400,
        [],
    ),
    (
        "truncated PNG",
        {"files": [("files", ("a.png", _NOISE_PNG[: len(_NOISE_PNG) // 2], "image/png"))]},
        400,
        [],
    ),
    (
        "decompression bomb",
        {"files": [("files", ("bomb.png", _bomb(), "image/png"))]},
        413,
        ["too large"],
    ),
    (
        "bad npy",
        {"content": b"\x93NUMPY garbage", "headers": {"content-type": "application/x-npy"}},
        400,
        [],
    ),
    ("multipart without files", {"data": {"x": "1"}, "files": []}, 400, []),
]


@pytest.mark.parametrize(
    ("name", "request_options", "status", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_predict_input_is_a_clear_4xx(
    http: httpx.Client, name: str, request_options: dict, status: int, words: list[str]
) -> None:
    response = http.post(PREDICT, **request_options)
    if name == "multipart without files":  # httpx sends urlencoded when no files: 415
        assert response.status_code in (400, 415), response.text
    else:
        assert_error(response, status, *words)
    assert http.get("/v2/health/ready").status_code == 200  # still serving


def test_bad_query_and_routes(http: httpx.Client) -> None:
    body = {"instances": [[0, 1]]}
    assert_error(http.post("/v1/models/xor:predict", params={"top_k": 0}, json=body), 400, "top_k")
    assert_error(
        http.post("/v1/models/xor:predict", params={"output": "x"}, json=body), 400, "output"
    )
    assert_error(
        http.post("/v1/models/xor:predict", params={"scale": "x"}, json=body), 400, "scale"
    )
    assert_error(http.post("/v1/models/xor:frobnicate", json=body), 404)
    assert_error(http.get("/v1/nothing/here"), 404, "/v1/nothing/here")
    assert_error(http.delete("/v1/models"), 405)
    assert_error(http.post("/v1/models/nope:predict", json=body), 404, "nope")
    assert_error(http.post("/v1/models/xor/versions/7:predict", json=body), 404, "7")


def test_oversized_body_is_413_also_when_chunked(model_repository, tmp_path) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path, {"digits": [1], "xor": [1]})
    settings = model_repository.settings(models_dir=models_dir, max_body_bytes=10_000)
    with run_server(settings) as small, small.client() as http:
        big = b'{"instances": [' + b"0," * 20_000 + b"0]}"
        assert_error(http.post(PREDICT, content=big), 413, "10000")

        def chunks():
            for _ in range(20):
                yield b"0" * 1000

        assert_error(http.post(PREDICT, content=chunks()), 413, "10000")
        files = [("files", ("a.png", b"\x00" * 20_000, "image/png"))]
        assert_error(http.post(PREDICT, files=files), 413)
        assert http.post("/v1/models/xor:predict", json={"instances": [[0, 1]]}).status_code == 200


def test_head_refuses_fields_its_documented_schema_forbids(http: httpx.Client) -> None:
    """Found by the OpenAPI fuzzer: HeadRequest forbids extra fields, the route took them."""
    body = {"embeddings": [[0.0] * 6], "x-extra": 42}
    assert_error(http.post("/v1/models/xor:head", json=body), 400, "unknown field", "x-extra")
