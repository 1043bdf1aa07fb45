"""Input contracts of the real models and helpers that make real PNG/JPEG bytes with Pillow."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core.manifest import InputSpec
from tests.service.helpers import encode_image
from training.inputs import INPUTS

Encode = Callable[..., bytes]


def _real_contract(fixture_name: str, dataset: str) -> Callable[[], InputSpec]:
    """A session fixture: the input contract the real models of ``dataset`` are exported
    with (training.inputs, the one place it is stated)."""

    @pytest.fixture(scope="session", name=fixture_name)
    def contract() -> InputSpec:
        return INPUTS[dataset]

    return contract


mnist_spec = _real_contract("mnist_spec", "mnist")
#: scikit-learn's 8x8 digits: values 0-16.
digits8_spec = _real_contract("digits8_spec", "sklearn-digits")
xor_spec = _real_contract("xor_spec", "xor")


@pytest.fixture(scope="session")
def encode() -> Encode:
    return encode_image


def dark_seven(width: int, height: int) -> Image.Image:
    """A '7' in black ink on white paper, somewhere off-centre in the picture."""
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    stroke = max(2, width // 25)
    x0, y0 = width * 0.15, height * 0.2
    x1, y1 = width * 0.55, height * 0.75
    draw.line([(x0, y0), (x1, y0), (x0 + (x1 - x0) * 0.4, y1)], fill=0, width=stroke)
    return image


@pytest.fixture(scope="session")
def seven() -> Callable[[int, int], Image.Image]:
    return dark_seven


@pytest.fixture(scope="session")
def mnist_test_images(data_dir: Path) -> np.ndarray:
    """The real MNIST test images (uint8, 10000x28x28), verified; fetched on first use."""
    from core.datasets import load_split

    images = load_split("mnist", "test", data_dir).x
    assert images.shape == (10000, 28, 28)
    return images
