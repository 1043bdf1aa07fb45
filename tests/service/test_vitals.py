"""service.vitals: when a worker that is up cannot serve (readiness's answer)."""

from __future__ import annotations

import asyncio
import threading
import time

from service.slots import Slots
from service.vitals import LoopStalls, ProgressPool, Vitals


def test_a_pool_is_stuck_while_every_thread_is_busy_and_none_finishes() -> None:
    pool = ProgressPool(2, name="decoding", prefix="test-decode")
    release = threading.Event()
    try:
        first = pool.submit(release.wait, 30)
        assert pool.stuck_for(time.monotonic()) == 0.0  # a thread is free
        second = pool.submit(release.wait, 30)
        while pool.busy < 2:
            time.sleep(0.01)
        time.sleep(0.2)
        vitals = Vitals(unready_after_s=0.1, pools=[pool])
        assert pool.stuck_for(time.monotonic()) >= 0.2
        assert "all 2 threads of the decoding pool" in vitals.problem()
        release.set()
        first.result(10)
        second.result(10)
        assert pool.stuck_for(time.monotonic()) == 0.0
        assert vitals.problem() == ""
    finally:
        release.set()
        pool.shutdown()


def test_slots_are_stuck_while_all_are_held_and_none_moves() -> None:
    async def scenario() -> None:
        slots = Slots(2, wait_s=5.0)
        assert await slots.acquire()
        assert slots.stuck_for(time.monotonic()) == 0.0
        assert await slots.acquire()
        await asyncio.sleep(0.2)
        vitals = Vitals(unready_after_s=0.1, pools=[])
        vitals.slots = slots
        assert "all 2 request slots (max_in_flight)" in vitals.problem()
        waiter = asyncio.create_task(slots.acquire())
        await asyncio.sleep(0.01)
        slots.release()  # passed on to the waiter: a request finished, so not stuck yet
        assert await waiter
        assert slots.stuck_for(time.monotonic()) < 0.1
        slots.release()
        assert slots.stuck_for(time.monotonic()) == 0.0
        vitals.loop.stop()

    asyncio.run(scenario())


def test_a_stalled_event_loop_is_measured_and_remembered_for_as_long() -> None:
    async def scenario() -> None:
        stalls = LoopStalls()
        stalls.start()
        await asyncio.sleep(0.3)
        time.sleep(1.0)  # what a CPU-heavy call on the loop does
        await asyncio.sleep(0.3)
        assert stalls.last_stall_s >= 0.7
        vitals = Vitals(unready_after_s=0.7, pools=[])
        vitals.loop = stalls
        assert "the event loop stalled" in vitals.problem()
        stalls.stop()

    asyncio.run(scenario())
