"""The digit PNGs the README's curl examples upload are the MNIST test examples, exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clients import Client

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


@pytest.mark.parametrize(("name", "index", "label"), [("digit-2.png", 1, 2), ("digit-1.png", 2, 1)])
def test_digit_png_is_the_dataset_example(live_server, name: str, index: int, label: int) -> None:
    with Image.open(IMAGES / name) as image:
        assert image.mode == "L" and image.size == (28, 28)
        pixels = np.asarray(image)
    with Client(live_server.url) as client:
        example = client.dataset_example("mnist-test", index)
    assert example.label == label
    assert np.array_equal(pixels, example.instance.astype(np.uint8))
