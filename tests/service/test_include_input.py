"""``:predict?include_input=true``: each prediction carries the instance the model saw.

The contract: ``input`` is that instance after decoding and fitting, in the model's value
range and input shape (28x28, 8x8, 2), so sending it back as JSON gives the same answer.
"""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from tests.service.helpers import assert_error, image_bytes, mnist_example

P = "/v1/models/{}:predict"


def test_json_instances_come_back_as_sent(http: httpx.Client) -> None:
    instance, _ = mnist_example(http, 1)
    body = http.post(P.format("digits") + "?include_input=true", json={"instances": [instance]})
    assert body.status_code == 200, body.text
    seen = body.json()["predictions"][0]["input"]
    assert np.array_equal(np.asarray(seen), np.asarray(instance, dtype=np.float32))

    xor = http.post(P.format("xor") + "?include_input=true", json={"instances": [[0, 1], [1, 1]]})
    assert [p["input"] for p in xor.json()["predictions"]] == [[0.0, 1.0], [1.0, 1.0]]


@pytest.mark.parametrize("model", ["digits", "sklearn-digits"])
def test_an_upload_returns_the_fitted_input_that_reproduces_the_answer(
    http: httpx.Client, model: str
) -> None:
    picture = np.full((90, 60), 255, dtype=np.uint8)  # dark-on-light, another size
    picture[20:70, 25:35] = 0
    upload = http.post(
        P.format(model) + "?include_input=true",
        files=[("files", ("one.png", image_bytes(picture), "image/png"))],
    )
    assert upload.status_code == 200, upload.text
    first = upload.json()["predictions"][0]
    shape = http.get(f"/v1/models/{model}").json()["input"]["shape"]
    assert list(np.asarray(first["input"]).shape) == shape
    again = http.post(P.format(model), json={"instances": [first["input"]]}).json()
    second = again["predictions"][0]
    assert second["class_id"] == first["class_id"]
    np.testing.assert_allclose(second["probabilities"], first["probabilities"], rtol=1e-5)


def test_off_by_default_and_bad_values_are_refused(http: httpx.Client) -> None:
    instance, _ = mnist_example(http, 0)
    plain = http.post(P.format("digits"), json={"instances": [instance]})
    assert "input" not in plain.json()["predictions"][0]
    off = http.post(P.format("digits") + "?include_input=false", json={"instances": [instance]})
    assert "input" not in off.json()["predictions"][0]
    bad = http.post(P.format("digits") + "?include_input=maybe", json={"instances": [instance]})
    assert_error(bad, 400, "include_input")
