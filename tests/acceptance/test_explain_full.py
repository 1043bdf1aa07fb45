"""Attributions and neighbours of the fully trained models (the explain issue's floors)."""

from __future__ import annotations

import numpy as np
import pytest

from core.manifest import versions_on_disk
from tests.fixtures.models import ModelRepository
from tests.fixtures.server import run_server
from training.recipes import CATALOG

pytestmark = pytest.mark.slow

IMAGE_DATASETS = {"mnist": "mnist-test", "fashion-mnist": "fashion-mnist-test"}
FIRST_20 = range(20)


def _image_models(repo: ModelRepository) -> list[tuple[str, str]]:
    on_disk = versions_on_disk(repo.models_dir)
    return [
        (name, IMAGE_DATASETS[spec.dataset])
        for name, spec in CATALOG.items()
        if spec.dataset in IMAGE_DATASETS and name in on_disk
    ]


def test_integrated_gradients_are_complete_on_every_image_model(
    full_repository: ModelRepository,
) -> None:
    """Gap <= max(1% of |f(x) - f(baseline)|, 1e-3) at 64 steps, first 20 test images."""
    models = _image_models(full_repository)
    assert {"digits", "digits-cnn", "fashion", "fashion-cnn"} <= {m for m, _ in models}
    worst: dict[str, float] = {}
    with run_server(full_repository.settings()) as server, server.client() as http:
        for model, ref in models:
            body = {"examples": [{"dataset": ref, "index": i} for i in FIRST_20]}
            response = http.post(f"/v1/models/{model}:explain?steps=64", json=body)
            assert response.status_code == 200, response.text
            ratios = [
                e["completeness_gap"] / max(0.01 * abs(e["value"] - e["baseline_value"]), 1e-3)
                for e in response.json()["explanations"]
            ]
            worst[model] = max(ratios)
    print("worst gap / bound per model:", {m: round(r, 3) for m, r in worst.items()})
    assert all(ratio <= 1.0 for ratio in worst.values()), worst


def test_neighbour_agreement_tracks_correctness(full_repository: ModelRepository) -> None:
    """On 200 MNIST test images, predictions whose 8 nearest training examples agree with
    them are right more often than those whose neighbours disagree."""
    with run_server(full_repository.settings()) as server, server.client() as http:
        body = {"examples": [{"dataset": "mnist-test", "index": i} for i in range(200)]}
        response = http.post("/v1/models/digits:neighbors?k=8", json=body)
        assert response.status_code == 200, response.text
        labels = http.get("/v1/datasets/mnist-test?start=0&num=200").json()["labels"]
    results = response.json()["results"]
    agree = np.array([r["agrees"] for r in results])
    correct = np.array([r["predicted"] == y for r, y in zip(results, labels, strict=True)])
    assert agree.mean() > 0.9
    assert correct[agree].mean() >= correct.mean()
