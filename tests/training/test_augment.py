"""The handwriting augmentation: seeded, label-preserving, each change doing what it says."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from core.datasets import load_split
from training import augment
from training.augment import HANDWRITING, Augment, HandwritingAugmentation
from training.recipes import CATALOG

REPO_DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    if not (REPO_DATA / "mnist").is_dir():
        pytest.skip("MNIST is not fetched into data/")
    return load_split("mnist", "train", REPO_DATA).x[:64].astype(np.float32)


def _augmented(x: np.ndarray, seed: int, settings: Augment = HANDWRITING) -> np.ndarray:
    keras.utils.set_random_seed(seed)
    layer = HandwritingAugmentation(settings)
    return np.concatenate([layer(x, training=True).numpy() for _ in range(2)])


def test_same_seed_same_batches_other_seed_other_batches(digits: np.ndarray) -> None:
    first, again, other = (_augmented(digits, s) for s in (7, 7, 8))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    assert first.shape == (2 * len(digits), 28, 28)
    assert not np.allclose(first[: len(digits)], first[len(digits) :])  # new draws per call


def test_inference_passes_images_through(digits: np.ndarray) -> None:
    layer = HandwritingAugmentation(HANDWRITING)
    np.testing.assert_array_equal(layer(digits, training=False).numpy(), digits)


def test_identity_warp_and_a_quarter_turn_are_exact(digits: np.ndarray) -> None:
    x = tf.constant(digits[:4])
    zero = tf.zeros((4, 28, 28, 2))
    np.testing.assert_allclose(augment.warp(x, tf.eye(2, batch_shape=[4]), zero), x, atol=1e-4)
    turn = tf.constant([[0.0, -1.0], [1.0, 0.0]]) * tf.ones((4, 1, 1))
    np.testing.assert_allclose(
        augment.warp(x, turn, zero), np.rot90(digits[:4], 1, (1, 2)), atol=1e-3
    )


def test_the_neighbourhood_max_is_the_3x3_pooling_exactly() -> None:
    images = tf.constant(np.random.default_rng(0).normal(size=(5, 9, 7)).astype(np.float32))
    pooled = tf.nn.max_pool2d(images[..., None], 3, 1, "SAME")[..., 0]
    np.testing.assert_array_equal(augment.neighbourhood_max(images), pooled)


def test_a_warp_reads_zeros_outside_the_image_however_far() -> None:
    """The taps read a frame of zeros: a shift past the edge (by a fraction, by pixels, by
    far more than the image) gives exactly the image's pixels that stay inside."""
    rng = np.random.default_rng(1)
    images = rng.uniform(1, 255, size=(3, 6, 8)).astype(np.float32)
    eye = tf.eye(2, batch_shape=[3])
    for dx, dy in ((2.0, 0.0), (-3.0, 1.0), (0.5, -0.25), (40.0, -90.0)):
        offsets = tf.constant(np.broadcast_to([dx, dy], (3, 6, 8, 2)).astype(np.float32))
        got = augment.warp(tf.constant(images), eye, offsets).numpy()
        ys, xs = np.mgrid[0:6, 0:8]
        x0, y0 = np.floor(xs + dx).astype(int), np.floor(ys + dy).astype(int)
        fx, fy = (xs + dx) - x0, (ys + dy) - y0

        def tap(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
            inside = (xx >= 0) & (xx < 8) & (yy >= 0) & (yy < 6)
            return np.where(inside, images[:, yy.clip(0, 5), xx.clip(0, 7)], 0.0)

        want = (
            tap(y0, x0) * (1 - fx) * (1 - fy)
            + tap(y0, x0 + 1) * fx * (1 - fy)
            + tap(y0 + 1, x0) * (1 - fx) * fy
            + tap(y0 + 1, x0 + 1) * fx * fy
        )
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-4)


def test_thickness_grows_and_thins_ink_and_keeps_the_peak(digits: np.ndarray) -> None:
    x = tf.constant(digits[:8])
    ones = tf.ones(8)
    grown = augment.thickness(x, tf.zeros(8), ones, dilate=0.5, erode=0.5).numpy()
    thinned = augment.thickness(x, tf.fill([8], 0.75), ones, dilate=0.5, erode=0.5).numpy()
    ink = (digits[:8] > 127).sum(axis=(1, 2))
    assert np.all((grown > 127).sum(axis=(1, 2)) > ink)
    assert np.all((thinned > 127).sum(axis=(1, 2)) < ink)
    np.testing.assert_allclose(grown.max(axis=(1, 2)), digits[:8].max(axis=(1, 2)), rtol=1e-5)


def test_augmented_digits_stay_digits(digits: np.ndarray) -> None:
    """Mild changes keep what the label says: the ink stays on the image and near its
    place (centre of mass within a few pixels), so the labels need no change."""
    out = _augmented(digits, 0)[: len(digits)]
    assert np.all(out.sum(axis=(1, 2)) > 0.2 * digits.sum(axis=(1, 2)))
    grid = np.arange(28)

    def centre(images: np.ndarray) -> np.ndarray:
        mass = images.sum(axis=(1, 2))
        return np.stack(
            [(images.sum(axis=2) * grid).sum(1) / mass, (images.sum(axis=1) * grid).sum(1) / mass],
            axis=1,
        )

    assert np.abs(centre(out) - centre(digits)).max() < 6


def test_digits_models_train_on_handwriting_augmentation() -> None:
    for name in ("digits", "digits-cnn"):
        assert CATALOG[name].fit.augment == HANDWRITING
    assert HANDWRITING.describe().startswith("rotation=15")


def test_low_resolution_blurs_the_chosen_images_only_and_keeps_their_peak(
    digits: np.ndarray,
) -> None:
    x = tf.constant(digits[:6])
    chosen = tf.constant([True, False] * 3)
    out = augment.low_resolution(x, chosen, tf.constant([0, 0, 1, 1, 2, 2])).numpy()
    np.testing.assert_array_equal(out[1::2], digits[1:6:2])
    np.testing.assert_allclose(
        out[::2].max(axis=(1, 2)), digits[::2][:3].max(axis=(1, 2)), rtol=1e-5
    )
    # an 8-pixel copy keeps less detail than a 12-pixel one: farther from the original
    error = [np.abs(out[i] - digits[i]).mean() for i in (0, 4)]
    assert error[0] > error[1] > 0


def test_augmented_copies_are_seeded_and_outside_the_training_graph(digits: np.ndarray) -> None:
    first = augment.augmented(digits, HANDWRITING, seed=3, batch=16)
    again = augment.augmented(digits, HANDWRITING, seed=3, batch=16)
    other = augment.augmented(digits, HANDWRITING, seed=4, batch=16)
    assert first.shape == digits.shape and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other) and not np.allclose(first, digits)
