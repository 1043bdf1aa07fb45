"""core.maps: sampling, placing new points on a stored map and the cluster measure, against
cases whose answers are known in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from core.maps import class_share, place, principal_axes, sample


def test_sample_is_every_row_or_a_sorted_seeded_draw() -> None:
    assert sample(5, 10, 3).tolist() == [0, 1, 2, 3, 4]
    drawn = sample(1000, 50, 7)
    assert len(set(drawn.tolist())) == 50 and np.all(np.diff(drawn) > 0)
    assert np.array_equal(drawn, sample(1000, 50, 7))
    assert not np.array_equal(drawn, sample(1000, 50, 8))


def test_a_map_example_lands_on_its_own_point_and_a_new_one_between_its_neighbours() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 16)).astype(np.float32)
    coords = rng.uniform(-50, 50, size=(200, 2))
    placed, nearest, distance = place(vectors[[3, 17]], vectors, coords)
    assert nearest.tolist() == [3, 17]
    np.testing.assert_allclose(distance, 0, atol=1e-6)
    np.testing.assert_allclose(placed, coords[[3, 17]], atol=1e-6)
    # a vector a little off an example (the LiteRT copy's 1e-4) stays within 1e-3 of it
    nudged = vectors[[3]] + np.float32(1e-4)
    np.testing.assert_allclose(place(nudged, vectors, coords)[0], coords[[3]], atol=1e-3)
    # halfway between two examples, far from the rest: the middle of their two points
    pair = np.zeros((2, 16), dtype=np.float32)
    pair[1, 0] = 2.0
    far = np.full((8, 16), 100.0, dtype=np.float32) + np.arange(8, dtype=np.float32)[:, None]
    two = np.array([[0.0, 0.0], [10.0, 4.0]])
    middle = place(pair.mean(axis=0, keepdims=True), np.vstack([pair, far]),
                   np.vstack([two, np.zeros((8, 2))]), k=2)[0]  # fmt: skip
    np.testing.assert_allclose(middle, [[5.0, 2.0]], atol=1e-9)


def test_the_cluster_measure_of_known_layouts() -> None:
    # two far-apart tight clusters of 11 points: every point's 10 neighbours are its own
    rng = np.random.default_rng(1)
    points = np.vstack([rng.normal(size=(11, 2)), rng.normal(size=(11, 2)) + 100])
    labels = np.repeat([0, 1], 11)
    assert class_share(points, labels) == 1.0
    # the same points with alternating labels on a line: each point's 2 nearest have the other
    line = np.arange(20, dtype=np.float64)[:, None]
    assert class_share(line, np.arange(20) % 2, k=2) == pytest.approx(
        (2 * 0.5 + 18 * 0.0) / 20  # an end's 2 nearest are 1 away (other) and 2 away (same)
    )
    with pytest.raises(ValueError, match="2 points"):
        class_share(points[:1], labels[:1])


def test_the_cluster_measure_breaks_ties_by_row_order() -> None:
    """Points on a grid, so many neighbours sit at exactly the k-th distance: the partial
    sort must take the lowest-numbered of them, as a stable full sort's first k would."""
    # 0 at the origin; 1..4 all 1 away from it, labelled so that the choice among them shows
    points = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    labels = np.array([0, 0, 1, 1, 1])
    # the origin's 2 nearest of the four tied: rows 1 and 2 -> one hit of two
    share = class_share(points, labels, k=2)
    # rows 1-4: the origin (1 away), then the lower row of the two at sqrt(2)
    # nearest per row: 0:{1,2} 1:{0,2} 2:{0,1} 3:{0,2} 4:{0,1}; hits 1, 1, 0, 1, 0
    assert share == pytest.approx(3 / 10)
    rng = np.random.default_rng(2)
    grid = np.round(rng.normal(size=(400, 2)) * 2)
    grid_labels = rng.integers(0, 3, size=400)
    data = grid.astype(np.float64)
    d = ((data[:, None, :] - data[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1, kind="stable")[:, :10]
    reference = float((grid_labels[nearest] == grid_labels[:, None]).mean())
    assert class_share(grid, grid_labels) == pytest.approx(reference, abs=1e-12)


def test_principal_axes_are_signed_and_sorted() -> None:
    data = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 1.0], [6.0, 1.0]])
    mean, components, explained = principal_axes(data)
    np.testing.assert_allclose(mean, [3.0, 0.5])
    assert components[0, 0] > 0.9 and explained[0] > explained[1] >= 0
