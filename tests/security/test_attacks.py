"""Hostile clients against a real ``python -m service`` (two uvicorn workers, gRPC on).

Every attack of ``benchmarks.attacks`` (the corpus of issue 31): the documented answer,
then the same service afterwards (the same worker pids, ready, a normal prediction
answered) and, for the memory attacks, no worker's peak RSS grown by the decoding budget.
Before the bounds, the pad-resize PNGs grew a worker by 2-3 GB, the JSON of empty lists
stalled the event loop until the supervisor killed the worker, and the slow senders made
every other request answer 503.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks.attacks import ATTACKS, Attack, run_attack, service_spec, warm_up, worker_pids
from benchmarks.servers import RunningServer, free_port, start
from core.settings import Settings
from tests.fixtures.models import ModelRepository

#: One request's decoding budget (``max_decode_bytes``), the bound of docs/security.md.
BUDGET_MB = Settings.model_fields["max_decode_bytes"].default / (1024 * 1024)


@pytest.fixture(scope="module")
def service(model_repository: ModelRepository) -> Iterator[tuple[RunningServer, int]]:
    grpc_port = free_port()
    spec = service_spec(
        model_repository.models_dir, model_repository.database_url, grpc_port, workers=2
    )
    server = start(spec)
    try:
        warm_up(server.base_url)
        yield server, grpc_port
    finally:
        server.stop()


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_gets_its_documented_answer_and_the_service_stays(
    attack: Attack, service: tuple[RunningServer, int]
) -> None:
    server, grpc_port = service
    pids = worker_pids(server)
    assert len(pids) == 2, server.log_tail()
    result = run_attack(server, grpc_port, attack)
    assert result.outcome.status == attack.expected, result.outcome.detail
    assert result.alive == "", result.alive
    assert worker_pids(server) == pids
    if attack.memory:
        assert result.peak_growth_mb < BUDGET_MB, f"{result.peak_growth_mb:.0f} MB"
