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


def _worst_ratio(http, model: str, ref: str, steps: int) -> tuple[float, dict]:
    """The worst gap / bound over the first 20 test images, and that image's explanation."""
    explanations = []
    for half in (FIRST_20[:10], FIRST_20[10:]):  # 10 x 257 rows fits the 4,096-row bound
        body = {"examples": [{"dataset": ref, "index": i} for i in half]}
        response = http.post(f"/v1/models/{model}:explain?steps={steps}", json=body)
        assert response.status_code == 200, response.text
        explanations += response.json()["explanations"]
    rows = [
        (e["completeness_gap"] / max(0.01 * abs(e["value"] - e["baseline_value"]), 1e-3), e)
        for e in explanations
    ]
    ratio, worst = max(rows, key=lambda row: row[0])
    return ratio, {k: worst[k] for k in ("value", "baseline_value", "completeness_gap")}


def test_integrated_gradients_are_complete_on_every_image_model(
    full_repository: ModelRepository,
) -> None:
    """Gap <= max(1% of |f(x) - f(baseline)|, 1e-3), first 20 test images: at 64 steps
    (the adaptive rule's measured figure, docs/explain.md), or, where one image of one
    training's weights needs more (a CI run's digits-cnn: 2.7 times the bound at 64), at
    256 steps. The gap the service reports must shrink as steps grow, to the bound."""
    models = _image_models(full_repository)
    assert {"digits", "digits-cnn", "fashion", "fashion-cnn"} <= {m for m, _ in models}
    worst: dict[str, float] = {}
    needed_more: dict[str, tuple[float, float, dict]] = {}
    with run_server(full_repository.settings()) as server, server.client() as http:
        for model, ref in models:
            worst[model], example = _worst_ratio(http, model, ref, 64)
            if worst[model] > 1.0:
                at_256, _ = _worst_ratio(http, model, ref, 256)
                needed_more[model] = (worst[model], at_256, example)
                worst[model] = at_256
    print("worst gap / bound per model:", {m: round(r, 3) for m, r in worst.items()})
    print("models whose worst image needed 256 steps (at 64, at 256, that image):", needed_more)
    assert all(ratio <= 1.0 for ratio in worst.values()), (worst, needed_more)
    # 64 steps suffice for most models; more than one needing 256 is a regression to look at.
    assert len(needed_more) <= 1, needed_more


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
