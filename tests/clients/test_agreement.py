"""The ``agreement`` evaluation in the SDK and in `layerlens metrics --kind agreement`
(docs/architecture.md): read into ``Agreement``, its tables and its figure, from a payload the
trainer's own ``training.agreement.agreement_report`` builds, then from the real service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from clients import Agreement, Client, Metrics, ResponseError
from clients.cli import _common, app
from clients.plots.metrics import grid_size, metric_panels, plot_metrics
from tests.clients.helpers import assert_png

NAMES = [str(d) for d in range(10)]
DIGITS = {
    "name": "digits",
    "version": 1,
    "versions": [1],
    "class_names": NAMES,
    "input": {"kind": "image", "shape": [28, 28], "value_range": [0.0, 255.0]},
}
#: Per image: how many of the 8 neighbours carry the predicted class, and the max probability.
OWN_AGREEING = [8, 8, 8, 8, 8, 8, 7, 5, 3, 0]
OWN_CORRECT = [1, 1, 1, 1, 1, 1, 1, 0, 1, 0]
OWN_CONFIDENCE = [0.999, 0.999, 0.995, 0.99, 0.98, 0.97, 0.9, 0.8, 0.7, 0.6]
CROSS_AGREEING = [0, 0, 1, 1, 2, 2, 3, 4, 5, 8]
CROSS_CONFIDENCE = [0.999] * 4 + [0.95] * 6


def report(agreeing: list[int], confidence: list[float], correct: list[int] | None) -> Any:
    """The trainer's report of predictions whose neighbours agree as given (the others carry
    the next class); imported here so the other tests need not wait for TensorFlow."""
    from training.agreement import K, agreement_report

    predicted = np.arange(len(agreeing)) % 10
    neighbours = np.tile(((predicted + 1) % 10)[:, None], (1, K))
    for i, count in enumerate(agreeing):
        neighbours[i, :count] = predicted[i]
    y = None if correct is None else np.where(np.array(correct) == 1, predicted, predicted + 1)
    return agreement_report(predicted, np.array(confidence), neighbours, y)


@pytest.fixture(scope="module")
def payload() -> dict[str, Any]:
    """The metrics answer as the service sends it: the cross dataset's row first."""
    rows = {
        "fashion-mnist-test": report(CROSS_AGREEING, CROSS_CONFIDENCE, None),
        "mnist-test": report(OWN_AGREEING, OWN_CONFIDENCE, OWN_CORRECT),
    }
    evaluations = [
        {"kind": "agreement", "dataset": ref, "created_at": "2025-01-01T00:00:00", "data": data}
        for ref, data in rows.items()
    ]
    return json.loads(json.dumps({"model": "digits", "version": 1, "evaluations": evaluations}))


def test_agreement_reads_the_buckets_own_split_first(payload: dict[str, Any]) -> None:
    own, cross = Metrics.from_json(payload).agreements()
    assert (own.dataset, own.labelled, own.k, own.majority) == ("mnist-test", True, 8, 5)
    assert own.agreeing.tolist() == list(range(9))
    assert own.counts.tolist() == [1, 0, 0, 1, 0, 1, 0, 1, 6] and own.num_examples == 10
    assert own.shares.tolist() == pytest.approx([0.1, 0, 0, 0.1, 0, 0.1, 0, 0.1, 0.6])
    assert own.bucket_accuracy is not None
    assert own.bucket_accuracy[[0, 3, 5, 7, 8]].tolist() == [0.0, 1.0, 0.0, 1.0, 1.0]
    assert np.isnan(own.bucket_accuracy[1]) and np.isnan(own.mean_confidence[1])  # empty
    assert own.mean_confidence[8] == pytest.approx(np.mean(OWN_CONFIDENCE[:6]))
    assert (own.majority_agrees, own.accuracy) == pytest.approx((0.8, 0.8))
    assert own.accuracy_when_majority_agrees == pytest.approx(7 / 8)
    assert own.accuracy_when_majority_disagrees == pytest.approx(0.5)
    assert (own.confident_share, own.majority_agrees_when_confident) == pytest.approx((0.4, 1.0))
    assert (cross.dataset, cross.labelled, cross.bucket_accuracy) == (
        "fashion-mnist-test", False, None,
    )  # fmt: skip
    assert cross.accuracy is cross.accuracy_when_majority_agrees is None
    assert cross.counts.tolist() == [2, 2, 2, 1, 1, 1, 0, 0, 1]
    assert (cross.majority_agrees, cross.confident_share) == pytest.approx((0.2, 0.4))
    assert cross.majority_agrees_when_confident == 0.0


def test_an_agreement_row_missing_a_field_names_it(payload: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(payload))
    del broken["evaluations"][1]["data"]["buckets"]
    with pytest.raises(ResponseError, match="'buckets'"):
        Metrics.from_json(broken).agreements()
    assert Metrics.from_json({"model": "digits", "evaluations": []}).agreements() == []


def test_the_figure_has_accuracy_for_the_own_split_and_shares_for_every_row(
    payload: dict[str, Any], tmp_path: Path
) -> None:
    both = Metrics.from_json(payload)
    assert len(metric_panels(both, NAMES)) == 2
    assert_png(plot_metrics(both, NAMES, tmp_path / "both.png"), grid_size(2))
    cross_only = Metrics.from_json({**payload, "evaluations": payload["evaluations"][:1]})
    assert len(metric_panels(cross_only, NAMES)) == 1  # no labels: no accuracy panel
    assert_png(plot_metrics(cross_only, NAMES, tmp_path / "cross.png"), grid_size(1))


class FakeService:
    """Answers the metrics route with ``payload`` and the manifest with DIGITS; records the
    requests."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.url.path.endswith("/metrics"):
            return httpx.Response(200, json=self.payload)
        return httpx.Response(200, json=DIGITS)


def test_cli_tables_summary_lines_json_and_plot(
    payload: dict[str, Any], monkeypatch, tmp_path: Path
) -> None:
    service = FakeService(payload)
    transport = httpx.MockTransport(service)
    monkeypatch.setattr(
        _common.State, "client", lambda self: Client("http://layerlens.test", transport=transport)
    )
    plot = tmp_path / "agreement.png"
    runner = CliRunner()
    args = ["metrics", "digits", "--kind", "agreement", "--version", "1", "--plot", str(plot)]
    result = runner.invoke(app, args, env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert service.seen[0].url.path == "/v1/models/digits/versions/1/metrics"
    assert dict(service.seen[0].url.params) == {"kind": "agreement"}
    assert_png(plot, grid_size(2))
    text = result.stdout
    rows = [line.split("│")[1:-1] for line in text.splitlines() if line.count("│") > 2]
    cells = [[c.strip() for c in row] for row in rows]
    assert ["agreement", "mnist-test", "0.8000", "10"] in cells  # the summary table
    assert ["agreement", "fashion-mnist-test", "", "10"] in cells  # no labels, no accuracy
    assert ["8/8", "6", "60.0%", "1.0000", f"{np.mean(OWN_CONFIDENCE[:6]):.4f}"] in cells
    assert ["1/8", "0", "0.0%", "", ""] in cells  # an empty bucket of the own split
    assert ["1/8", "2", "20.0%", "0.9990"] in cells  # the cross dataset's: no accuracy column
    own, cross = text.index("agreement, mnist-test: 10 images"), text.index("fashion-mnist-test:")
    assert own < cross  # the own test split's table first
    assert "majority (5 of 8 neighbours) agrees with 80.0% of predictions" in text[own:cross]
    assert "accuracy when it agrees 87.5%, when it disagrees 50.0% (overall 80.0%)" in text
    assert "softmax ≥ 0.99: 40.0% of predictions, majority agrees with 100.0% of those" in text
    assert "majority (5 of 8 neighbours) agrees with 20.0% of predictions" in text[cross:]
    assert "softmax ≥ 0.99: 40.0% of predictions, majority agrees with 0.0% of those" in text
    assert text.count("accuracy when it agrees") == 1

    as_json = runner.invoke(app, ["metrics", "digits", "--kind", "agreement", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == payload


# --- the real service -----------------------------------------------------------------


def test_agreement_live(live_server, tmp_path: Path) -> None:
    """digits v1 (tiny, trained for the session) has a row for its own test split and one
    for Fashion-MNIST; the CLI prints both and plots both panels."""
    with Client(live_server.url) as client:
        agreements = client.metrics("digits", version=1, kind="agreement").agreements()
    own, cross = agreements
    assert (own.dataset, cross.dataset) == ("mnist-test", "fashion-mnist-test")
    assert own.labelled and not cross.labelled
    for a in agreements:
        assert isinstance(a, Agreement) and a.k == 8 and a.agreeing.tolist() == list(range(9))
        assert int(a.counts.sum()) == a.num_examples > 0
        assert a.shares.sum() == pytest.approx(1.0)
    assert cross.majority_agrees < own.majority_agrees
    plot = tmp_path / "agreement.png"
    args = ["--url", live_server.url, "metrics", "digits", "--version", "1"]
    result = CliRunner().invoke(app, [*args, "--kind", "agreement", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert f"agreement, mnist-test: {own.num_examples} images" in result.stdout
    assert f"agreement, fashion-mnist-test: {cross.num_examples} images" in result.stdout
    assert "accuracy when it agrees" in result.stdout
    assert_png(plot, grid_size(2))
