"""Every SDK method against the real service on loopback, with tiny real models."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from clients import (
    AsyncClient,
    BadRequestError,
    Client,
    DatasetRef,
    InputError,
    NotFoundError,
    UnauthorizedError,
    UnprocessableContentError,
)
from tests.clients.helpers import example_image, jpeg_bytes, write_png
from tests.fixtures.server import API_KEY

TOLERANCE = 1e-5
#: The service may answer from the LiteRT copy, which agrees with the SavedModel to 1e-4.
DIRECT_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def client(live_server) -> Client:
    with Client(live_server.url, timeout=60.0) as c:
        yield c


class Repository:
    """The model repository the server reads, read directly: manifests, and the SavedModels
    called with TensorFlow alone, to compare the service's answers with."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self._loaded: dict[tuple[str, int], Any] = {}

    def versions(self, model: str) -> list[int]:
        found = (p for p in (self.models_dir / model).iterdir() if p.name.isdigit())
        return sorted(int(p.name) for p in found if (p / "manifest.json").exists())

    def manifest(self, model: str, version: int) -> dict[str, Any]:
        return json.loads((self.models_dir / model / str(version) / "manifest.json").read_text())

    def call(self, model: str, version: int, endpoint: str, x: np.ndarray) -> dict[str, Any]:
        import tensorflow as tf

        if (model, version) not in self._loaded:
            path = self.models_dir / model / str(version) / "saved_model"
            self._loaded[model, version] = tf.saved_model.load(str(path))
        outputs = getattr(self._loaded[model, version], endpoint)(tf.constant(x, tf.float32))
        return {name: value.numpy() for name, value in outputs.items()}


@pytest.fixture(scope="module")
def repository(model_repository) -> Repository:
    return Repository(model_repository.models_dir)


def test_models_lists_every_model_with_versions(
    client: Client, repository: Repository, model_repository
) -> None:
    found = {m.name: m for m in client.models()}
    assert set(found) == set(model_repository.models)
    assert found["digits"].versions == [1, 2]
    for name, summary in found.items():
        versions = repository.versions(name)
        manifest = repository.manifest(name, versions[-1])
        assert (summary.versions, summary.default_version) == (versions, versions[-1])
        assert summary.class_names == manifest["class_names"]
        assert (summary.task, summary.architecture) == (manifest["task"], manifest["architecture"])
    assert found["fashion"].class_names[0] == "T-shirt/top"


def test_metadata_defaults_to_the_latest_version_and_can_pin_one(
    client: Client, repository: Repository
) -> None:
    latest = client.metadata("digits")
    first = client.metadata("digits", version=1)
    assert (latest.version, first.version) == (2, 1)
    assert latest.versions == [1, 2]
    for meta in (latest, first):
        manifest = repository.manifest("digits", meta.version)
        assert {k: meta.raw[k] for k in manifest} == manifest
        assert [layer.name for layer in meta.layers] == [x["name"] for x in manifest["layers"]]
    assert latest.input_shape == (28, 28)
    assert latest.value_range == (0.0, 255.0)
    assert latest.embedding_layer == "embedding"


def test_predict_takes_every_kind_of_input_and_keeps_their_order(
    client: Client, tmp_path: Path
) -> None:
    instance = client.dataset_example("mnist-test", 1).instance
    png = write_png(client, tmp_path / "two.png", "mnist-test:1")
    inputs = [
        "mnist-test:1",
        DatasetRef("mnist-test", 2),
        str(png),
        png,
        png.read_bytes(),
        example_image(client, "mnist-test:1"),
        instance,
        instance.ravel().tolist(),
        jpeg_bytes(client, "mnist-test:2"),
    ]
    result = client.predict("digits", inputs, top_k=3)
    assert (result.model, result.version, len(result)) == ("digits", 2, len(inputs))
    assert result.probabilities.shape == (len(inputs), 10)
    reference = result[0].probabilities
    for i in (2, 3, 4, 5, 6, 7):  # the same image, sent six ways
        np.testing.assert_allclose(result[i].probabilities, reference, atol=TOLERANCE)
    assert result[1].class_id == result.predictions[-1].class_id  # the '1', also as a JPEG
    assert np.allclose(result.probabilities.sum(axis=1), 1.0, atol=1e-4)
    names = client.metadata("digits").class_names
    for p in result:
        assert p.class_id == int(np.argmax(p.probabilities))
        assert p.label == names[p.class_id]
        assert p.probability == pytest.approx(float(p.probabilities.max()), abs=1e-6)
        ranked = np.argsort(-p.probabilities)[:3]
        assert [t.class_id for t in p.top_k] == ranked.tolist()
        assert [t.label for t in p.top_k] == [names[c] for c in ranked]


def test_an_image_no_fit_can_use_raises_unprocessable_content(client: Client) -> None:
    line = io.BytesIO()
    Image.new("L", (2000, 1), 255).save(line, "PNG")  # 2000:1, under one pixel when fitted
    with pytest.raises(UnprocessableContentError) as info:
        client.predict("digits", [line.getvalue()])
    assert (info.value.status_code, info.value.code) == (422, "unusable_image")


def test_predict_answers_what_the_saved_model_answers(
    client: Client, repository: Repository
) -> None:
    images = client.dataset_examples("mnist-test", start=0, num=8).instances
    for version in (1, 2):
        served = client.predict("digits", images, version=version, logits=True)
        direct = repository.call("digits", version, "predict", images)
        np.testing.assert_allclose(
            served.probabilities, direct["probabilities"], atol=DIRECT_TOLERANCE
        )
        logits = np.stack([p.logits for p in served])
        np.testing.assert_allclose(logits, direct["logits"], atol=DIRECT_TOLERANCE)
        assert served.class_ids.tolist() == np.argmax(direct["probabilities"], axis=1).tolist()


def test_predict_splits_a_numpy_batch_by_the_model_input_shape(client: Client) -> None:
    images = np.stack([client.dataset_example("mnist-test", i).instance for i in range(3)])
    batch = client.predict("digits", images, logits=True, version=1)
    assert (batch.model, batch.version, len(batch)) == ("digits", 1, 3)
    assert batch[0].logits is not None and batch[0].logits.shape == (10,)
    flat = client.predict("digits", images.reshape(3, -1), version=1)
    np.testing.assert_allclose(flat.probabilities, batch.probabilities, atol=TOLERANCE)


def test_predict_on_unit_scaled_numbers(client: Client) -> None:
    instance = client.dataset_example("mnist-test", 0).instance
    raw = client.predict("digits", instance)
    unit = client.predict("digits", instance / 255.0, scale="unit")
    np.testing.assert_allclose(unit.probabilities, raw.probabilities, atol=1e-4)


def test_embed_default_layer_and_a_named_layer(client: Client, repository: Repository) -> None:
    vectors = client.embed("digits", ["mnist-test:1", "mnist-test:2"])
    assert (vectors.model, vectors.version, vectors.layer) == ("digits", 2, "embedding")
    assert vectors.shape == vectors.embeddings.shape == (2, 128)
    images = np.stack([client.dataset_example("mnist-test", i).instance for i in (1, 2)])
    direct = repository.call("digits", 2, "embed", images)["embedding"]
    np.testing.assert_allclose(vectors.embeddings, direct, atol=DIRECT_TOLERANCE)
    many = client.embed("digits", np.zeros((300, 28, 28)))  # two requests: 256 + 44
    assert many.shape == many.embeddings.shape == (300, 128)
    flat = client.embed("digits", "mnist-test:1", layer="flatten")
    assert flat.layer == "flatten" and flat.embeddings.shape == (1, 784)
    by_layer = repository.call("digits", 2, "layers", images[:1])
    np.testing.assert_allclose(flat.embeddings, by_layer["flatten"], atol=DIRECT_TOLERANCE)


def test_head_of_embed_equals_predict(client: Client) -> None:
    refs = ["mnist-test:1", "mnist-test:2"]
    vectors = client.embed("digits", refs)
    via_head = client.head("digits", vectors, logits=True)
    full = client.predict("digits", refs)
    np.testing.assert_allclose(via_head.probabilities, full.probabilities, atol=TOLERANCE)
    assert via_head.labels == full.labels
    assert via_head[0].logits is not None


def test_interpolate_in_pixel_space_between_dataset_examples(client: Client) -> None:
    result = client.interpolate("digits", "mnist-test:1", "mnist-test:2", num=100)
    assert len(result) == 100
    assert result.alphas[0] == 0.0 and result.alphas[-1] == 1.0
    b_class = client.predict("digits", "mnist-test:2")[0].class_id
    a_class = client.predict("digits", "mnist-test:1")[0].class_id
    assert (result.class_ids[0], result.class_ids[-1]) == (b_class, a_class)  # alpha 1 is a
    ends = client.predict("digits", ["mnist-test:2", "mnist-test:1"]).probabilities
    np.testing.assert_allclose(result.probabilities[[0, -1]], ends, atol=TOLERANCE)
    assert result.class_ids.tolist() == np.argmax(result.probabilities, axis=1).tolist()
    changes = np.flatnonzero(np.diff(result.class_ids))
    assert [(f.alpha_before, f.alpha_after) for f in result.flips] == [
        (result.alphas[i], result.alphas[i + 1]) for i in changes
    ]
    assert [(f.from_class_id, f.to_class_id) for f in result.flips] == [
        (result.class_ids[i], result.class_ids[i + 1]) for i in changes
    ]
    assert result.probabilities.shape == (100, 10)


def test_interpolate_in_embedding_space_beyond_the_inputs(client: Client) -> None:
    result = client.interpolate(
        "digits", "mnist-test:1", "mnist-test:2", space="embedding", start=-1, stop=2, num=50
    )
    assert result.space == "embedding"
    assert len(result) == 50
    assert result.alphas.min() == pytest.approx(-1.0) and result.alphas.max() == pytest.approx(2.0)
    a, b = client.embed("digits", ["mnist-test:1", "mnist-test:2"]).embeddings
    mixed = [alpha * a + (1 - alpha) * b for alpha in result.alphas]
    via_head = client.head("digits", np.stack(mixed))
    np.testing.assert_allclose(result.probabilities, via_head.probabilities, atol=TOLERANCE)


def test_interpolate_with_an_uploaded_image_and_a_list_of_alphas(
    client: Client, tmp_path: Path
) -> None:
    png = write_png(client, tmp_path / "a.png", "mnist-test:1")
    uploaded = client.interpolate("digits", png, "mnist-test:2", alphas=[0.0, 0.5, 1.0])
    by_ref = client.interpolate("digits", "mnist-test:1", "mnist-test:2", alphas=[0.0, 0.5, 1.0])
    np.testing.assert_allclose(uploaded.probabilities, by_ref.probabilities, atol=TOLERANCE)
    inline = client.interpolate("xor", [0.0, 1.0], [1.0, 1.0], num=5)
    assert len(inline) == 5


def test_metrics_arrive_as_arrays(client: Client) -> None:
    everything = client.metrics("digits")
    kinds = {e.kind for e in everything.evaluations}
    assert {"test", "history"} <= kinds
    test = client.metrics("digits", kind="test")
    assert {e.kind for e in test.evaluations} == {"test"}
    evaluation = test.get("test")
    assert evaluation is not None and evaluation.dataset == "mnist-test"
    assert (test.model, test.version) == ("digits", 2)
    assert client.metrics("digits", version=1, kind="test").version == 1
    matrix = evaluation.data["confusion_matrix"]
    assert isinstance(matrix, np.ndarray) and matrix.shape == (10, 10)
    assert int(matrix.sum()) == evaluation.data["num_examples"]
    per_class = np.diag(matrix) / matrix.sum(axis=1)
    np.testing.assert_allclose(evaluation.data["per_class_accuracy"], per_class, atol=1e-6)


def test_weights_of_the_first_dense_layer(client: Client) -> None:
    weights = client.weights("digits")
    assert weights.weights.shape == weights.shape == (784, 128)
    kernel = client.weights("digits", layer="logits")
    assert (kernel.layer, kernel.weights.shape) == ("logits", (128, 10))
    # logits = embedding @ kernel + bias: the bias drops out of a difference of two inputs
    refs = ["mnist-test:1", "mnist-test:2"]
    e1, e2 = client.embed("digits", refs).embeddings
    l1, l2 = (p.logits for p in client.predict("digits", refs, logits=True))
    np.testing.assert_allclose((e1 - e2) @ kernel.weights, l1 - l2, atol=1e-3)


def test_dataset_example(client: Client, model_repository) -> None:
    from core.datasets import load_split

    example = client.dataset_example("mnist-test", 1)
    assert (example.dataset, example.index) == ("mnist-test", 1)
    assert example.instance.shape == (28, 28)
    assert int(example.label) == 2
    split = load_split("mnist", "test", model_repository.data_dir)
    np.testing.assert_array_equal(example.instance, split.x[1])
    assert int(example.label) == int(split.y[1])


def test_dataset_examples_page_through_a_split_and_stop_at_its_end(client: Client) -> None:
    run = client.dataset_examples("mnist-test", start=100, num=300)  # two pages: 256 + 44
    assert len(run) == 300 and run.instances.shape == (300, 28, 28) and run.size == 10_000
    for offset in (0, 255, 256, 299):
        one = client.dataset_example("mnist-test", 100 + offset)
        np.testing.assert_array_equal(run.instances[offset], one.instance)
        assert run.labels[offset] == int(one.label)
    tail = client.dataset_examples("mnist-test", start=9_990, num=100)
    assert len(tail) == 10 and tail.start == 9_990
    with pytest.raises(InputError, match="num"):
        client.dataset_examples("mnist-test", num=0)


def test_reload_needs_the_api_key(client: Client) -> None:
    reloaded = client.reload(API_KEY)
    assert reloaded["models"] == {m.name: m.versions for m in client.models()}
    assert (reloaded["loaded"], reloaded["removed"], reloaded["failed"]) == ([], [], [])
    with pytest.raises(UnauthorizedError):
        client.reload("wrong-key")


def test_open_inference_protocol_routes(client: Client) -> None:
    assert client.live() is True and client.ready() is True
    assert client.server_metadata()["name"] == "layerlens"
    assert client.model_ready("digits") is True and client.model_ready("digits", version=1)
    meta = client.model_metadata("digits")
    assert (meta["name"], meta["versions"]) == ("digits", ["1", "2"])
    assert meta["inputs"][0] == {"name": "x", "datatype": "FP32", "shape": [-1, 28, 28]}
    images = np.stack([client.dataset_example("mnist-test", i).instance for i in range(2)])
    result = client.infer("digits", images, outputs=["probabilities"], request_id="r1")
    assert (result.model_name, result.model_version, result.id) == ("digits", "2", "r1")
    assert set(result.outputs) == {"probabilities"}
    assert result.outputs["probabilities"].shape == (2, 10)
    expected = client.predict("digits", images).probabilities
    np.testing.assert_allclose(result["probabilities"], expected, atol=TOLERANCE)
    named = client.infer("digits", {"x": images.astype(np.float32)}, version=1)
    assert named.model_version == "1"
    first = client.predict("digits", images, version=1).probabilities
    np.testing.assert_allclose(named["probabilities"], first, atol=TOLERANCE)


def test_prometheus_metrics_text(client: Client) -> None:
    text = client.prometheus_metrics()
    assert "# TYPE layerlens_requests_total counter" in text
    loaded = [line for line in text.splitlines() if line.startswith("layerlens_models_loaded ")]
    versions = sum(len(m.versions) for m in client.models())
    assert [float(line.split()[-1]) for line in loaded] == [versions]


def test_async_client_runs_requests_concurrently(live_server) -> None:
    async def scenario() -> None:
        async with AsyncClient(live_server.url, timeout=60.0) as client:
            models, prediction, vectors = await asyncio.gather(
                client.models(),
                client.predict("digits", ["mnist-test:1", "mnist-test:2"]),
                client.embed("digits", "mnist-test:1"),
            )
            assert [m.name for m in models] == [m.name for m in sync.models()]
            assert (
                prediction.labels[1] == (await client.predict("digits", "mnist-test:2")).labels[0]
            )
            expected = sync.predict("digits", ["mnist-test:1", "mnist-test:2"])
            np.testing.assert_allclose(prediction.probabilities, expected.probabilities)
            np.testing.assert_allclose(
                vectors.embeddings, sync.embed("digits", "mnist-test:1").embeddings
            )
            head = await client.head("digits", vectors)
            assert head.labels[0] == prediction.labels[0]
            assert await client.ready() is True

    with Client(live_server.url, timeout=60.0) as sync:
        asyncio.run(scenario())


def test_server_errors_carry_status_code_and_message(client: Client) -> None:
    with pytest.raises(NotFoundError) as info:
        client.predict("no-such-model", [0.0, 1.0])
    assert info.value.status_code == 404
    assert "no-such-model" in info.value.message
    with pytest.raises(NotFoundError):
        client.metadata("digits", version=99)
    with pytest.raises(BadRequestError) as bad:
        client.head("digits", [[1.0, 2.0, 3.0]])
    assert bad.value.status_code == 400 and bad.value.message
    with pytest.raises(BadRequestError, match="layer"):
        client.embed("digits", "mnist-test:1", layer="no-such-layer")
    with pytest.raises(BadRequestError):
        client.predict("digits", b"these bytes are not an image")
    with pytest.raises(NotFoundError):
        client.dataset_example("no-such-set-test", 0)


def test_a_bad_query_parameter_is_a_400_naming_it(client: Client) -> None:
    with pytest.raises(BadRequestError) as info:
        client.predict("digits", "mnist-test:1", top_k=0)
    assert (info.value.status_code, info.value.code) == (400, "invalid_input")
    assert "top_k" in info.value.message


def test_inputs_the_sdk_cannot_send_fail_before_sending(client: Client, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="shape"):
        client.predict("digits", np.zeros(100))
    with pytest.raises(InputError, match="cannot read image file"):
        client.predict("digits", tmp_path / "missing.png")
    with pytest.raises(InputError, match="expected an image path"):
        client.predict("digits", [object()])
