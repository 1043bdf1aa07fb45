"""Posting the whole test set as PNG files reproduces the stored test accuracy.

The serving issue's acceptance line: the image path (Pillow decode, fitting, scaling)
must feed the network exactly what evaluation fed it.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core import datasets
from core.db import make_engine, store
from tests.fixtures.models import ModelRepository
from tests.fixtures.server import run_server

pytestmark = pytest.mark.slow

BATCH = 250
TOLERANCE = 0.002  # 0.2 percentage points


def _png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(out, format="PNG")
    return out.getvalue()


def _stored_accuracy(repo: ModelRepository, model: str) -> float:
    engine = make_engine(repo.database_url)
    try:
        (row,) = store.get_evaluations(engine, model, 1, kind="test")
    finally:
        engine.dispose()
    return row.data["accuracy"]


@pytest.mark.parametrize(("model", "dataset"), [("digits", "mnist"), ("fashion", "fashion-mnist")])
def test_png_uploads_reproduce_the_stored_accuracy(
    full_repository: ModelRepository, model: str, dataset: str
) -> None:
    test = datasets.load_split(dataset, "test", full_repository.data_dir)
    predicted: list[int] = []
    with run_server(full_repository.settings()) as server, server.client() as http:
        for start in range(0, len(test.x), BATCH):
            files = [
                ("files", (f"{i}.png", _png(test.x[i]), "image/png"))
                for i in range(start, min(start + BATCH, len(test.x)))
            ]
            response = http.post(f"/v1/models/{model}:predict", files=files)
            assert response.status_code == 200, response.text
            predicted += [p["class_id"] for p in response.json()["predictions"]]
    accuracy = float(np.mean(np.asarray(predicted) == test.y))
    stored = _stored_accuracy(full_repository, model)
    print(f"{model}: PNG accuracy {100 * accuracy:.2f}%, stored {100 * stored:.2f}%")
    assert abs(accuracy - stored) <= TOLERANCE
