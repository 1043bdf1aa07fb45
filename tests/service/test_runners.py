"""Runners follow the batching settings, globally and per model."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from core.settings import Settings
from service.batching import DynamicBatcher
from service.runtime.runners import DirectRunner, make_runner


def _double(x: np.ndarray) -> dict[str, np.ndarray]:
    return {"y": x * 2}


def _ignore(rows: int) -> None:
    """An on_batch observer for tests that do not look at batch sizes."""


@pytest.fixture
def executor():
    with ThreadPoolExecutor(2) as pool:
        yield pool


def test_per_model_overrides_pick_the_runner_and_its_limits(executor) -> None:
    settings = Settings(
        batch_max_size=256,
        batch_per_model={
            "xor": {"enabled": False},
            "digits-cnn": {"max_size": 64, "max_wait_ms": 5},
        },
    )

    def runner(model: str):
        return make_runner(
            _double, model=model, name=model, settings=settings, executor=executor, on_batch=_ignore
        )

    assert isinstance(runner("xor"), DirectRunner)
    cnn, mlp = runner("digits-cnn"), runner("digits")
    assert isinstance(cnn, DynamicBatcher) and isinstance(mlp, DynamicBatcher)
    assert (cnn.max_batch_size, cnn.max_wait_s) == (64, 0.005)
    assert mlp.max_batch_size == 256


def test_batching_off_globally_but_on_for_one_model(executor) -> None:
    settings = Settings(batching_enabled=False, batch_per_model={"digits": {"enabled": True}})
    made = {
        m: make_runner(
            _double, model=m, name=m, settings=settings, executor=executor, on_batch=_ignore
        )
        for m in ("digits", "fashion")
    }
    assert isinstance(made["digits"], DynamicBatcher)
    assert isinstance(made["fashion"], DirectRunner)


def test_both_runners_give_the_rows_they_were_given_and_report_each_call(executor) -> None:
    x = np.arange(12, dtype=np.float32).reshape(3, 4)

    async def submit(settings: Settings, seen: list[int]) -> np.ndarray:
        runner = make_runner(
            _double, model="m", name="m", settings=settings, executor=executor, on_batch=seen.append
        )
        try:
            return (await runner.submit(x))["y"]
        finally:
            await runner.close()

    for enabled in (True, False):
        seen: list[int] = []
        np.testing.assert_array_equal(
            asyncio.run(submit(Settings(batching_enabled=enabled), seen)), x * 2
        )
        assert seen == [3], (enabled, seen)  # one model call of 3 rows, whichever runner
