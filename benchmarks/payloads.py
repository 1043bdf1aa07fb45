"""Request bodies for every scenario, built once from real MNIST test images when present."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
from PIL import Image

MODEL = "digits"
IMAGE_SHAPE = (28, 28)
MULTIPART_BOUNDARY = "layerlens-bench-boundary"


@dataclass(frozen=True)
class Body:
    """One request: what wrk sends, and how many images it carries."""

    content: bytes
    content_type: str
    images: int = 1


def test_images(data_dir: Path, count: int = 1024) -> np.ndarray:
    """MNIST test images (uint8, 28x28); seeded noise digits if the dataset is not fetched."""
    try:
        from core.datasets.loading import load_split

        return np.asarray(load_split("mnist", "test", data_dir).x[:count])
    except Exception:  # the benchmark still runs without the dataset: say so in the output
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, size=(count, *IMAGE_SHAPE), dtype=np.uint8)


def _json(value: object) -> Body:
    return Body(orjson.dumps(value), "application/json")


def predict_json(image: np.ndarray) -> Body:
    """{"instances": [28x28]} with integer pixel values, as a client would send them."""
    return _json({"instances": [image.astype(int).tolist()]})


def predict_npy(images: np.ndarray) -> Body:
    buffer = io.BytesIO()
    np.save(buffer, images.astype(np.float32), allow_pickle=False)
    return Body(buffer.getvalue(), "application/x-npy", images=len(images))


def png(image: np.ndarray) -> bytes:
    """A grayscale PNG, as Pillow (and most tools) write one."""
    buffer = io.BytesIO()
    Image.fromarray(image.astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def predict_png(*images: np.ndarray) -> Body:
    """A multipart upload of one PNG file per image (field ``files``), as a browser sends."""
    parts = [
        (
            f"--{MULTIPART_BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="files"; filename="digit{i}.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + png(image)
        + b"\r\n"
        for i, image in enumerate(images)
    ]
    tail = f"--{MULTIPART_BOUNDARY}--\r\n".encode()
    return Body(
        b"".join(parts) + tail,
        f"multipart/form-data; boundary={MULTIPART_BOUNDARY}",
        images=len(images),
    )


def predict_png_raw(image: np.ndarray) -> Body:
    """One PNG as the whole body, as ``curl --data-binary @digit.png`` sends it."""
    return Body(png(image), "image/png")


def interpolate(a: np.ndarray, b: np.ndarray, num: int = 100) -> Body:
    return _json(
        {
            "a": {"instance": a.astype(int).tolist()},
            "b": {"instance": b.astype(int).tolist()},
            "space": "pixel",
            "alphas": {"start": 0.0, "stop": 1.0, "num": num},
        }
    )


def v2_infer(image: np.ndarray, input_name: str = "x") -> Body:
    """Open Inference Protocol request with one image as FP32 [1, 28, 28]."""
    return _json(
        {
            "inputs": [
                {
                    "name": input_name,
                    "shape": [1, *IMAGE_SHAPE],
                    "datatype": "FP32",
                    "data": image.astype(np.float32).ravel().tolist(),
                }
            ]
        }
    )
