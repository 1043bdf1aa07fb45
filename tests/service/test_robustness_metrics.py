"""The stored ``robustness`` evaluation equals what the served digits model answers on the
held-out sets, and older versions gain it without retraining."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from core.datasets import ROBUSTNESS_SETS, load_robustness
from core.db import KIND_ROBUSTNESS, make_engine, store
from tests.service.helpers import encode_npy


@pytest.mark.parametrize("name", ROBUSTNESS_SETS)
def test_stored_robustness_equals_the_served_models_answers(
    http: httpx.Client, model_repository: Any, name: str
) -> None:
    body = http.get("/v1/models/digits/metrics", params={"kind": KIND_ROBUSTNESS}).json()
    rows = {e["dataset"]: e["data"] for e in body["evaluations"]}
    assert set(rows) == set(ROBUSTNESS_SETS)
    stored = rows[name]
    x, y = load_robustness(name, model_repository.data_dir)
    predicted = []
    for part in np.array_split(x, 4):
        answer = http.post(
            "/v1/models/digits:predict",
            content=encode_npy(part.astype(np.float32)),
            headers={"content-type": "application/x-npy"},
        )
        assert answer.status_code == 200, answer.text
        predicted += [p["class_id"] for p in answer.json()["predictions"]]
    predicted_ids = np.array(predicted)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (y, predicted_ids), 1)
    assert stored["num_examples"] == len(y)
    assert stored["confusion_matrix"] == confusion.tolist()
    assert stored["accuracy"] == pytest.approx(float((predicted_ids == y).mean()))
    assert len(stored["per_class_accuracy"]) == 10
    normalised = np.array(stored["confusion_matrix_normalised"])
    np.testing.assert_allclose(normalised.sum(axis=1), 1.0, atol=1e-6)


def test_only_digits_models_are_scored_and_older_versions_have_it(model_repository: Any) -> None:
    engine = make_engine(model_repository.database_url)
    try:
        for version in (1, 2):
            rows = store.get_evaluations(engine, "digits", version, kind=KIND_ROBUSTNESS)
            assert sorted(r.dataset for r in rows) == sorted(ROBUSTNESS_SETS)
        assert store.get_evaluations(engine, "digits-cnn", 1, kind=KIND_ROBUSTNESS)
        assert not store.get_evaluations(engine, "fashion", 1, kind=KIND_ROBUSTNESS)
    finally:
        engine.dispose()
