"""The held-out robustness sets: shapes, labels, pinned checksums, determinism, provenance."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.datasets import ROBUSTNESS_SETS, UnknownDatasetReference, load_robustness, robustness
from core.datasets.generated import sklearn_digits
from core.datasets.verify import array_sha256
from service.codecs import decode_images
from training.inputs import INPUTS

REPO_DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def data_dir() -> Path:
    if not (REPO_DATA / "mnist").is_dir():
        pytest.skip("MNIST is not fetched into data/ (`layerlens-train fetch`)")
    return REPO_DATA


@pytest.mark.parametrize("name", ROBUSTNESS_SETS)
def test_sets_have_mnist_shape_balanced_labels_and_the_pinned_checksums(
    data_dir: Path, name: str
) -> None:
    x, y = load_robustness(name, data_dir)
    assert x.dtype == np.uint8 and x.ndim == 3 and x.shape[1:] == (28, 28)
    assert y.dtype == np.uint8 and y.shape == (len(x),)
    assert set(np.unique(y)) == set(range(10))
    assert np.bincount(y).min() >= 170  # every digit well represented
    assert (array_sha256(x), array_sha256(y)) == robustness.PINNED[name]
    # MNIST's convention: light figure on black, peaking at full intensity like MNIST.
    assert np.all(x[:, 0, :] == 0) and np.all(x[:, :, -1] == 0)
    assert np.median(x.reshape(len(x), -1).max(axis=1)) >= 250


def test_a_cached_set_that_does_not_verify_is_rebuilt(data_dir: Path, tmp_path: Path) -> None:
    name = "writers"
    path = tmp_path / f"{name}-v{robustness.GENERATOR_VERSION}-seed{robustness.DEFAULT_SEED}.npz"
    np.savez_compressed(path, x=np.zeros((3, 28, 28), np.uint8), y=np.zeros(3, np.uint8))
    x, y = load_robustness(name, data_dir, cache_dir=tmp_path)
    assert (array_sha256(x), array_sha256(y)) == robustness.PINNED[name]
    with np.load(path) as stored:
        assert array_sha256(stored["x"]) == robustness.PINNED[name][0]


def test_canvas_drawing_is_deterministic_for_a_seed(data_dir: Path) -> None:
    first = robustness.build("canvas", data_dir, seed=3, per_class=2)
    again = robustness.build("canvas", data_dir, seed=3, per_class=2)
    other = robustness.build("canvas", data_dir, seed=4, per_class=2)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert np.bincount(first[1]).tolist() == [2] * 10
    assert not np.array_equal(first[0], other[0])


def test_canvas_digits_are_mnist_test_digits_redrawn_with_a_uniform_round_pen(
    data_dir: Path,
) -> None:
    from core.datasets.facts import idx_specs
    from core.datasets.verify import load_verified

    images = load_verified(data_dir, idx_specs("mnist", "t10k")[0])
    drawn = robustness.draw_on_canvas(images[0], np.random.default_rng(0))
    assert drawn.shape == (280, 280) and drawn.dtype == np.uint8
    assert drawn[0, 0] == 255 and drawn.min() == 0  # black ink on white paper
    ink = drawn < 128
    assert 0.01 < ink.mean() < 0.2
    # Nothing like MNIST's own pixels: the 28x28 result differs from the source digit.
    x, _ = load_robustness("canvas", data_dir)
    assert not any(np.array_equal(x[i], images[j]) for i in range(20) for j in range(200))


def test_writers_are_the_upload_fit_of_the_uci_bitmaps(data_dir: Path) -> None:
    """Row 0 of ``writers`` is exactly what the service makes of that digit's PNG upload."""
    counts, labels = sklearn_digits()
    grey = np.rint(counts[0] * (255.0 / 16.0)).astype(np.uint8)
    png = io.BytesIO()
    Image.fromarray(grey).resize((32, 32), Image.Resampling.BICUBIC).save(png, format="PNG")
    fitted = decode_images(
        [("0.png", png.getvalue())], INPUTS["mnist"], max_pixels=10**6, max_batch=1
    )
    x, y = load_robustness("writers", data_dir)
    np.testing.assert_array_equal(x[0], np.rint(fitted[0]).astype(np.uint8))
    np.testing.assert_array_equal(y, labels)


def test_unknown_set_is_named() -> None:
    with pytest.raises(UnknownDatasetReference, match="canvas, writers"):
        load_robustness("paper", REPO_DATA)
