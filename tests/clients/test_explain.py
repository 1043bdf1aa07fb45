"""`Client.explain` and `layerlens explain` (docs/explain.md): the requests and the reading
of answers through httpx.MockTransport, the figure, and the real service on loopback."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from clients import (
    BadRequestError,
    Client,
    ExplainResult,
    InputError,
    PayloadTooLargeError,
    ResponseError,
)
from clients.cli import app
from clients.plots.explanation import figure_size, per_unit, plot_explanation
from tests.clients.fake_digits import (
    SHAPE,
    FakeDigitsService,
    client_answering,
    mixed_inputs,
    png_bytes,
)
from tests.clients.helpers import assert_png, write_png


class FakeService(FakeDigitsService):
    """Answers ``:explain`` as docs/explain.md describes (made-up numbers, the documented
    fields per method), the digits manifest and dataset examples; records every request.
    Each explanation's ``predicted`` counts up across requests, so order can be checked."""

    def __init__(self, status: int = 200, error: dict[str, Any] | None = None) -> None:
        super().__init__(status, error)
        self.rng = np.random.default_rng(0)

    def example(self, dataset: str, index: int) -> dict[str, Any]:
        instance = np.asarray(Image.open(io.BytesIO(png_bytes())), dtype=float)
        return {"dataset": "mnist-test", "index": index, "label": 1, "instance": instance.tolist()}

    def answer(self, request: httpx.Request) -> dict[str, Any]:
        params = request.url.params
        method = params.get("method", "integrated-gradients")
        steps = int(params.get("steps", 50))
        custom = b'"baseline"' in request.read() or b'name="baseline"' in request.read()
        items = []
        for _ in range(self.inputs(request)):
            attributions = self.rng.normal(0, 0.01, SHAPE)
            item: dict[str, Any] = {
                "target": 1, "target_class": "1", "predicted": self.answered,
                "value": 0.9, "attributions": attributions.tolist(),
            }  # fmt: skip
            if method == "integrated-gradients":
                alphas = np.linspace(0, 1, steps + 1)
                gap = abs(attributions.sum() - (0.9 - 0.1))
                item.update(
                    baseline_value=0.1,
                    completeness_gap=gap,
                    path={"alphas": alphas.tolist(), "values": (0.1 + 0.8 * alphas).tolist()},
                )
            elif method == "occlusion":
                item["baseline_value"] = 0.1
            items.append(item)
            self.answered += 1
        uses_baseline = method in ("integrated-gradients", "occlusion")
        named = "input" if custom else params.get("baseline", "black")
        return {
            "model": "digits", "version": 2, "method": method,
            "output": params.get("output", "probability"), "layer": params.get("layer"),
            "baseline": named if uses_baseline else None, "explanations": items,
        }  # fmt: skip


def test_dataset_examples_go_as_examples_with_only_the_options_given() -> None:
    service = FakeService()
    with service.client() as client:
        result = client.explain("digits", service.two_examples(), steps=64)
    assert service.sent_two_examples("/v1/models/digits:explain") == {
        "method": "integrated-gradients", "output": "probability", "steps": "64",
    }  # fmt: skip
    assert isinstance(result, ExplainResult) and len(result) == 2
    assert (result.model, result.version, result.method) == ("digits", 2, "integrated-gradients")
    assert (result.output, result.layer, result.baseline) == ("probability", None, "black")
    first = result[0]
    assert first.attributions.shape == SHAPE and first.attributions.dtype == np.float32
    assert (first.target, first.target_class, first.predicted) == (1, "1", 0)
    assert (first.value, first.baseline_value) == pytest.approx((0.9, 0.1))
    assert first.completeness_gap == pytest.approx(abs(first.total - 0.8), abs=1e-4)
    assert first.path is not None
    np.testing.assert_allclose(first.path.alphas, np.linspace(0, 1, 65), atol=1e-6)
    assert first.path.values.shape == (65,)
    assert result.attributions.shape == (2, *SHAPE)
    assert result.targets.tolist() == [1, 1]


def test_every_option_goes_in_the_query_and_a_version_in_the_path() -> None:
    service = FakeService()
    with service.client() as client:
        client.explain(
            "digits", "mnist-test:1", version=1, method="occlusion", target="7",
            output="logit", baseline="mean", patch=7, stride=7,
        )  # fmt: skip
        client.explain(
            "digits", "mnist-test:1", method="smoothgrad", target=3, samples=8, noise=0.2, seed=5
        )
        client.explain("digits", "mnist-test:1", layer="embedding", steps=10, rule="gauss-legendre")
    occlusion, smoothgrad, layer = (dict(r.url.params) for r in service.seen)
    assert service.seen[0].url.path == "/v1/models/digits/versions/1:explain"
    assert occlusion == {
        "method": "occlusion", "target": "7", "output": "logit", "baseline": "mean",
        "patch": "7", "stride": "7",
    }  # fmt: skip
    assert smoothgrad == {
        "method": "smoothgrad", "target": "3", "output": "probability", "samples": "8",
        "noise": "0.2", "seed": "5",
    }  # fmt: skip
    assert layer == {
        "method": "integrated-gradients", "output": "probability", "layer": "embedding",
        "steps": "10", "rule": "gauss-legendre",
    }  # fmt: skip


def test_methods_without_a_path_leave_those_fields_none() -> None:
    service = FakeService()
    with service.client() as client:
        saliency = client.explain("digits", "mnist-test:1", method="saliency")[0]
        occlusion = client.explain("digits", "mnist-test:1", method="occlusion")[0]
    assert (saliency.baseline_value, saliency.completeness_gap, saliency.path) == (None,) * 3
    assert saliency.attributions.shape == SHAPE
    assert occlusion.baseline_value == pytest.approx(0.1)
    assert (occlusion.completeness_gap, occlusion.path) == (None, None)


def test_mixed_inputs_go_in_runs_of_one_kind_and_keep_their_order() -> None:
    service = FakeService()
    with service.client() as client:
        result = client.explain("digits", mixed_inputs())
    service.assert_sent_in_runs_of_one_kind()
    assert [e.predicted for e in result] == list(range(7))
    assert len(result.raw) == 7 and result.to_json()["explanations"] == result.raw


def test_a_baseline_is_a_name_in_the_query_or_an_input_in_the_body(tmp_path: Path) -> None:
    service = FakeService()
    image = tmp_path / "baseline.png"
    image.write_bytes(png_bytes(30))
    with service.client() as client:
        client.explain("digits", "mnist-test:1", baseline="noise", seed=3)
        by_ref = client.explain("digits", "mnist-test:1", baseline="mnist-test:0")
        client.explain("digits", np.ones(SHAPE), baseline=np.zeros(SHAPE))
        client.explain("digits", png_bytes(), baseline=image)
    named, ref, numbers, upload = service.posts()
    assert named.url.params["baseline"] == "noise" and b"baseline" not in named.read()
    assert "baseline" not in ref.url.params
    assert json.loads(ref.read())["baseline"] == {"dataset": "mnist-test", "index": 0}
    assert by_ref.baseline == "input"
    assert json.loads(numbers.read())["baseline"] == {"instance": np.zeros(SHAPE).tolist()}
    content = upload.read()
    assert content.count(b'name="files"') == 1
    assert b'name="baseline"; filename="baseline.png"' in content


def test_a_baseline_the_body_cannot_carry_fails_before_sending(tmp_path: Path) -> None:
    service = FakeService()
    image = tmp_path / "b.png"
    image.write_bytes(png_bytes())
    with service.client() as client:
        with pytest.raises(InputError, match="image files as the inputs"):
            client.explain("digits", "mnist-test:1", baseline=image)
        with pytest.raises(InputError, match="baseline as an image"):
            client.explain("digits", png_bytes(), baseline="mnist-test:0")
        with pytest.raises(InputError, match="black, blur, mean, noise"):
            client.explain("digits", "mnist-test:1", baseline="blak")
        with pytest.raises(InputError, match="baseline is not usable"):
            client.explain("digits", "mnist-test:1", baseline={"x": 1})
    assert service.seen == []


def test_an_answer_missing_a_field_names_it_and_413_keeps_the_servers_words() -> None:
    item = {"target": 1, "target_class": "1", "predicted": 1, "attributions": [0.0]}
    broken = client_answering({"model": "digits", "explanations": [item]})
    with broken as client, pytest.raises(ResponseError, match="'value'"):
        client.explain("digits", "mnist-test:1")
    message = "this explanation costs 5100 model rows (100 input(s) x 51); at most 4096"
    service = FakeService(413, {"error": message, "code": "payload_too_large"})
    with service.client() as client, pytest.raises(PayloadTooLargeError) as info:
        client.explain("digits", [f"mnist-test:{i}" for i in range(100)])
    assert info.value.message == message and len(service.seen) == 1


def test_the_async_client_sends_the_same_request() -> None:
    service = FakeService()
    result = service.run_async(
        lambda client: client.explain("digits", "mnist-test:1", steps=8, target=2)
    )
    assert dict(service.seen[0].url.params) == {
        "method": "integrated-gradients", "target": "2", "output": "probability", "steps": "8",
    }  # fmt: skip
    assert result[0].path is not None and len(result[0].path.alphas) == 9


def test_top_lists_the_largest_magnitudes_with_their_index() -> None:
    service = FakeService()
    with service.client() as client:
        item = client.explain("digits", "mnist-test:1")[0]
    top = item.top(4)
    flat = np.abs(item.attributions).ravel()
    assert [abs(v) for _, v in top] == pytest.approx(sorted(flat, reverse=True)[:4])
    for index, value in top:
        assert len(index) == 2 and item.attributions[index] == pytest.approx(value)
    assert item.total == pytest.approx(float(item.attributions.sum()), abs=1e-5)


def explanation(method: str, shape: tuple[int, ...] = SHAPE, **extra: Any) -> ExplainResult:
    service = FakeService()
    with service.client() as client:
        result = client.explain("digits", ["mnist-test:1", "mnist-test:2"], method=method, **extra)
    if shape == SHAPE:
        return result
    values = np.linspace(-1, 1, int(np.prod(shape))).reshape(shape).tolist()
    items = [{**raw, "attributions": values} for raw in result.raw]
    return ExplainResult.from_json({**result.to_json(), "explanations": items, "layer": "emb"})


def test_a_conv_layers_bars_are_its_channels_summed_over_positions() -> None:
    maps = np.random.default_rng(0).normal(size=(7, 7, 4))
    bars = per_unit(maps)
    np.testing.assert_allclose(bars, [maps[..., c].sum() for c in range(4)])
    assert bars.sum() == pytest.approx(maps.sum())
    np.testing.assert_array_equal(per_unit(maps[0, 0]), maps[0, 0])


def test_the_figure_is_a_png_of_the_promised_size(tmp_path: Path) -> None:
    picture = np.asarray(Image.open(io.BytesIO(png_bytes())), dtype=np.float32)
    cases = {
        "ig.png": (explanation("integrated-gradients"), [picture, picture]),
        "saliency.png": (explanation("saliency"), None),
        "layer.png": (explanation("integrated-gradients", (128,)), [picture, None]),
        "conv.png": (explanation("integrated-gradients", (7, 7, 4)), [picture, None]),
        "occlusion.png": (explanation("occlusion"), [None, picture]),
    }
    for name, (result, images) in cases.items():
        written = plot_explanation(result, tmp_path / name, images=images, names=["a", "b"])
        assert written == tmp_path / name and written.stat().st_size > 0
        assert_png(written, figure_size(2))
    assert figure_size(1)[1] < figure_size(2)[1]


def test_cli_table_json_and_plot_against_the_contract(mocked_cli, tmp_path: Path) -> None:
    runner = CliRunner()
    plot = tmp_path / "ig.png"
    args = ["explain", "mnist-test:1", "--model", "digits", "--steps", "50", "--plot", str(plot)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"wrote {plot}" in result.stderr
    assert_png(plot, figure_size(1))
    table = result.stdout
    assert "integrated-gradients" in table and "mnist-test:1" in table
    assert "0.9000" in table and "0.1000" in table  # f(input), f(baseline)
    (request,) = [r for r in mocked_cli.seen if r.method == "POST"]
    assert request.url.params["steps"] == "50" and "samples" not in request.url.params
    as_json = runner.invoke(app, ["explain", "mnist-test:1", "mnist-test:2", "--json"])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    assert [e["input"] for e in body["explanations"]] == ["mnist-test:1", "mnist-test:2"]
    assert body["method"] == "integrated-gradients"
    assert np.asarray(body["explanations"][0]["attributions"]).shape == SHAPE


def test_cli_plots_an_image_file_and_refuses_a_bad_baseline(
    mocked_cli, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("two.png").write_bytes(png_bytes())
    runner = CliRunner()
    result = runner.invoke(app, ["explain", "two.png", "--method", "saliency", "--plot", "s.png"])
    assert result.exit_code == 0, result.output
    assert_png(tmp_path / "s.png", figure_size(1))
    refused = runner.invoke(app, ["explain", "mnist-test:1", "--baseline", "blak"])
    assert refused.exit_code == 2 and "blak" in refused.stderr
    wrong = runner.invoke(app, ["explain", "mnist-test:1", "--method", "lime"])
    assert wrong.exit_code == 2


# --- the real service -----------------------------------------------------------------


def test_explain_live(live_server) -> None:
    """Integrated gradients on a digits example: a map of the input's shape, complete to
    within 0.05 at 64 steps, whose path is the pixel sweep from the black baseline."""
    with Client(live_server.url, timeout=120.0) as client:
        result = client.explain("digits", "mnist-test:1", steps=64, rule="trapezoid")
        prediction = client.predict("digits", "mnist-test:1")[0]
        (item,) = result
        assert (result.model, result.method, result.output) == (
            "digits", "integrated-gradients", "probability",
        )  # fmt: skip
        assert (result.baseline, result.layer) == ("black", None)
        assert item.attributions.shape == (28, 28)
        assert item.target == item.predicted == prediction.class_id
        assert item.target_class == prediction.label
        assert item.value == pytest.approx(prediction.probability, abs=1e-4)
        assert item.baseline_value is not None and item.completeness_gap is not None
        assert item.completeness_gap < 0.05
        exact = item.value - item.baseline_value
        assert item.completeness_gap == pytest.approx(abs(item.total - exact), abs=1e-4)
        assert item.path is not None
        np.testing.assert_allclose(item.path.alphas, np.linspace(0, 1, 65), atol=1e-6)
        assert item.path.values[0] == pytest.approx(item.baseline_value, abs=1e-4)
        assert item.path.values[-1] == pytest.approx(item.value, abs=1e-4)
        low = client.metadata("digits").value_range[0]
        instance = client.dataset_example("mnist-test", 1).instance
        sweep = client.interpolate(
            "digits", instance, np.full_like(instance, low), alphas=item.path.alphas.tolist()
        )
        np.testing.assert_allclose(sweep.probabilities[:, item.target], item.path.values, atol=1e-4)


def test_explain_live_methods_targets_and_the_cli(live_server, tmp_path: Path) -> None:
    with Client(live_server.url, timeout=120.0) as client:
        saliency = client.explain("digits", ["mnist-test:1", "mnist-test:2"], method="saliency")
        assert saliency.attributions.shape == (2, 28, 28)
        assert float(saliency.attributions.min()) >= 0.0  # gradient magnitudes
        other = client.explain("digits", "mnist-test:1", target="3", output="logit", steps=16)
        assert (other[0].target, other[0].target_class, other.output) == (3, "3", "logit")
        layer = client.explain("digits", "mnist-test:1", layer="embedding", steps=32)
        assert layer.layer == "embedding" and layer[0].attributions.shape == (128,)
        png = write_png(client, tmp_path / "two.png", "mnist-test:1")
        uploaded = client.explain("digits", [png, "mnist-test:1"], steps=16)
        np.testing.assert_allclose(uploaded[0].attributions, uploaded[1].attributions, atol=1e-5)
        given = client.explain("digits", "mnist-test:1", baseline="mnist-test:2", steps=16)
        start = client.predict("digits", "mnist-test:2")[0].probabilities[given[0].target]
        assert given.baseline == "input"
        assert given[0].baseline_value == pytest.approx(float(start), abs=1e-4)
    plot = tmp_path / "ig.png"
    runner = CliRunner()
    args = ["--url", live_server.url, "explain", "mnist-test:1", "--model", "digits",
            "--method", "integrated-gradients", "--steps", "50", "--plot", str(plot)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "mnist-test:1" in result.stdout
    assert_png(plot, figure_size(1))


def test_explain_live_any_probed_layer_and_the_cli(live_server, tmp_path: Path) -> None:
    """A conv layer's attributions keep its (H, W, C) shape; the CLI passes --layer on."""
    with Client(live_server.url, timeout=120.0) as client:
        shapes = {la.name: tuple(la.output_shape) for la in client.metadata("digits-cnn").layers}
        conv = client.explain("digits-cnn", "mnist-test:1", layer="conv2", steps=16)
        assert conv.layer == "conv2" and conv[0].attributions.shape == shapes["conv2"]
        with pytest.raises(BadRequestError, match="layers accepted"):
            client.explain("digits-cnn", "mnist-test:1", layer="nosuch", steps=4)
    plot = tmp_path / "layer.png"
    args = ["--url", live_server.url, "explain", "mnist-test:1", "--model", "digits-cnn",
            "--layer", "pool1", "--steps", "16", "--plot", str(plot)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "layer pool1" in result.stdout
    assert_png(plot, figure_size(1))
