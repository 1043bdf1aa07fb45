"""Every SDK method against the real service on loopback, with tiny real models."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from _helpers import example_image, jpeg_bytes, write_png

from clients import (
    AsyncClient,
    BadRequestError,
    Client,
    DatasetRef,
    InputError,
    NotFoundError,
    UnauthorizedError,
)
from tests.fixtures.server import API_KEY

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def client(live_server) -> Client:
    with Client(live_server.url, timeout=60.0) as c:
        yield c


def test_models_lists_every_model_with_versions(client: Client) -> None:
    found = {m.name: m for m in client.models()}
    assert {"digits", "fashion", "xor"} <= set(found)
    assert found["digits"].versions == [1, 2]
    assert found["digits"].default_version == 2
    assert found["fashion"].class_names[0] == "T-shirt/top"


def test_metadata_defaults_to_the_latest_version_and_can_pin_one(client: Client) -> None:
    latest = client.metadata("digits")
    first = client.metadata("digits", version=1)
    assert (latest.version, first.version) == (2, 1)
    assert latest.input_shape == (28, 28)
    assert latest.value_range == (0.0, 255.0)
    assert latest.embedding_layer in [layer.name for layer in latest.layers]


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
    assert len(result) == len(inputs)
    assert result.probabilities.shape == (len(inputs), 10)
    reference = result[0].probabilities
    for i in (2, 3, 4, 5, 6, 7):  # the same image, sent six ways
        np.testing.assert_allclose(result[i].probabilities, reference, atol=TOLERANCE)
    assert result[1].class_id == result.predictions[-1].class_id  # the '1', also as a JPEG
    assert all(len(p.top_k) == 3 for p in result)
    assert np.allclose(result.probabilities.sum(axis=1), 1.0, atol=1e-4)


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


def test_embed_default_layer_and_a_named_layer(client: Client) -> None:
    vectors = client.embed("digits", ["mnist-test:1", "mnist-test:2"])
    assert vectors.layer == "embedding"
    assert vectors.embeddings.shape == (2, 128)
    flat = client.embed("digits", "mnist-test:1", layer="flatten")
    assert flat.embeddings.shape == (1, 784)


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
    changes = int(np.count_nonzero(np.diff(result.class_ids)))
    assert len(result.flips) == changes
    assert result.probabilities.shape == (100, 10)


def test_interpolate_in_embedding_space_beyond_the_inputs(client: Client) -> None:
    result = client.interpolate(
        "digits", "mnist-test:1", "mnist-test:2", space="embedding", start=-1, stop=2, num=50
    )
    assert result.space == "embedding"
    assert len(result) == 50
    assert result.alphas.min() == pytest.approx(-1.0) and result.alphas.max() == pytest.approx(2.0)


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
    assert evaluation is not None
    matrix = evaluation.data["confusion_matrix"]
    assert isinstance(matrix, np.ndarray) and matrix.shape == (10, 10)
    assert int(matrix.sum()) == evaluation.data["num_examples"]


def test_weights_of_the_first_dense_layer(client: Client) -> None:
    weights = client.weights("digits")
    assert weights.weights.shape == (784, 128)
    assert client.weights("digits", layer="logits").weights.shape == (128, 10)


def test_dataset_example(client: Client) -> None:
    example = client.dataset_example("mnist-test", 1)
    assert example.instance.shape == (28, 28)
    assert int(example.label) == 2


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
    assert "models" in client.reload(API_KEY)
    with pytest.raises(UnauthorizedError):
        client.reload("wrong-key")


def test_open_inference_protocol_routes(client: Client) -> None:
    assert client.live() and client.ready()
    assert "name" in client.server_metadata()
    assert client.model_ready("digits") and client.model_ready("digits", version=1)
    meta = client.model_metadata("digits")
    assert meta["inputs"][0]["name"] == "x"
    images = np.stack([client.dataset_example("mnist-test", i).instance for i in range(2)])
    result = client.infer("digits", images, outputs=["probabilities"], request_id="r1")
    assert result.outputs["probabilities"].shape == (2, 10)
    expected = client.predict("digits", images).probabilities
    np.testing.assert_allclose(result["probabilities"], expected, atol=TOLERANCE)
    named = client.infer("digits", {"x": images.astype(np.float32)}, version=1)
    assert named.outputs["probabilities"].shape == (2, 10)


def test_prometheus_metrics_text(client: Client) -> None:
    assert "# TYPE" in client.prometheus_metrics()


def test_async_client_runs_requests_concurrently(live_server) -> None:
    async def scenario() -> None:
        async with AsyncClient(live_server.url, timeout=60.0) as client:
            models, prediction, vectors = await asyncio.gather(
                client.models(),
                client.predict("digits", ["mnist-test:1", "mnist-test:2"]),
                client.embed("digits", "mnist-test:1"),
            )
            assert "digits" in {m.name for m in models}
            assert (
                prediction.labels[1] == (await client.predict("digits", "mnist-test:2")).labels[0]
            )
            head = await client.head("digits", vectors)
            assert head.labels[0] == prediction.labels[0]
            assert await client.ready()

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


def test_inputs_the_sdk_cannot_send_fail_before_sending(client: Client, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="shape"):
        client.predict("digits", np.zeros(100))
    with pytest.raises(InputError, match="cannot read image file"):
        client.predict("digits", tmp_path / "missing.png")
    with pytest.raises(InputError, match="expected an image path"):
        client.predict("digits", [object()])
