"""The in-process shedding policy (service/slots.py): when a request is refused, and when
it must not be."""

from __future__ import annotations

import asyncio

import pytest

from service.slots import Slots


def run(coroutine):
    return asyncio.run(coroutine)


async def one_taken_one_waiting() -> tuple[Slots, asyncio.Future[bool]]:
    """A single slot in use and a second request queued for it."""
    slots = Slots(limit=1, wait_s=10.0)
    assert await slots.acquire()
    waiting = asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0.01)
    return slots, waiting


def test_a_free_slot_is_granted_without_waiting() -> None:
    async def scenario() -> list[bool]:
        slots = Slots(limit=2, wait_s=10.0)
        granted = [await slots.acquire(), await slots.acquire()]
        assert slots.in_flight == 2 and slots.waiting == 0
        return granted

    assert run(scenario()) == [True, True]


def test_past_the_limit_a_request_waits_and_gets_the_next_slot_not_a_refusal() -> None:
    async def scenario() -> None:
        slots, waiting = await one_taken_one_waiting()
        assert not waiting.done() and slots.waiting == 1
        slots.release()  # the slot passes straight on
        assert await waiting is True
        assert slots.in_flight == 1 and slots.waiting == 0

    run(scenario())


def test_what_would_wait_longer_than_the_wait_is_refused_after_it_not_before() -> None:
    async def scenario() -> float:
        slots = Slots(limit=1, wait_s=0.05)
        assert await slots.acquire()
        loop = asyncio.get_running_loop()
        started = loop.time()
        granted = await slots.acquire()
        assert granted is False
        assert slots.in_flight == 1 and slots.waiting == 0
        return loop.time() - started

    held = run(scenario())
    assert held >= 0.045  # held for the wait: an instant retrier is paced by it


def test_with_no_wait_past_the_limit_is_refused_at_once() -> None:
    async def scenario() -> None:
        slots = Slots(limit=1, wait_s=0.0)
        assert await slots.acquire()
        assert await slots.acquire() is False
        slots.release()
        assert await slots.acquire() is True

    run(scenario())


def test_waiters_are_served_first_come_first_served_and_newcomers_do_not_jump_the_queue() -> None:
    async def scenario() -> list[int]:
        slots = Slots(limit=1, wait_s=10.0)
        order: list[int] = []
        assert await slots.acquire()

        async def client(n: int) -> None:
            assert await slots.acquire()
            order.append(n)
            await asyncio.sleep(0)
            slots.release()

        tasks = []
        for n in range(5):
            tasks.append(asyncio.ensure_future(client(n)))
            await asyncio.sleep(0.001)
        slots.release()
        await asyncio.gather(*tasks)
        assert slots.in_flight == 0
        return order

    assert run(scenario()) == [0, 1, 2, 3, 4]


def test_a_client_that_leaves_while_waiting_gives_up_its_place_and_no_slot_leaks() -> None:
    async def scenario() -> None:
        slots = Slots(limit=1, wait_s=10.0)
        assert await slots.acquire()
        gone = asyncio.ensure_future(slots.acquire())
        behind = asyncio.ensure_future(slots.acquire())
        await asyncio.sleep(0.01)
        gone.cancel()
        await asyncio.sleep(0)
        assert slots.waiting == 1
        slots.release()
        assert await behind is True
        slots.release()
        assert slots.in_flight == 0

    run(scenario())


def test_a_slot_granted_to_a_client_that_left_in_the_same_instant_is_passed_on() -> None:
    async def scenario() -> None:
        slots, gone = await one_taken_one_waiting()
        slots.release()  # granted to `gone`...
        gone.cancel()  # ...which is cancelled before it resumes
        with pytest.raises(asyncio.CancelledError):
            await gone
        assert slots.in_flight == 0 and slots.waiting == 0

    run(scenario())


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        Slots(limit=0, wait_s=1.0)
    with pytest.raises(ValueError):
        Slots(limit=1, wait_s=-1.0)


def test_a_refusal_is_held_before_it_is_returned_and_a_slot_is_never_refused_for_it() -> None:
    async def scenario() -> tuple[float, bool]:
        slots = Slots(limit=1, wait_s=0.02, hold_s=0.1)
        assert await slots.acquire()
        loop = asyncio.get_running_loop()
        started = loop.time()
        refused = await slots.acquire()
        held = loop.time() - started
        # The hold is not a wait: a slot that frees during it is not taken by the refused.
        slots.release()
        return held, refused or slots.in_flight != 0

    held, wrong = run(scenario())
    assert not wrong
    assert held >= 0.115
