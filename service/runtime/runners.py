"""Runners: the one way a request runs a SavedModel endpoint.

Every (model version, endpoint) gets a runner with ``async submit(x) -> outputs``. The
direct runner hands each call to the thread pool; when batching is enabled, the dynamic
batcher (service.batching) offers the same interface and merges concurrent calls.
A model call runs on the event loop only when it is measured to cost less than the
thread hand-off (service.batching.INLINE_MAX_S); anything slower goes to the thread pool.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from typing import Protocol

import numpy as np

from core.settings import Settings
from service.batching import BatchObserver, DynamicBatcher, RunFn


class Runner(Protocol):
    async def submit(
        self, x: np.ndarray, *, deadline: float | None = None
    ) -> dict[str, np.ndarray]: ...

    async def close(self) -> None: ...


class DirectRunner:
    """Runs each request as its own call in the thread pool."""

    def __init__(self, run: RunFn, *, executor: Executor, on_batch: BatchObserver) -> None:
        self._run = run
        self._executor = executor
        self._on_batch = on_batch

    async def submit(
        self, x: np.ndarray, *, deadline: float | None = None
    ) -> dict[str, np.ndarray]:
        """``deadline`` is the batcher's; a direct call starts at once, so it never waits."""
        loop = asyncio.get_running_loop()
        outputs = await loop.run_in_executor(self._executor, self._run, x)
        self._on_batch(len(x))
        return outputs

    async def close(self) -> None:
        return None


def make_runner(
    run: RunFn,
    *,
    model: str,
    name: str,
    settings: Settings,
    executor: Executor,
    on_batch: BatchObserver,
    max_batch_size: int | None = None,
) -> Runner:
    """The batcher when batching is on for ``model`` (global or per-model setting).

    ``on_batch`` sees the row count of every model call either runner makes;
    ``max_batch_size`` caps the policy's for rows that each cost many model rows."""
    policy = settings.batch_policy(model)
    if policy.enabled:
        return DynamicBatcher(
            run,
            max_batch_size=min(policy.max_size, max_batch_size or policy.max_size),
            max_wait_ms=policy.max_wait_ms,
            max_queue=policy.max_queue,
            queue_deadline_ms=policy.queue_deadline_ms,
            executor=executor,
            name=name,
            on_batch=on_batch,
        )
    return DirectRunner(run, executor=executor, on_batch=on_batch)
