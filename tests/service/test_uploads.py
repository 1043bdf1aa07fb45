"""Image uploads over HTTP: many files in one request, and one image as the raw body."""

from __future__ import annotations

import httpx
import numpy as np

from tests.service.helpers import image_bytes

P = "/v1/models/digits:predict"


def _digits(count: int) -> np.ndarray:
    """Distinct 28x28 pictures, light strokes on a dark border (kept as they are)."""
    rng = np.random.default_rng(23)
    images = np.zeros((count, 28, 28), dtype=np.uint8)
    images[:, 4:24, 4:24] = rng.integers(0, 256, size=(count, 20, 20), dtype=np.uint8)
    return images


def test_fifty_pngs_in_one_request_get_fifty_answers_in_order(http: httpx.Client) -> None:
    images = _digits(50)
    files = [
        ("files", (f"{i}.png", image_bytes(image), "image/png")) for i, image in enumerate(images)
    ]
    uploaded = http.post(P + "?include_input=true", files=files)
    assert uploaded.status_code == 200, uploaded.text
    predictions = uploaded.json()["predictions"]
    assert len(predictions) == 50
    for image, prediction in zip(images, predictions, strict=True):
        np.testing.assert_array_equal(np.asarray(prediction["input"]), image.astype(np.float32))
    as_json = http.post(P, json={"instances": images.astype(int).tolist()}).json()["predictions"]
    assert [p["class_id"] for p in predictions] == [p["class_id"] for p in as_json]
    np.testing.assert_allclose(
        [p["probabilities"] for p in predictions],
        [p["probabilities"] for p in as_json],
        rtol=1e-5,
        atol=1e-6,
    )


def test_a_raw_png_or_jpeg_body_is_one_image(http: httpx.Client) -> None:
    image = _digits(1)[0]
    raw = http.post(P, content=image_bytes(image), headers={"content-type": "image/png"})
    as_json = http.post(P, json={"instances": [image.astype(int).tolist()]})
    assert raw.status_code == 200, raw.text
    assert raw.json()["predictions"] == as_json.json()["predictions"]
    jpeg = http.post(
        P, content=image_bytes(image, fmt="JPEG"), headers={"content-type": "image/jpeg"}
    )
    assert jpeg.status_code == 200 and len(jpeg.json()["predictions"]) == 1


def test_bad_raw_bodies_are_4xx_with_the_error_shape(http: httpx.Client) -> None:
    gif = http.post(P, content=b"GIF89a" + bytes(40), headers={"content-type": "image/png"})
    assert gif.status_code in (400, 415) and "error" in gif.json()
    huge = image_bytes(np.zeros((1, 1), dtype=np.uint8))
    # a header that claims 5000 x 5000 pixels: refused from the header, before decoding
    header = bytearray(huge)
    header[16:24] = (5_000).to_bytes(4, "big") * 2
    bomb = http.post(P, content=bytes(header), headers={"content-type": "image/png"})
    assert bomb.status_code == 413 and "pixels exceeds the limit" in bomb.json()["error"]
