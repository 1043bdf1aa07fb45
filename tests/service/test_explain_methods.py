"""The attribution methods on functions whose answers are known in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from core.manifest import InputSpec
from service.features.explain import baselines, methods

WEIGHTS = np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4)
IMAGE_SPEC = InputSpec(kind="image", shape=(3, 4), value_range=(0.0, 255.0), scaling="x / 255")


def cubic(x: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(x) = sum(w * x^3) + class: a non-linear score with an exact gradient."""
    f = (WEIGHTS * x**3).reshape(len(x), -1).sum(axis=1) + classes
    return f, 3 * WEIGHTS * x**2


def linear(x: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = (WEIGHTS * x).reshape(len(x), -1).sum(axis=1)
    return f, np.broadcast_to(WEIGHTS, x.shape).copy()


def test_the_trapezoid_path_is_a_pixel_sweeps_alphas() -> None:
    alphas, weights = methods.path_rule(50, "trapezoid")
    np.testing.assert_allclose(alphas, np.linspace(0, 1, 51))
    assert weights.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("rule", ["trapezoid", "gauss-legendre", "adaptive"])
def test_integrated_gradients_are_complete_and_converge(rule: methods.Rule) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 2.0, size=(2, 3, 4)).astype(np.float32)
    base = np.zeros_like(x)
    classes = np.array([0, 1])
    gaps = []
    for steps in (4, 16, 64):
        paths = methods.integrated_gradients(cubic, x, base, classes, steps=steps, rule=rule)
        gaps.append(max(p.completeness_gap for p in paths))
    # Exact attributions of sum(w x^3) from 0 are w x^3 per value.
    np.testing.assert_allclose(paths[0].attributions, WEIGHTS * x[0] ** 3, rtol=1e-3, atol=1e-3)
    assert paths[1].value == pytest.approx(float((WEIGHTS * x[1] ** 3).sum()) + 1, rel=1e-5)
    assert paths[1].baseline_value == pytest.approx(1.0)
    if rule == "gauss-legendre":  # exact for this cubic path integrand from 2 nodes on
        assert max(gaps) < 1e-4
    else:
        assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-3
    assert (
        len(paths[0].alphas)
        == len(paths[0].path_values)
        == methods.path_rows(64, rule) - (2 if rule == "gauss-legendre" else 0)
    )


def test_path_values_are_f_along_the_straight_line() -> None:
    x = np.full((1, 3, 4), 2.0, dtype=np.float32)
    base = np.ones_like(x)
    (path,) = methods.integrated_gradients(
        linear, x, base, np.array([0]), steps=4, rule="trapezoid"
    )
    expected = [float((WEIGHTS * (1 + a)).sum()) for a in np.linspace(0, 1, 5)]
    np.testing.assert_allclose(path.path_values, expected, rtol=1e-5, atol=1e-5)


def test_smoothgrad_without_noise_is_saliency_and_the_seed_fixes_the_map() -> None:
    x = np.random.default_rng(1).uniform(-1, 1, size=(2, 3, 4)).astype(np.float32)
    classes = np.array([0, 0])
    _f, plain = methods.saliency(cubic, x, classes)
    _f, quiet = methods.smoothgrad(cubic, x, classes, samples=5, sigma=0.0, seed=0)
    np.testing.assert_allclose(quiet, plain, rtol=1e-6)
    a = methods.smoothgrad(cubic, x, classes, samples=8, sigma=0.3, seed=7)[1]
    b = methods.smoothgrad(cubic, x, classes, samples=8, sigma=0.3, seed=7)[1]
    c = methods.smoothgrad(cubic, x, classes, samples=8, sigma=0.3, seed=8)[1]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_occlusion_of_a_linear_score_gives_each_values_contribution() -> None:
    x = np.full((1, 3, 4), 2.0, dtype=np.float32)
    base = np.zeros_like(x)
    windows = methods.occlusion_windows((3, 4), patch=1, stride=1)
    assert len(windows) == 12
    rows = methods.occlusion_inputs(x, base, windows)
    f, _ = linear(rows, np.zeros(len(rows), dtype=int))
    values, maps = methods.occlusion_attributions(f, windows, (3, 4), 1)
    np.testing.assert_allclose(maps[0], WEIGHTS * 2.0, rtol=1e-5, atol=1e-6)
    assert values[0] == pytest.approx(float((WEIGHTS * 2).sum()), rel=1e-5)


def test_occlusion_windows_cover_every_value_including_the_edges() -> None:
    for shape, patch, stride in (((28, 28), 4, 3), ((8, 8), 3, 2), ((2,), 1, 1), ((5,), 4, 4)):
        covered = np.zeros(shape, dtype=bool)
        for window in methods.occlusion_windows(shape, patch, stride):
            covered[window] = True
        assert covered.all(), (shape, patch, stride)


def test_blur_keeps_a_flat_image_and_spreads_a_dot() -> None:
    flat = np.full((1, 3, 4), 100.0, dtype=np.float32)
    np.testing.assert_allclose(baselines.blur(flat, IMAGE_SPEC), flat, rtol=1e-5)
    spec = IMAGE_SPEC.model_copy(update={"shape": (28, 28)})
    dot = np.zeros((1, 28, 28), dtype=np.float32)
    dot[0, 14, 14] = 255.0
    blurred = baselines.blur(dot, spec)
    assert blurred[0, 14, 14] < 50 and blurred[0, 14, 17] > 0
    assert blurred.sum() == pytest.approx(255.0, rel=1e-3)


def test_black_is_the_darkest_pixel_for_images_and_the_origin_for_vectors() -> None:
    assert baselines.black(np.ones((1, 3, 4), np.float32), IMAGE_SPEC).max() == 0.0
    vector = InputSpec(kind="vector", shape=(2,), value_range=(-5.0, 5.0), scaling="none")
    assert baselines.black(np.ones((1, 2), np.float32), vector).tolist() == [[0.0, 0.0]]
    shifted = vector.model_copy(update={"value_range": (1.0, 5.0)})
    assert baselines.black(np.ones((1, 2), np.float32), shifted).tolist() == [[1.0, 1.0]]


def test_noise_baseline_stays_in_the_input_range_and_follows_the_seed() -> None:
    x = np.zeros((2, 3, 4), dtype=np.float32)
    a, b = baselines.noise(x, IMAGE_SPEC, 3), baselines.noise(x, IMAGE_SPEC, 3)
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0 and a.max() <= 255 and a.std() > 10


def test_the_adaptive_rule_puts_its_points_where_f_changes() -> None:
    """A ReLU-like score that ramps over a short stretch of the path, with kinks at both
    ends: the refined points crowd there, and the map is more complete than the uniform
    grid's at the same cost."""
    direction = np.full((1, 3, 4), 1.0, dtype=np.float32)

    def step(x: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = x.reshape(len(x), -1).mean(axis=1)
        f = np.clip((mean - 0.683) / 0.031, 0.0, 1.0)
        slope = np.where((mean > 0.683) & (mean < 0.714), 1 / 0.031 / 12, 0.0)
        return f, slope[:, None, None] * np.ones_like(x)

    base = np.zeros_like(direction)
    classes = np.array([0])
    (adaptive,) = methods.integrated_gradients(
        step, direction, base, classes, steps=32, rule="adaptive"
    )
    (uniform,) = methods.integrated_gradients(
        step, direction, base, classes, steps=32, rule="trapezoid"
    )
    near_jump = np.abs(adaptive.alphas - 0.7) < 0.1
    assert near_jump.sum() > np.sum(np.abs(uniform.alphas - 0.7) < 0.1)
    assert adaptive.completeness_gap < uniform.completeness_gap
    assert np.all(np.diff(adaptive.alphas) > 0) and adaptive.alphas[[0, -1]].tolist() == [0, 1]
