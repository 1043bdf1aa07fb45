"""Imported models over a real server: every door answers, uploads of any size and colour fit
the declared input, and a new import is picked up by the reload."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from clients import Client
from core.db import upgrade
from core.settings import Settings
from tests.fixtures.keras_files import RANGES, ImportedRepository, build_file, inputs_for
from tests.fixtures.server import LiveServer, run_server
from training.importer import ImportOptions, import_model

KEY = "import-key"


@pytest.fixture(scope="module")
def server(
    imported_repository: ImportedRepository, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("imported-server")
    models_dir = root / "models"
    shutil.copytree(imported_repository.models_dir, models_dir)
    url = f"sqlite:///{root / 'metrics.db'}"
    upgrade(url)
    settings = Settings(
        models_dir=models_dir,
        data_dir=root / "data",
        database_url=url,
        grpc_port=0,
        api_key=KEY,
        reload_interval_s=0,
    )
    with run_server(settings) as live:
        yield live


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8), mode="RGB").save(buffer, "PNG")
    return buffer.getvalue()


def _keras(repo: ImportedRepository, name: str) -> keras.Model:
    return keras.saving.load_model(repo.files[name], safe_mode=True)


def test_rgb_upload_of_the_exact_size_is_the_array(
    server: LiveServer, imported_repository: ImportedRepository
) -> None:
    pixels = np.random.default_rng(3).integers(0, 256, (32, 32, 3))
    files = [("files", ("photo.png", _png(pixels), "image/png"))]
    with server.client() as http:
        body = http.post("/v1/models/rgb:predict", files=files)
        assert body.status_code == 200, body.text
        got = np.array(body.json()["predictions"][0]["probabilities"])
    want = _keras(imported_repository, "rgb").predict(pixels[None].astype(np.float32), verbose=0)
    np.testing.assert_allclose(got, want[0], atol=1e-5)


def test_rgb_upload_of_any_size_and_mode_is_fitted(server: LiveServer) -> None:
    wide = np.random.default_rng(4).integers(0, 256, (20, 50, 3))
    grey = io.BytesIO()
    Image.fromarray(np.full((40, 30), 200, np.uint8), mode="L").save(grey, "PNG")
    files = [
        ("files", ("wide.png", _png(wide), "image/png")),
        ("files", ("grey.png", grey.getvalue(), "image/png")),
    ]
    with server.client() as http:
        body = http.post("/v1/models/rgb:predict", files=files)
    assert body.status_code == 200, body.text
    for prediction in body.json()["predictions"]:
        assert abs(sum(prediction["probabilities"]) - 1) < 1e-5


@pytest.mark.parametrize("name", ["residual-cnn", "nested", "logits"])
def test_every_door_answers_on_imported_models(
    server: LiveServer, imported_repository: ImportedRepository, name: str
) -> None:
    x = inputs_for(name, n=2)
    want = _keras(imported_repository, name).predict(x, verbose=0)
    with server.client() as http:
        meta = http.get(f"/v1/models/{name}").json()
        instances = {"instances": x.tolist()}
        predicted = http.post(
            f"/v1/models/{name}:predict", json=instances, params={"output": "logits"}
        )
        assert predicted.status_code == 200, predicted.text
        predictions = predicted.json()["predictions"]
        key = "logits" if name == "logits" else "probabilities"
        np.testing.assert_allclose([p[key] for p in predictions], want, atol=1e-5)
        embedded = http.post(f"/v1/models/{name}:embed", json=instances).json()
        head = http.post(f"/v1/models/{name}:head", json={"embeddings": embedded["embeddings"]})
        assert head.status_code == 200, head.text
        np.testing.assert_allclose(
            [
                p[key] if key == "probabilities" else p["probabilities"]
                for p in head.json()["predictions"]
            ],
            [p[key] if key == "probabilities" else p["probabilities"] for p in predictions],
            atol=1e-5,
        )
        for layer in meta["layers"]:
            probed = http.post(
                f"/v1/models/{name}:embed", params={"layer": layer["name"]}, json=instances
            )
            assert probed.status_code == 200, (layer, probed.text)
        v2 = http.post(
            f"/v2/models/{name}/infer",
            json={
                "inputs": [
                    {
                        "name": "x",
                        "shape": list(x.shape),
                        "datatype": "FP32",
                        "data": x.ravel().tolist(),
                    }
                ]
            },
        )
        assert v2.status_code == 200, v2.text
        # what needs data says so, in a 4xx
        near = http.post(f"/v1/models/{name}:neighbors", json=instances)
        assert 400 <= near.status_code < 500 and "neighbour index" in near.text
    assert meta["architecture"] == "imported" and meta["embedding_layer"]
    if name == "residual-cnn":
        reasons = {la["name"]: la["probe_only"] for la in meta["layers"]}
        assert reasons["conv_b"] and reasons["dense"] is None
        with Client(server.url, timeout=60.0) as sdk:  # the SDK reads the same
            layers = {la.name: la for la in sdk.metadata(name).layers}
            assert layers["conv_b"].probe_only == reasons["conv_b"]
            sdk_answer = sdk.predict(name, x)
        np.testing.assert_allclose(
            np.stack([p.probabilities for p in sdk_answer.predictions]), want, atol=1e-5
        )


def test_a_new_import_is_served_after_reload(server: LiveServer, tmp_path: Path) -> None:
    path = build_file("logits", tmp_path, seed=7)
    import_model(
        path,
        name="logits",
        models_dir=server.settings.models_dir,
        options=ImportOptions(input_range=RANGES["logits"]),
        compile_for_litert=False,
    )
    with server.client() as http:
        report = http.post("/v1/admin/reload", headers={"X-API-Key": KEY}).json()
        assert report["models"]["logits"] == [1, 2]
        body = http.post(
            "/v1/models/logits:predict", json={"instances": inputs_for("logits", 1).tolist()}
        )
        assert body.json()["version"] == 2


def test_grpc_infers_an_imported_model_as_keras(
    server: LiveServer, imported_repository: ImportedRepository
) -> None:
    import tritonclient.grpc as triton

    from tests.grpc.conftest import grpc_target

    x = inputs_for("rgb", n=2)
    client = triton.InferenceServerClient(grpc_target(server))
    try:
        given = triton.InferInput("x", list(x.shape), "FP32")
        given.set_data_from_numpy(x)
        wanted = [triton.InferRequestedOutput(n) for n in ("probabilities", "features")]
        result = client.infer("rgb", [given], outputs=wanted)
    finally:
        client.close()
    model = _keras(imported_repository, "rgb")
    np.testing.assert_allclose(
        result.as_numpy("probabilities"), model.predict(x, verbose=0), atol=1e-5
    )
    features = keras.Model(model.inputs, model.get_layer("features").output)
    np.testing.assert_allclose(
        result.as_numpy("features"), features.predict(x, verbose=0), atol=1e-5
    )
