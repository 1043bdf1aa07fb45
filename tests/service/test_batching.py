"""DynamicBatcher: every request gets exactly its own rows, whatever happens around it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from service.batching import INLINE_MAX_S, BatchCost, DynamicBatcher, RunFn
from service.errors import InvalidInput, ModelNotReady, Overloaded

FEATURES = 4


class RecordingRun:
    """A deterministic model: doubles its input and sums each row; remembers every batch."""

    def __init__(
        self,
        *,
        gate: threading.Event | None = None,
        fail_on: float | None = None,
        seconds: float = 0.0,
    ):
        self.batch_sizes: list[int] = []
        self.threads: set[int] = set()
        self.started = threading.Event()
        self._gate = gate
        self._fail_on = fail_on
        self._seconds = seconds

    def __call__(self, x: np.ndarray) -> dict[str, np.ndarray]:
        self.threads.add(threading.get_ident())
        self.started.set()
        if self._gate is not None:
            assert self._gate.wait(timeout=30), "test gate never opened"
        if self._seconds:  # sleep(0) is still a system call, which a busy machine can stretch
            time.sleep(self._seconds)
        self.batch_sizes.append(len(x))
        if self._fail_on is not None and np.any(x == self._fail_on):
            raise ValueError("poisoned batch")
        return {"double": x * 2, "sums": x.sum(axis=1)}


def rows(first: float, n: int = 1) -> np.ndarray:
    """n distinct rows whose values all derive from ``first``."""
    return (first + np.arange(n * FEATURES, dtype=np.float32).reshape(n, FEATURES) / 1000).astype(
        np.float32
    )


@pytest.fixture
def executor() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


def make(run: RunFn, executor, **options) -> DynamicBatcher:
    defaults = {"max_batch_size": 32, "max_wait_ms": 20.0, "max_queue": 10_000}
    return DynamicBatcher(run, executor=executor, name="test", **(defaults | options))


def gated(executor, **options) -> tuple[threading.Event, RecordingRun, DynamicBatcher]:
    """A batcher over a run that holds each batch until the returned gate is set."""
    gate = threading.Event()
    run = RecordingRun(gate=gate)
    return gate, run, make(run, executor, **options)


async def running(batcher: DynamicBatcher, run: RecordingRun, *xs: np.ndarray) -> list:
    """Submit ``xs`` and return once their batch is inside ``run`` (held by its gate)."""
    futures = [asyncio.ensure_future(batcher.submit(x)) for x in xs]
    while not run.started.is_set():
        await asyncio.sleep(0.001)
    return futures


def assert_own_rows(x: np.ndarray, out: dict[str, np.ndarray]) -> None:
    np.testing.assert_array_equal(out["double"], x * 2)
    np.testing.assert_array_equal(out["sums"], x.sum(axis=1))


def test_many_concurrent_submitters_each_get_their_own_rows(executor) -> None:
    run = RecordingRun()
    seen: list[int] = []
    batcher = make(run, executor, max_batch_size=64, on_batch=seen.append)
    inputs = [rows(float(i), n=1 + i % 3) for i in range(200)]

    async def main() -> list[dict[str, np.ndarray]]:
        results = await asyncio.gather(*(batcher.submit(x) for x in inputs))
        await batcher.close()
        return results

    results = asyncio.run(main())
    for x, out in zip(inputs, results, strict=True):
        assert_own_rows(x, out)
    total = sum(len(x) for x in inputs)
    assert total == sum(run.batch_sizes) == sum(seen)
    assert seen == run.batch_sizes  # the observer saw every batch, as it ran
    assert len(run.batch_sizes) < 200  # batches really formed
    assert max(run.batch_sizes) <= 64
    assert batcher.queued_rows == 0


def test_a_slow_model_call_never_runs_on_the_event_loop_thread(executor) -> None:
    run = RecordingRun(seconds=2 * INLINE_MAX_S)
    batcher = make(run, executor, max_wait_ms=0)

    async def main() -> int:
        for i in range(5):  # one batch after another: each measured, each too slow
            assert_own_rows(rows(i), await batcher.submit(rows(i)))
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert len(run.batch_sizes) == 5
    assert run.threads and loop_thread not in run.threads


def test_a_call_cheaper_than_the_thread_hand_off_runs_on_the_loop_once_measured(
    executor,
) -> None:
    run = RecordingRun()
    batcher = make(run, executor, max_wait_ms=0)
    threads: list[set[int]] = []

    async def main() -> int:
        for i in range(5):
            assert_own_rows(rows(i), await batcher.submit(rows(i)))
            threads.append(set(run.threads))
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert loop_thread not in threads[0]  # nothing measured yet: the first goes to the pool
    # Measured cheap (a doubling of 4 numbers: microseconds), a later call runs on the loop.
    # Not asserted: the fitted cost itself, which a preempted call on a busy machine (CI
    # trains the full-size models beside the tests) can push past INLINE_MAX_S for a while.
    assert loop_thread in run.threads


def test_oversized_request_runs_alone_and_unsplit(executor) -> None:
    run = RecordingRun()
    batcher = make(run, executor, max_batch_size=8)
    small, big = [rows(1.0, 3), rows(2.0, 3)], rows(3.0, 20)

    async def main() -> list[dict[str, np.ndarray]]:
        return await asyncio.gather(
            batcher.submit(small[0]), batcher.submit(big), batcher.submit(small[1])
        )

    out = asyncio.run(main())
    assert_own_rows(small[0], out[0])
    assert_own_rows(big, out[1])
    assert_own_rows(small[1], out[2])
    assert sorted(run.batch_sizes) == [3, 3, 20]  # the big one alone; smalls never joined it


def test_rows_of_different_shapes_never_share_a_batch(executor) -> None:
    run = RecordingRun()
    batcher = make(run, executor)
    narrow = rows(1.0, 2)
    wide = np.ones((2, FEATURES + 1), np.float32)

    async def main() -> list[dict[str, np.ndarray]]:
        return await asyncio.gather(batcher.submit(narrow), batcher.submit(wide))

    out = asyncio.run(main())
    assert_own_rows(narrow, out[0])
    assert_own_rows(wide, out[1])


def test_full_queue_answers_overloaded_at_once_and_recovers(executor) -> None:
    gate, run, batcher = gated(executor, max_batch_size=4, max_wait_ms=0, max_queue=4)

    async def main() -> None:
        (first,) = await running(batcher, run, rows(0.0, 4))  # occupies the executor
        queued = [asyncio.ensure_future(batcher.submit(rows(float(i)))) for i in range(1, 5)]
        await asyncio.sleep(0)
        assert batcher.queued_rows == 4
        with pytest.raises(Overloaded) as info:
            await batcher.submit(rows(9.0))  # the gate is still closed: this did not wait
        assert info.value.status_code == 503
        assert info.value.headers()["Retry-After"] == "1"
        assert batcher.queued_rows == 4  # the refused request left nothing queued
        gate.set()
        await asyncio.gather(first, *queued)
        assert_own_rows(rows(5.0), await batcher.submit(rows(5.0)))

    asyncio.run(main())


def test_a_failing_batch_fails_all_its_requests_and_the_next_batch_works(executor) -> None:
    poison = -1.0
    run = RecordingRun(fail_on=poison)
    batcher = make(run, executor)

    async def main() -> None:
        outcomes = await asyncio.gather(
            batcher.submit(rows(1.0)),
            batcher.submit(np.full((1, FEATURES), poison, np.float32)),
            batcher.submit(rows(2.0)),
            return_exceptions=True,
        )
        assert len(run.batch_sizes) == 1
        assert all(isinstance(o, ValueError) and "poisoned" in str(o) for o in outcomes)
        assert_own_rows(rows(3.0), await batcher.submit(rows(3.0)))

    asyncio.run(main())


def test_a_cancelled_request_does_not_disturb_the_others(executor) -> None:
    gate, run, batcher = gated(executor, max_wait_ms=0)

    async def main() -> None:
        (first,) = await running(batcher, run, rows(0.0))
        waiting = [asyncio.ensure_future(batcher.submit(rows(float(i), 2))) for i in range(1, 4)]
        await asyncio.sleep(0)
        waiting[1].cancel()  # client gone while queued
        await asyncio.sleep(0)
        assert batcher.queued_rows == 4
        gate.set()
        assert_own_rows(rows(0.0), await first)
        assert_own_rows(rows(1.0, 2), await waiting[0])
        assert_own_rows(rows(3.0, 2), await waiting[2])
        with pytest.raises(asyncio.CancelledError):
            await waiting[1]
        assert run.batch_sizes == [1, 4]  # the cancelled rows never ran

    asyncio.run(main())


def test_cancelling_a_request_whose_batch_is_running_spares_the_batch(executor) -> None:
    gate, run, batcher = gated(executor, max_wait_ms=0)

    async def main() -> None:
        a, b = await running(batcher, run, rows(1.0), rows(2.0))
        a.cancel()
        gate.set()
        assert_own_rows(rows(2.0), await b)
        assert_own_rows(rows(4.0), await batcher.submit(rows(4.0)))

    asyncio.run(main())


def test_close_drains_the_queue_then_refuses_new_work(executor) -> None:
    run = RecordingRun()
    batcher = make(run, executor, max_wait_ms=10_000)  # only close() can send this batch

    async def main() -> None:
        pending = [asyncio.ensure_future(batcher.submit(rows(float(i)))) for i in range(3)]
        await asyncio.sleep(0)
        await batcher.close()
        for i, task in enumerate(pending):
            assert_own_rows(rows(float(i)), task.result())
        with pytest.raises(ModelNotReady):
            await batcher.submit(rows(0.0))

    asyncio.run(main())
    asyncio.run(make(RecordingRun(), executor).close())  # never used: nothing to drain


def test_empty_input_is_a_client_error(executor) -> None:
    batcher = make(RecordingRun(), executor)
    with pytest.raises(InvalidInput, match="empty"):
        asyncio.run(batcher.submit(np.zeros((0, FEATURES), np.float32)))


def test_bad_settings_are_refused(executor) -> None:
    with pytest.raises(ValueError, match="max_batch_size"):
        make(RecordingRun(), executor, max_batch_size=0)


@pytest.fixture(scope="module")
def tiny_saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real Keras network exported the way training does it (ExportArchive endpoints)."""
    keras = pytest.importorskip("keras")
    tf = pytest.importorskip("tensorflow")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((FEATURES,)), keras.layers.Dense(3, name="logits")], name="tiny"
    )
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name="predict",
        fn=lambda x: {"logits": model(x), "probabilities": tf.nn.softmax(model(x))},
        input_signature=[tf.TensorSpec((None, FEATURES), tf.float32)],
    )
    path = tmp_path_factory.mktemp("tiny") / "saved_model"
    archive.write_out(str(path), verbose=False)
    return path


def test_batched_savedmodel_calls_match_one_call_per_request(tiny_saved_model, executor) -> None:
    tf = pytest.importorskip("tensorflow")
    loaded = tf.saved_model.load(str(tiny_saved_model))  # keeps the variables alive

    def run(x: np.ndarray) -> dict[str, np.ndarray]:
        return {key: value.numpy() for key, value in loaded.predict(tf.constant(x)).items()}

    recorder: list[int] = []
    batcher = make(run, executor, on_batch=recorder.append)
    inputs = [rows(float(i), 1 + i % 2) for i in range(40)]

    async def main() -> list[dict[str, np.ndarray]]:
        return await asyncio.gather(*(batcher.submit(x) for x in inputs))

    results = asyncio.run(main())
    assert len(recorder) < len(inputs)
    for x, out in zip(inputs, results, strict=True):
        alone = run(x)
        np.testing.assert_allclose(out["logits"], alone["logits"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out["probabilities"], alone["probabilities"], rtol=1e-5)


def test_a_request_whose_predicted_wait_passes_the_deadline_is_refused_at_once(executor) -> None:
    """Each batch of one row costs about 20 ms; with a 70 ms queue deadline a burst of ten
    gets the first few in (0-60 ms of work ahead) and the rest a 503 at once."""
    run = RecordingRun(seconds=0.02)
    batcher = make(run, executor, max_batch_size=1, max_wait_ms=0, queue_deadline_ms=70)

    async def main() -> list[object]:
        await batcher.submit(rows(0.0))  # measures the cost per row
        burst = [batcher.submit(rows(float(i))) for i in range(1, 11)]
        return await asyncio.gather(*burst, return_exceptions=True)

    started = time.perf_counter()
    outcomes = asyncio.run(main())
    refused = [o for o in outcomes if isinstance(o, Overloaded)]
    accepted = [o for o in outcomes if isinstance(o, dict)]
    assert len(refused) + len(accepted) == 10
    assert 1 <= len(accepted) <= 4, len(accepted)  # 20 ms a row, give or take the machine
    assert all("ms" in e.message and e.headers()["Retry-After"] for e in refused)
    assert len(run.batch_sizes) == 1 + len(accepted)  # the refused ones never ran
    # Nobody waited for the refused: the whole burst took about the accepted ones' work.
    assert time.perf_counter() - started < 0.02 * (1 + len(accepted)) + 0.5


def test_a_request_queued_past_its_deadline_is_dropped_not_run(executor) -> None:
    gate, run, batcher = gated(executor, max_wait_ms=0)

    async def main() -> None:
        (first,) = await running(batcher, run, rows(0.0))
        loop = asyncio.get_running_loop()
        late = asyncio.ensure_future(batcher.submit(rows(1.0), deadline=loop.time() + 0.01))
        on_time = asyncio.ensure_future(batcher.submit(rows(2.0)))
        await asyncio.sleep(0.05)  # past the first one's deadline while the batch runs
        gate.set()
        assert_own_rows(rows(0.0), await first)
        with pytest.raises(Overloaded, match="past its deadline"):
            await late
        assert_own_rows(rows(2.0), await on_time)
        assert run.batch_sizes == [1, 1]  # the late request's row never reached the model
        assert batcher.queued_rows == 0

    asyncio.run(main())


def test_a_backlog_past_the_queue_deadline_is_dropped_down_to_one_batch(executor) -> None:
    """With more than a batch waiting, requests older than the queue deadline are not run;
    the last batch's worth runs, since it would be next anyway."""
    gate, run, batcher = gated(executor, max_batch_size=1, max_wait_ms=0, queue_deadline_ms=30)

    async def main() -> None:
        (first,) = await running(batcher, run, rows(0.0))
        backlog = [asyncio.ensure_future(batcher.submit(rows(float(i)))) for i in (1, 2, 3)]
        await asyncio.sleep(0.06)  # all three wait past the 30 ms deadline
        gate.set()
        assert_own_rows(rows(0.0), await first)
        outcomes = await asyncio.gather(*backlog, return_exceptions=True)
        assert [type(o).__name__ for o in outcomes] == ["Overloaded", "Overloaded", "dict"]
        assert_own_rows(rows(3.0), outcomes[2])
        assert run.batch_sizes == [1, 1]

    asyncio.run(main())


def test_the_cost_fit_separates_a_calls_overhead_from_its_cost_per_row() -> None:
    """Small and large batches mixed: 1 ms a call plus 10 us a row, recovered from them."""
    cost = BatchCost()
    for rows in [1, 1, 2, 1, 1024, 1, 3, 1024, 1, 512] * 5:
        cost.add(rows, 0.001 + rows * 0.00001)
    overhead, per_row = cost.fit()
    assert overhead == pytest.approx(0.001, rel=1e-6)
    assert per_row == pytest.approx(0.00001, rel=1e-6)
    assert cost.predict(3072, 12) == pytest.approx(12 * 0.001 + 3072 * 0.00001)
    single = BatchCost()
    for _ in range(5):
        single.add(1, 0.002)  # one size only: the whole cost counts per row
    assert single.fit() == (0.0, pytest.approx(0.002))
