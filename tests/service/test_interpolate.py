"""Interpolation: inline, dataset and uploaded inputs; alphas as a range or a list; limits."""

from __future__ import annotations

import json

import httpx
import numpy as np

from tests.service.helpers import assert_error, image_bytes, mnist_example


def test_inline_inputs_with_a_list_of_alphas(http: httpx.Client) -> None:
    request = {"a": {"instance": [1, 0]}, "b": {"instance": [1, 1]}, "alphas": [0, 0.5, 1]}
    body = http.post("/v1/models/xor:interpolate", json=request).json()
    assert [p["alpha"] for p in body["points"]] == [0, 0.5, 1]
    direct = http.post("/v1/models/xor:predict", json={"instances": [[1, 1], [1, 0.5], [1, 0]]})
    expected = [p["probabilities"] for p in direct.json()["predictions"]]
    np.testing.assert_allclose([p["probabilities"] for p in body["points"]], expected, atol=1e-5)


def test_uploaded_images_as_multipart(http: httpx.Client) -> None:
    a, _ = mnist_example(http, 1)
    b, _ = mnist_example(http, 2)
    files = {
        "a": ("a.png", image_bytes(np.array(a)), "image/png"),
        "b": ("b.png", image_bytes(np.array(b)), "image/png"),
    }
    data = {"space": "pixel", "alphas": json.dumps({"start": 0, "stop": 1, "num": 5})}
    uploaded = http.post("/v1/models/digits:interpolate", files=files, data=data).json()
    inline = http.post(
        "/v1/models/digits:interpolate",
        json={
            "a": {"dataset": "mnist-test", "index": 1},
            "b": {"dataset": "mnist-test", "index": 2},
            "alphas": {"start": 0, "stop": 1, "num": 5},
        },
    ).json()
    np.testing.assert_allclose(
        [p["probabilities"] for p in uploaded["points"]],
        [p["probabilities"] for p in inline["points"]],
        atol=1e-5,
    )


def test_too_many_alphas_names_the_cap(http: httpx.Client, live_server) -> None:
    cap = live_server.settings.max_alphas
    request = {"a": {"instance": [0, 1]}, "b": {"instance": [1, 1]}}
    too_many = {**request, "alphas": {"start": 0, "stop": 1, "num": cap + 1}}
    assert_error(http.post("/v1/models/xor:interpolate", json=too_many), 413, str(cap))
    as_list = {**request, "alphas": [0.5] * (cap + 1)}
    assert_error(http.post("/v1/models/xor:interpolate", json=as_list), 413, str(cap))


def test_bad_interpolation_requests(http: httpx.Client) -> None:
    url = "/v1/models/digits:interpolate"
    a = {"dataset": "mnist-test", "index": 1}
    assert_error(http.post(url, json={"a": a}), 400, "'b'", "missing")
    assert_error(http.post(url, json={"a": a, "b": a, "space": "colour"}), 400, "space")
    assert_error(
        http.post(url, json={"a": a, "b": {"dataset": "nope-test", "index": 0}}), 404, "nope"
    )
    assert_error(
        http.post(url, json={"a": a, "b": {"dataset": "mnist-test", "index": 10**7}}),
        400,
        "out of range",
    )
    assert_error(
        http.post("/v1/models/sklearn-digits:interpolate", json={"a": a, "b": a}),
        400,
        "shape",
    )
    assert_error(
        http.post(url, json={"a": a, "b": a, "space": "embedding", "layer": "logits"}),
        400,
        "logits",
    )
    nan = b'{"a": {"instance": [0, 1]}, "b": {"instance": [1, 1]}, "alphas": [NaN]}'
    assert_error(http.post("/v1/models/xor:interpolate", content=nan), 400, "json")
    huge = b'{"a": {"instance": [0, 1]}, "b": {"instance": [1, 1]}, "alphas": [1e999]}'
    assert_error(http.post("/v1/models/xor:interpolate", content=huge), 400, "infinity")
