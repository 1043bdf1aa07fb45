"""service.departures: a request whose client leaves stops at its next stage."""

from __future__ import annotations

import asyncio
import threading

import pytest
from starlette.types import Message

from service import departures
from service.errors import ClientLeft


class Connection:
    """An ASGI ``receive`` after the body was read: it answers once the client leaves."""

    def __init__(self) -> None:
        self.left = asyncio.Event()
        self.calls = 0

    async def receive(self) -> Message:
        self.calls += 1
        await self.left.wait()
        return {"type": "http.disconnect"}


def test_a_watched_stage_stops_when_the_client_leaves() -> None:
    async def scenario() -> None:
        connection = Connection()
        reached: list[str] = []

        async def work() -> str:
            departures.watch("decode")
            await asyncio.sleep(0)  # the watcher starts waiting
            connection.left.set()
            await asyncio.sleep(30)  # a long stage: cancelled, not waited out
            reached.append("after")
            return "answer"

        with pytest.raises(ClientLeft, match="stopped at decode"):
            await departures.answering(connection.receive, work())
        assert reached == []
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_an_unwatched_request_never_listens_for_the_client() -> None:
    async def scenario() -> None:
        connection = Connection()
        connection.left.set()

        async def work() -> str:
            departures.stage("batch")  # not armed: stays unwatched
            await asyncio.sleep(0.01)
            return "answer"

        assert await departures.answering(connection.receive, work()) == "answer"
        assert connection.calls == 0
        assert departures.current() is None  # the request's departure is gone with it

    asyncio.run(scenario())


def test_work_in_a_thread_stops_at_its_next_check() -> None:
    async def scenario() -> None:
        connection = Connection()
        steps: list[int] = []
        started = threading.Event()

        def decode(check: departures.Departure) -> None:
            for step in range(1000):
                check.check()
                steps.append(step)
                started.set()
                threading.Event().wait(0.01)

        async def work() -> None:
            departure = departures.watch("decode")
            assert departure is not None
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(None, decode, departure)
            await loop.run_in_executor(None, started.wait)
            connection.left.set()
            await future

        with pytest.raises(ClientLeft):
            await departures.answering(connection.receive, work())
        await asyncio.sleep(0.2)
        done = len(steps)
        await asyncio.sleep(0.2)
        assert len(steps) == done < 1000  # the thread stopped, long before its end

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    async def scenario() -> None:
        connection = Connection()

        async def work() -> None:
            departures.watch("explain")
            await asyncio.sleep(30)

        task = asyncio.create_task(departures.answering(connection.receive, work()))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())


def test_the_end_of_the_answer_is_not_the_client_leaving() -> None:
    """uvicorn answers ``receive()`` with ``http.disconnect`` once the response is sent; what
    the request does after (cleanup, background work) must not be cancelled for it."""

    async def scenario() -> None:
        connection = Connection()

        async def work() -> str:
            departures.watch("explain")
            departures.responded()
            connection.left.set()  # as uvicorn does when the response is complete
            await asyncio.sleep(0.05)
            return "cleaned up"

        assert await departures.answering(connection.receive, work()) == "cleaned up"

    asyncio.run(asyncio.wait_for(scenario(), 10))
