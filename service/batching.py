"""Dynamic batching: concurrent requests to one model endpoint run as one TensorFlow call.

A SavedModel call costs about the same for 1 row as for 256 (its fixed overhead dominates),
so the service queues the rows of concurrent requests per model version and endpoint and
runs them together, then hands each request exactly its own rows back.

How a batch forms (one background task per batcher, created lazily on the running loop):
- it starts when the first request is queued and is sent when it holds ``max_batch_size``
  rows or when its oldest request has waited ``max_wait_ms``, whichever comes first;
  requests that queued while the previous batch ran have usually waited long enough
  already, so under load batches leave back to back with no added delay;
- with ``max_wait_ms=0`` (the default) a batch leaves as soon as the batcher task runs:
  it holds whatever queued while the previous batch ran, so a lone request never waits
  and batches still grow with the load (the policy TF Serving's guide suggests starting
  from on CPUs; measured here, 32 connections: +20% req/s against a 2 ms window, and 8
  connections: 2.5x, since 2 ms of waiting dominated);
- one batch runs at a time per batcher, in ``executor``; only a batch whose model call is
  measured to cost less than handing it to a thread (``INLINE_MAX_S``) runs on the loop;
- a request larger than ``max_batch_size`` is never split: it runs alone as one call
  (SavedModel endpoints take any batch size, and splitting would only add calls);
- rows of a different shape or dtype than the head of the queue wait for the next batch,
  so one odd request cannot break another's batch.

Back-pressure and load shedding (Triton's queue policy, with its timeout): a request is
refused at once with :class:`~service.errors.Overloaded` (503 + Retry-After) when more than
``max_queue`` rows would be waiting, or when more than a full batch is ahead of it and its
predicted wait (the rows queued and running ahead of it times the measured cost per row,
an average over recent batches) is longer than ``queue_deadline_ms``: under overload the
requests that are accepted keep a bounded latency and the rest learn at once, instead of
every request waiting longer and longer. A request still queued past the deadline its
caller gave (e.g. a gRPC deadline) is dropped with the same error, never run; so is one
queued past the queue deadline while a backlog (more than one batch) waits. Less than a
batch ahead is never refused nor dropped: it runs in the next batch anyway, and a slow
batch of the server's own (a reload, a collection) is no reason to fail its requests. A
request is always admitted into an empty queue, so a single large request can still run.

Failure isolation: an exception in ``run`` reaches every request of that batch and the
batcher goes on with the next one; a request cancelled while waiting (client gone) is
dropped from its batch without disturbing the others.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from service.errors import InvalidInput, ModelNotReady, Overloaded

__all__ = ["BatchObserver", "DynamicBatcher", "RunFn"]

log = logging.getLogger(__name__)

#: A blocking model call: a batch in, each output's rows out (an endpoint of a version).
RunFn = Callable[[np.ndarray], dict[str, np.ndarray]]
Outputs = dict[str, np.ndarray]
#: Called on the event loop with the row count of every batch run (the batch histogram).
BatchObserver = Callable[[int], None]

#: Seconds a client is told to wait (Retry-After) when the queue is full.
RETRY_AFTER_S = 1


#: A batch whose model call is predicted to take at most this long runs on the event loop:
#: handing it to a thread and back costs more (two context switches and a GIL exchange;
#: perf under gRPC load on 2 cores: 564 -> 465 us of CPU per call with tiny batches inline),
#: and the loop is held no longer than a request's own parsing takes.
INLINE_MAX_S = 250e-6

#: Weight of the newest batch in the running fit of a batch's cost.
COST_SMOOTHING = 0.2


@dataclass
class BatchCost:
    """A running fit of a batch's seconds as ``overhead + rows * per_row`` (exponentially
    weighted least squares over the batches run).

    A model call has a fixed cost whatever its size (measured: a LiteRT call of 1 row 12 us,
    of 16 rows 51 us), so one average cost per row, learnt from small batches, would
    predict a queue of a few large requests many times too slow, and the other way round.
    While every batch has the same size, the whole cost is counted per row.
    """

    weight: float = COST_SMOOTHING
    rows: float = 0.0
    seconds: float = 0.0
    rows_sq: float = 0.0
    rows_seconds: float = 0.0
    seen: bool = False

    def add(self, rows: int, seconds: float) -> None:
        w = self.weight if self.seen else 1.0
        self.seen = True
        self.rows += w * (rows - self.rows)
        self.seconds += w * (seconds - self.seconds)
        self.rows_sq += w * (rows * rows - self.rows_sq)
        self.rows_seconds += w * (rows * seconds - self.rows_seconds)

    def fit(self) -> tuple[float, float]:
        """(overhead per batch, cost per row) in seconds; zeros before the first batch."""
        if not self.seen or self.rows <= 0:
            return 0.0, 0.0
        spread = self.rows_sq - self.rows**2
        if spread <= 1e-6 * self.rows_sq:
            return 0.0, self.seconds / self.rows
        per_row = max(0.0, (self.rows_seconds - self.rows * self.seconds) / spread)
        return max(0.0, self.seconds - per_row * self.rows), per_row

    def predict(self, rows: int, batches: int) -> float:
        overhead, per_row = self.fit()
        return batches * overhead + rows * per_row


@dataclass(eq=False)
class _Pending:
    x: np.ndarray
    future: asyncio.Future[Outputs]
    enqueued_at: float
    deadline: float
    """The caller's (the event loop's clock; infinity when it gave none)."""
    rows: int = field(init=False)

    def __post_init__(self) -> None:
        self.rows = int(self.x.shape[0])


class DynamicBatcher:
    """Queues rows for one blocking ``run`` and runs them in batches in ``executor``."""

    def __init__(
        self,
        run: RunFn,
        *,
        max_batch_size: int,
        max_wait_ms: float,
        max_queue: int,
        executor: concurrent.futures.Executor,
        name: str = "",
        on_batch: BatchObserver | None = None,
        queue_deadline_ms: float = float("inf"),
    ) -> None:
        if max_batch_size < 1 or max_queue < 1 or max_wait_ms < 0 or queue_deadline_ms <= 0:
            raise ValueError(
                "max_batch_size and max_queue must be >= 1, max_wait_ms >= 0, queue_deadline_ms > 0"
            )
        self._run = run
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.queue_deadline_s = queue_deadline_ms / 1000.0
        self._executor = executor
        self.name = name or getattr(run, "__name__", "batcher")
        self.on_batch = on_batch
        self._queue: collections.deque[_Pending] = collections.deque()
        self._queued_rows = 0
        self._running_rows = 0
        #: What a batch costs, measured (nothing to predict from until the first one ran).
        self.cost = BatchCost()
        #: What the model call alone costs (no hand-off): decides where a batch runs.
        self.compute = BatchCost()
        self._wakeup: asyncio.Future[None] | None = None
        self._waiting_for_full = False
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def queued_rows(self) -> int:
        """Rows waiting for a batch (what back-pressure compares with ``max_queue``)."""
        return self._queued_rows

    def predicted_wait_s(self, rows: int = 0) -> float:
        """How long the rows queued and running, and ``rows`` more, would take to be done,
        from the measured cost (in batches of at most ``max_batch_size``)."""
        total = self._running_rows + self._queued_rows + rows
        return self.cost.predict(total, max(1, math.ceil(total / self.max_batch_size)))

    async def submit(self, x: np.ndarray, *, deadline: float | None = None) -> Outputs:
        """Run ``x`` (``(n, ...)`` rows) as part of a batch; returns each output's n rows.

        ``deadline``: the event loop's time after which the caller no longer wants the
        answer (e.g. a gRPC deadline); the queue deadline applies whichever is earlier.
        """
        if self._closed:
            raise ModelNotReady(f"{self.name} is shutting down")
        if x.ndim < 1 or x.shape[0] == 0:
            raise InvalidInput("the batch is empty: send at least one instance")
        rows = int(x.shape[0])
        if self._queued_rows and self._queued_rows + rows > self.max_queue:
            raise Overloaded(
                f"{self.name} is overloaded: {self._queued_rows} instances are already queued",
                retry_after_s=RETRY_AFTER_S,
            )
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadline = float("inf") if deadline is None else deadline
        may_wait = min(self.queue_deadline_s, deadline - now)
        ahead = self._queued_rows + self._running_rows
        if ahead > self.max_batch_size and self.predicted_wait_s(rows) > may_wait:
            raise Overloaded(
                f"{self.name} is overloaded: the {ahead} instances ahead would take about "
                f"{1000 * self.predicted_wait_s():.0f} ms, past the "
                f"{1000 * may_wait:.0f} ms this request may wait",
                retry_after_s=RETRY_AFTER_S,
            )
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._serve(), name=f"batcher:{self.name}")
        item = _Pending(x, loop.create_future(), now, deadline)
        self._queue.append(item)
        self._queued_rows += rows
        if not self._waiting_for_full or self._queued_rows >= self.max_batch_size:
            self._wake()
        try:
            return await item.future
        except asyncio.CancelledError:
            # Client gone. If still queued, give its rows back; if its batch already
            # runs, the batch goes on and this request's rows are simply not delivered.
            with contextlib.suppress(ValueError):
                self._queue.remove(item)
                self._queued_rows -= rows
            raise

    async def close(self) -> None:
        """Stop accepting requests, run what is already queued, then stop the worker."""
        self._closed = True
        self._wake()
        task = self._task
        if task is None:
            return
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            task.cancel()
            self._fail_queued(ModelNotReady(f"{self.name} is shutting down"))
            raise

    # --- the worker ------------------------------------------------------------------------

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def _sleep_until_woken(self, deadline: float | None) -> None:
        loop = asyncio.get_running_loop()
        self._wakeup = loop.create_future()
        timer = None if deadline is None else loop.call_at(deadline, self._wake)
        try:
            await self._wakeup
        finally:
            self._wakeup = None
            if timer is not None:
                timer.cancel()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                while not self._queue:
                    if self._closed:
                        return
                    await self._sleep_until_woken(None)
                deadline = self._queue[0].enqueued_at + self.max_wait_s
                while (
                    not self._closed
                    and self._queued_rows < self.max_batch_size
                    and loop.time() < deadline
                ):
                    self._waiting_for_full = True
                    try:
                        await self._sleep_until_woken(deadline)
                    finally:
                        self._waiting_for_full = False
                batch = self._take_batch(loop.time())
                if batch:
                    await self._run_batch(batch)
        except asyncio.CancelledError:
            self._fail_queued(ModelNotReady(f"{self.name} is shutting down"))
            raise

    def _take_batch(self, now: float) -> list[_Pending]:
        """Pop the head of the queue plus every following request that fits beside it;
        requests past their deadline are failed on the way, never run."""
        batch: list[_Pending] = []
        rows = 0
        while self._queue:
            item = self._queue[0]
            backlog = self._queued_rows > self.max_batch_size
            overdue = now > item.deadline or (
                backlog and now - item.enqueued_at > self.queue_deadline_s
            )
            if overdue and not item.future.done():
                self._queue.popleft()
                self._queued_rows -= item.rows
                waited_ms = 1000 * (now - item.enqueued_at)
                item.future.set_exception(
                    Overloaded(
                        f"{self.name} is overloaded: the request waited {waited_ms:.0f} ms "
                        "in the queue, past its deadline, and was not run",
                        retry_after_s=RETRY_AFTER_S,
                    )
                )
                continue
            if batch and (
                rows + item.rows > self.max_batch_size
                or item.x.shape[1:] != batch[0].x.shape[1:]
                or item.x.dtype != batch[0].x.dtype
            ):
                break
            self._queue.popleft()
            self._queued_rows -= item.rows
            if item.future.done():  # cancelled while queued
                continue
            batch.append(item)
            rows += item.rows
        return batch

    async def _run_batch(self, batch: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        inputs = [item.x for item in batch]
        rows = sum(item.rows for item in batch)
        self._running_rows = rows
        started = loop.time()
        try:
            if self.compute.seen and self.compute.predict(rows, 1) <= INLINE_MAX_S:
                outputs, seconds = _run_joined(self._run, inputs)
            else:
                outputs, seconds = await loop.run_in_executor(
                    self._executor, _run_joined, self._run, inputs
                )
        except asyncio.CancelledError:
            _fail(batch, ModelNotReady(f"{self.name} is shutting down"))
            raise
        except Exception as exc:  # delivered to every request of the batch
            log.debug("batch of %d requests failed in %s: %r", len(batch), self.name, exc)
            _fail(batch, exc)
            return
        finally:
            self._running_rows = 0
        self.cost.add(rows, loop.time() - started)
        self.compute.add(rows, seconds)
        start = 0
        for item in batch:
            stop = start + item.rows
            if not item.future.done():
                item.future.set_result({key: value[start:stop] for key, value in outputs.items()})
            start = stop
        if self.on_batch is not None:
            try:
                self.on_batch(rows)
            except Exception:
                log.exception("batch observer of %s failed", self.name)

    def _fail_queued(self, exc: BaseException) -> None:
        queued = list(self._queue)
        self._queue.clear()
        self._queued_rows = 0
        _fail(queued, exc)


def _fail(batch: list[_Pending], exc: BaseException) -> None:
    for item in batch:
        if not item.future.done():
            item.future.set_exception(exc)


def _run_joined(run: RunFn, inputs: list[np.ndarray]) -> tuple[Outputs, float]:
    """Join the rows, call the model, check what came back; with the call's seconds."""
    started = time.perf_counter()
    x = inputs[0] if len(inputs) == 1 else np.concatenate(inputs)
    outputs = {key: np.asarray(value) for key, value in run(x).items()}
    seconds = time.perf_counter() - started
    for key, value in outputs.items():
        if value.ndim < 1 or value.shape[0] != x.shape[0]:
            raise RuntimeError(
                f"model output {key!r} has shape {value.shape}, expected {x.shape[0]} rows"
            )
    return outputs, seconds
