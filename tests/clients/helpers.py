"""Helpers of the client tests (imported by package path): real image files made from real
dataset examples."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from clients import Client


def example_image(client: Client, ref: str = "mnist-test:1") -> Image.Image:
    dataset, index = ref.split(":")
    instance = client.dataset_example(dataset, int(index)).instance
    return Image.fromarray(np.clip(instance, 0, 255).astype(np.uint8), mode="L")


def write_png(client: Client, path: Path, ref: str = "mnist-test:1") -> Path:
    example_image(client, ref).save(path, format="PNG")
    return path


def jpeg_bytes(client: Client, ref: str = "mnist-test:2") -> bytes:
    buffer = io.BytesIO()
    example_image(client, ref).convert("RGB").resize((56, 56)).save(buffer, format="JPEG")
    return buffer.getvalue()


def assert_png(path: Path, size: tuple[int, int]) -> None:
    """Opens, has the promised size, and has a real picture on it."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == size
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 10
    assert len(np.unique(pixels)) > 50
