"""The out-of-distribution verdict through the SDK and the CLI, against the live server."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner

from clients import AsyncClient, Client, Verdict
from clients.cli import app


def test_the_sdk_carries_the_verdict_as_the_api_gives_it(live_server) -> None:
    with Client(live_server.url) as client:
        result = client.predict("digits", ["mnist-test:1", "mnist-test:2"], ood=True)
        plain = client.predict("digits", "mnist-test:1")
        energy = client.predict("digits", "mnist-test:1", ood_method="energy")
    assert plain[0].ood is None
    for prediction, raw in zip(result, result.raw, strict=True):
        assert isinstance(prediction.ood, Verdict)
        assert prediction.ood.score == raw["ood"]["score"]
        assert prediction.ood.out == (raw["ood"]["verdict"] == "out")
    assert energy[0].ood is not None and energy[0].ood.method == "energy"


def test_the_async_client_carries_it_too(live_server) -> None:
    async def scenario():
        async with AsyncClient(live_server.url) as client:
            return await client.predict("digits", "mnist-test:1", ood_method="msp")

    result = asyncio.run(scenario())
    assert result[0].ood is not None and result[0].ood.method == "msp"


def test_layerlens_predict_prints_the_verdict(live_server) -> None:
    runner = CliRunner()
    url = ["--url", live_server.url]
    table = runner.invoke(app, [*url, "predict", "mnist-test:1", "--ood-method", "knn"])
    assert table.exit_code == 0, table.output
    with Client(live_server.url) as client:
        verdict = client.predict("digits", "mnist-test:1", ood_method="knn")[0].ood
    assert verdict is not None
    assert f"{verdict.verdict} (knn" in table.stdout
    assert "ood" in table.stdout
    as_json = runner.invoke(app, [*url, "predict", "mnist-test:1", "--ood", "--json"])
    assert json.loads(as_json.stdout)["predictions"][0]["ood"]["verdict"] in ("in", "out")
    bad = runner.invoke(app, [*url, "predict", "mnist-test:1", "--ood-method", "odin"])
    assert bad.exit_code != 0 and "knn" in bad.output
