"""``Client.cell_examples`` / ``AsyncClient.cell_examples`` and ``layerlens metrics
--examples``: one confusion cell's test examples, as the service stores them."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from clients import AsyncClient, CellExamples, Client, NotFoundError
from clients.cli import app


@pytest.fixture(scope="module")
def client(live_server) -> Client:
    with Client(live_server.url, timeout=60.0) as c:
        yield c


def test_a_cell_page_matches_the_confusion_matrix(client: Client) -> None:
    matrix = client.metrics("digits", kind="test").get("test").data["confusion_matrix"]
    cell = client.cell_examples("digits", 7, 7, start=3, num=10)
    assert isinstance(cell, CellExamples)
    assert (cell.true, cell.predicted, cell.start, cell.total) == (7, 7, 3, matrix[7, 7])
    assert len(cell) == 10 and cell.indices.dtype == np.int64
    assert cell.refs[0] == f"mnist-test:{cell.indices[0]}"
    first = client.dataset_example(cell.dataset, int(cell.indices[0]))
    assert first.label == 7
    whole = client.cell_examples("digits", 7, 7, num=13)
    np.testing.assert_array_equal(whole.indices[3:], cell.indices)
    np.testing.assert_allclose(whole.probabilities[3:], cell.probabilities)
    assert client.cell_examples("digits", 7, 7, version=1).version == 1
    assert cell.instances is None
    pictured = client.cell_examples("digits", 7, 7, start=3, num=2, instances=True)
    assert pictured.instances is not None and pictured.instances.shape == (2, 28, 28)
    np.testing.assert_array_equal(pictured.instances[0], first.instance)


def test_the_async_client_answers_the_same(client: Client, live_server) -> None:
    async def fetch() -> CellExamples:
        async with AsyncClient(live_server.url, timeout=60.0) as async_client:
            return await async_client.cell_examples("fashion", 6, 0, num=5)

    cell = asyncio.run(fetch())
    assert cell.raw == client.cell_examples("fashion", 6, 0, num=5).raw


def test_an_unknown_version_is_a_not_found_error(client: Client) -> None:
    with pytest.raises(NotFoundError):
        client.cell_examples("digits", 0, 0, version=99)


def test_the_cli_lists_a_cell(live_server, client: Client) -> None:
    runner = CliRunner()
    args = ["--url", live_server.url, "metrics", "digits"]
    shown = runner.invoke(app, [*args, "--examples", "2,2", "--start", "1"])
    assert shown.exit_code == 0, shown.output
    cell = client.cell_examples("digits", 2, 2, start=1)
    words = " ".join(shown.output.split())  # the title may wrap
    assert f"true 2, predicted 2: 2-{1 + len(cell)} of {cell.total}" in words
    assert f"mnist-test:{cell.indices[0]}" in shown.output
    as_json = runner.invoke(app, [*args, "--examples", "2,2", "--start", "1", "--json"])
    assert json.loads(as_json.stdout) == cell.raw
    bad = runner.invoke(app, [*args, "--examples", "2"])
    assert bad.exit_code == 2 and "TRUE,PREDICTED" in bad.output
    out_of_range = runner.invoke(app, [*args, "--examples", "2,10"])
    assert out_of_range.exit_code == 1 and "predicted=10" in out_of_range.output
