"""The page on an imported RGB model: upload a colour photo, see what the model saw in
colour, and the same answer the API gives; no drawing pad where drawing makes no sense."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from core.db import upgrade
from core.settings import Settings
from tests.fixtures.keras_files import ImportedRepository, save
from tests.fixtures.server import LiveServer, run_server
from tests.page.conftest import open_page
from training.importer import ImportOptions, import_model

TIMEOUT_MS = 30_000


def _wide_grey():
    """A grey classifier of a non-square input (20 high, 30 wide)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((20, 30)),
            layers.Flatten(name="flatten"),
            layers.Dense(8, activation="relu", name="hidden"),
            layers.Dense(3, activation="softmax", name="classes"),
        ]
    )


@pytest.fixture(scope="module")
def server(
    imported_repository: ImportedRepository, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("imported-page")
    shutil.copytree(imported_repository.models_dir / "rgb", root / "models" / "rgb")
    import_model(
        save(_wide_grey(), root / "files", "wide"),
        name="wide",
        models_dir=root / "models",
        options=ImportOptions(input_range=(0.0, 1.0)),
        compile_for_litert=False,
    )
    url = f"sqlite:///{root / 'metrics.db'}"
    upgrade(url)
    settings = Settings(
        models_dir=root / "models", data_dir=root / "data", database_url=url, grpc_port=0
    )
    with run_server(settings) as live:
        yield live


def test_an_rgb_photo_is_uploaded_and_shown_in_colour(browser: Any, server: LiveServer) -> None:
    ctx, page, watch = open_page(browser, server)
    photo = np.zeros((45, 70, 3), np.uint8)
    photo[..., 0] = 230  # a red photo of another size and shape than 32x32
    photo[10:30, 20:50] = (20, 40, 220)
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "PNG")
    page.goto(f"{server.url}/#/rgb/predict")
    page.wait_for_selector("#upload", timeout=TIMEOUT_MS)
    assert page.locator("#pad").count() == 0 and page.locator("#colour-note").count() == 1
    page.set_input_files(
        "#upload", files=[{"name": "red.png", "mimeType": "image/png", "buffer": buffer.getvalue()}]
    )
    page.wait_for_selector("#predicted-label", timeout=TIMEOUT_MS)
    page.wait_for_function("!document.getElementById('view').dataset.pending", timeout=TIMEOUT_MS)
    with httpx.Client(base_url=server.url, timeout=60) as api:
        answer = api.post(
            "/v1/models/rgb:predict",
            params={"include_input": "true"},
            files=[("files", ("red.png", buffer.getvalue(), "image/png"))],
        ).json()["predictions"][0]
    label = page.locator("#predicted-label")
    assert int(label.get_attribute("data-class-id")) == answer["class_id"]
    assert float(page.locator("#predicted-probability").get_attribute("data-value")) == (
        pytest.approx(answer["probability"], abs=1e-6)
    )
    # What the model saw: 32x32, in colour, the pixel the API says it fitted
    seen = page.evaluate(
        """() => { const c = document.getElementById('fitted');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        return [c.width, c.height, d[0], d[1], d[2]]; }"""
    )
    fitted = np.asarray(answer["input"], dtype=np.float64)
    assert seen[:2] == [32, 32]
    assert seen[2:] == [round(v) for v in fitted[0, 0]]
    assert seen[2] > 200 and seen[3] < 60  # red, not grey
    page.wait_for_selector("#why-no-index", timeout=TIMEOUT_MS)
    ctx.close()
    watch.check()


def _size(page: Any, element_id: str) -> list[int]:
    return page.evaluate(f"(c => [c.width, c.height])(document.getElementById('{element_id}'))")


def test_a_non_square_grey_input_gets_a_pad_of_its_shape(browser: Any, server: LiveServer) -> None:
    ctx, page, watch = open_page(browser, server)
    page.goto(f"{server.url}/#/wide/predict")
    pad = page.wait_for_selector("#pad", timeout=TIMEOUT_MS)
    assert _size(page, "pad") == [280, 187]  # longest side 280, the input's 3:2
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.5 * box["height"])
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(box["x"] + (0.2 + 0.06 * i) * box["width"], box["y"] + 0.5 * box["height"])
    page.mouse.up()
    page.wait_for_selector("#predicted-label", timeout=TIMEOUT_MS)
    page.wait_for_function("!document.getElementById('view').dataset.pending", timeout=TIMEOUT_MS)
    assert _size(page, "fitted") == [30, 20]
    shown = page.evaluate("JSON.parse(document.getElementById('fitted-json').value)")
    with httpx.Client(base_url=server.url, timeout=60) as api:
        answer = api.post("/v1/models/wide:predict", json={"instances": [shown]}).json()
    label = page.locator("#predicted-label")
    assert int(label.get_attribute("data-class-id")) == answer["predictions"][0]["class_id"]
    shown = np.asarray(shown)
    assert shown.shape == (20, 30) and shown.min() < 0.5 < shown.mean()  # dark ink on paper
    ctx.close()
    watch.check()
