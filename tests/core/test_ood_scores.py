"""The out-of-distribution scores against closed forms (core.ood.scores, core.ood.synthetic)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.manifest import InputSpec, OodMethodRecord, OodRecord
from core.ood import scores
from core.ood.synthetic import KINDS, PROXY_KINDS, proxies, synthetic


def test_energy_is_minus_temperature_times_logsumexp() -> None:
    logits = np.array([[0.0, 0.0], [3.0, 1.0], [1000.0, 0.0]])
    expected = [-math.log(2), -math.log(math.exp(3) + math.exp(1)), -1000.0]
    np.testing.assert_allclose(scores.energy(logits), expected, rtol=1e-12)
    # T = 2: -2 * log(e^(3/2) + e^(1/2))
    assert scores.energy(logits[1:2], 2.0)[0] == pytest.approx(
        -2 * math.log(math.exp(1.5) + math.exp(0.5))
    )


def test_msp_is_one_minus_the_largest_softmax_probability() -> None:
    logits = np.array([[0.0, 0.0, 0.0], [math.log(3.0), 0.0, 0.0], [500.0, 0.0, 0.0]])
    np.testing.assert_allclose(scores.msp(logits), [2 / 3, 1 - 3 / 5, 0.0], atol=1e-12)


def test_knn_is_the_distance_to_the_kth_nearest_unit_vector() -> None:
    """Training vectors on the unit circle at 0, 10, 20, ... 90 degrees, scaled at random:
    from a query at angle 0 the k-th nearest is at 10 (k - 1) degrees, at chord
    2 sin(angle / 2) whatever the scales of query and rows."""
    angles = np.radians(np.arange(0, 100, 10))
    scale = np.random.default_rng(0).uniform(0.5, 7.0, size=(len(angles), 1))
    train = (np.stack([np.cos(angles), np.sin(angles)], axis=1) * scale).astype(np.float32)
    query = np.array([[5.0, 0.0]], dtype=np.float32)
    for k in (1, 2, 5):
        expected = 2 * math.sin(math.radians(10 * (k - 1)) / 2)
        assert scores.knn(query, train, k=k)[0] == pytest.approx(expected, abs=1e-3)
    # k above the rows is the farthest row (90 degrees: chord sqrt(2))
    assert scores.knn(query, train, k=50)[0] == pytest.approx(math.sqrt(2), abs=1e-3)


def test_mahalanobis_uses_class_means_and_the_pooled_covariance() -> None:
    """Offsets (+-1, 0), (0, +-2) around (0, 0) and (10, 0): pooled covariance
    diag(1/2, 2), so (1, 1) is 1/0.5 + 1/2 = 2.5 from class 0 and 81/0.5 + 1/2 from 1."""
    offsets = np.array([[1, 0], [-1, 0], [0, 2], [0, -2]], dtype=np.float64)
    x = np.concatenate([offsets, offsets + np.array([10.0, 0.0])])
    y = np.array([0] * 4 + [1] * 4)
    params = scores.fit_mahalanobis(x, y, 2)
    np.testing.assert_allclose(params[:2], [[0, 0], [10, 0]], atol=1e-12)
    np.testing.assert_allclose(params[2:], np.diag([2.0, 0.5]), atol=1e-12)
    got = scores.mahalanobis(np.array([[1.0, 1.0], [10.0, 4.0]]), params, 2)
    np.testing.assert_allclose(got, [2.5, 8.0], atol=1e-9)


def test_threshold_keeps_the_asked_share_in() -> None:
    values = np.arange(101, dtype=np.float64)
    assert scores.threshold(values, 0.95) == pytest.approx(95.0)
    assert (values > scores.threshold(values, 0.95)).mean() == pytest.approx(5 / 101)


def test_unknown_method_names_the_methods() -> None:
    with pytest.raises(ValueError, match="knn, mahalanobis, energy, msp"):
        scores.check_method("odin")


def test_synthetic_inputs_stay_in_the_contract() -> None:
    spec = InputSpec(kind="image", shape=(28, 28), value_range=(0.0, 255.0), scaling="x / 255")
    base = np.random.default_rng(1).integers(0, 256, size=(10, 28, 28)).astype(np.uint8)
    made = synthetic(spec, base, 4, seed=3)
    assert tuple(made) == KINDS
    for kind, x in made.items():
        assert x.shape == (4, 28, 28) and x.dtype == np.float32, kind
        assert x.min() >= 0 and x.max() <= 255, kind
    assert (made["blank"] == 0).all()
    np.testing.assert_array_equal(made["inverted"], 255.0 - base[:4])
    again = synthetic(spec, base, 4, seed=3)
    np.testing.assert_array_equal(again["uniform-noise"], made["uniform-noise"])


def test_proxies_blur_and_shuffle_each_image_and_skip_vectors() -> None:
    spec = InputSpec(kind="image", shape=(28, 28), value_range=(0.0, 255.0), scaling="x / 255")
    base = np.zeros((3, 28, 28), dtype=np.uint8)
    base[:, 10:18, 13:15] = 200  # a bar: a '1'
    made = proxies(spec, base, 2, seed=5)
    assert tuple(made) == PROXY_KINDS
    for kind, x in made.items():
        assert x.shape == (2, 28, 28) and x.dtype == np.float32, kind
    blurred, shuffled = made["blurred"], made["shuffled"]
    # the blur spreads the ink over more pixels, stretched back to the same peak
    assert ((blurred > 0).sum(axis=(1, 2)) > (base[:2] > 0).sum(axis=(1, 2))).all()
    np.testing.assert_allclose(blurred.max(axis=(1, 2)), 200.0, rtol=1e-5)
    # the shuffle moves the same pixel values around (7-pixel tiles, all whole)
    for got, original in zip(shuffled, base[:2], strict=True):
        np.testing.assert_array_equal(np.sort(got.ravel()), np.sort(original.ravel()))
    assert not np.array_equal(shuffled, base[:2])
    vector = InputSpec(kind="vector", shape=(2,), value_range=(-5.0, 5.0), scaling="none")
    assert proxies(vector, np.zeros((4, 2)), 2, seed=5) == {}


def test_spatial_mean_averages_each_channel_over_positions_and_keeps_averages() -> None:
    """A channels-last 2x2x3 map, flattened as a layer run returns it: per channel, the mean
    of its four positions; vectors already averaged (width == channels) stay as they are,
    which is how the map's points reuse the test split's stored averages."""
    maps = np.arange(2 * 2 * 2 * 3, dtype=np.float32).reshape(2, 2, 2, 3)
    pooled = scores.spatial_mean(maps.reshape(2, -1), 3)
    np.testing.assert_allclose(pooled, maps.mean(axis=(1, 2)))
    np.testing.assert_array_equal(scores.spatial_mean(pooled, 3), pooled)


def test_a_pooled_knn_record_needs_its_layer_and_train_vectors() -> None:
    sha = "0" * 64
    base = {
        "methods": {"knn": OodMethodRecord(threshold=1.0, edges=(0.0, 1.0), counts=(1,))},
        "default_method": "knn",
        "keep": 0.95,
        "k": 50,
        "train_index": "mnist-train",
        "validation": "mnist-validation",
        "validation_rows": 1,
        "sha256": sha,
        "mahalanobis_sha256": sha,
        "size_bytes": 0,
    }
    OodRecord(**base, knn_layer="pool2", knn_pooling="mean", knn_files={"mnist-train": sha})
    with pytest.raises(ValueError, match="pooled knn space"):
        OodRecord(**base, knn_layer="pool2", knn_pooling="mean")
    with pytest.raises(ValueError, match="pooled knn space"):
        OodRecord(**base, knn_pooling="mean", knn_files={"mnist-train": sha})
    with pytest.raises(ValueError, match="SHA-256"):
        OodRecord(**base, knn_layer="pool2", knn_pooling="mean", knn_files={"mnist-train": "x"})
