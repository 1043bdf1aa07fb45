"""An open-loop HTTP/1.1 load generator: requests leave on a fixed schedule whatever the
answers do, and each one's latency counts from its scheduled send time.

    python -m benchmarks.openloop URL --rate 4000 --seconds 60 --body body.json

Why its own: Debian packages no constant-arrival-rate tool (wrk2 and vegeta are not in
bookworm; hey's per-connection rate limit waits for each answer before pacing the next
request, so a slow answer delays the following ones and hides them, which is coordinated
omission). Here request ``i`` is due at ``start + i / rate``. It goes out on an idle
keep-alive connection, or a new one (up to ``--connections``); when none is free it waits
in the generator, and that wait counts in its latency, as it would for a real client whose
request was due then. So the latencies are what users arriving at that rate would see.

One process, uvloop when installed, a hand-written minimal HTTP/1.1 client (status line,
Content-Length bodies, keep-alive): about 20-30 us of CPU per request, so one core keeps up
with several thousand requests per second. ``send_lag`` in the output (how late requests
left against their schedule, p99) says whether it did. Prints one JSON object: per status,
the count and latency percentiles; requests unanswered at the end are ``no_answer``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

#: After the schedule ends, how long answers are still waited for.
DRAIN_S = 5.0


@dataclass
class Tally:
    """Latencies (s, from the scheduled send time) per status; send lags."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    lags: list[float] = field(default_factory=list)

    def summary(self, *, rate: float, seconds: float, scheduled: int) -> dict:
        answered = {k: len(v) for k, v in self.latencies.items()}
        out: dict = {
            "generator": "benchmarks.openloop (open loop, latency from scheduled send time)",
            "rate": rate,
            "seconds": seconds,
            "scheduled": scheduled,
            "no_answer": scheduled - sum(answered.values()),
            "statuses": {},
        }
        for status, values in sorted(self.latencies.items()):
            ms = np.asarray(values) * 1000.0
            out["statuses"][status] = {
                "count": len(values),
                "per_s": round(len(values) / seconds, 1),
                "p50_ms": round(float(np.percentile(ms, 50)), 2),
                "p90_ms": round(float(np.percentile(ms, 90)), 2),
                "p99_ms": round(float(np.percentile(ms, 99)), 2),
                "max_ms": round(float(ms.max()), 2),
            }
        if self.lags:
            lag = np.asarray(self.lags) * 1000.0
            out["send_lag_ms"] = {
                "p50": round(float(np.percentile(lag, 50)), 2),
                "p99": round(float(np.percentile(lag, 99)), 2),
            }
        return out


class Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.due: float | None = None  # the request in flight's scheduled send time
        self.need: int | None = None  # bytes of the whole answer, once the head is in

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, due: float) -> None:
        self.due = due
        self.buffer.clear()
        self.need = None
        self.pool.tally.lags.append(self.pool.loop.time() - due)
        assert self.transport is not None
        self.transport.write(self.pool.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.need is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line.startswith(b"content-length:"):
                    length = int(line[15:])
            self.need = end + 4 + length
        if len(self.buffer) >= self.need and self.due is not None:
            status = bytes(self.buffer[9:12]).decode()
            self.pool.tally.latencies[status].append(self.pool.loop.time() - self.due)
            closing = b"connection: close" in bytes(self.buffer[: self.need]).lower()
            self.due = None
            if closing:
                assert self.transport is not None
                self.transport.close()
            else:
                self.pool.idle_again(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.due is not None:
            self.pool.tally.latencies["reset"].append(self.pool.loop.time() - self.due)
            self.due = None
        self.pool.gone(self)


class Pool:
    """Idle connections, new ones up to ``limit``, and requests waiting for one."""

    def __init__(self, loop: asyncio.AbstractEventLoop, host: str, port: int, request: bytes,
                 limit: int, tally: Tally) -> None:  # fmt: skip
        self.loop, self.host, self.port, self.request = loop, host, port, request
        self.limit, self.tally = limit, tally
        self.idle: list[Connection] = []
        self.open = 0
        self.backlog: collections.deque[float] = collections.deque()

    def dispatch(self, due: float) -> None:
        if self.idle:
            self.idle.pop().send(due)
        elif self.open < self.limit:
            self.open += 1
            self.loop.create_task(self._connect_and_send(due))
        else:
            self.backlog.append(due)

    async def _connect_and_send(self, due: float) -> None:
        try:
            _, conn = await self.loop.create_connection(
                lambda: Connection(self), self.host, self.port
            )
        except OSError:
            self.open -= 1
            self.tally.latencies["connect_error"].append(self.loop.time() - due)
            return
        conn.send(due)

    def idle_again(self, conn: Connection) -> None:
        if self.backlog:
            conn.send(self.backlog.popleft())
        else:
            self.idle.append(conn)

    def gone(self, conn: Connection) -> None:
        self.open -= 1
        if conn in self.idle:
            self.idle.remove(conn)
        if self.backlog and self.open < self.limit:
            self.open += 1
            self.loop.create_task(self._connect_and_send(self.backlog.popleft()))


async def drive(url: str, body: bytes, content_type: str, *, rate: float, seconds: float,
                connections: int) -> dict:  # fmt: skip
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    loop = asyncio.get_running_loop()
    tally = Tally()
    pool = Pool(loop, host, port, request, connections, tally)
    total = int(rate * seconds)
    start = loop.time() + 0.05
    sent = 0
    while sent < total:
        now = loop.time()
        while sent < total and start + sent / rate <= now:
            pool.dispatch(start + sent / rate)
            sent += 1
        if sent < total:
            await asyncio.sleep(max(0.0, start + sent / rate - loop.time()))
    deadline = loop.time() + DRAIN_S
    while loop.time() < deadline and sum(map(len, tally.latencies.values())) < total:
        await asyncio.sleep(0.05)
    return tally.summary(rate=rate, seconds=seconds, scheduled=total)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.openloop", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--body", type=Path, required=True)
    parser.add_argument("--content-type", default="application/json")
    parser.add_argument("--connections", type=int, default=4096, help="most open at once")
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    started, cpu = time.perf_counter(), time.process_time()
    result = asyncio.run(drive(args.url, args.body.read_bytes(), args.content_type,
                               rate=args.rate, seconds=args.seconds,
                               connections=args.connections))  # fmt: skip
    result["wall_s"] = round(time.perf_counter() - started, 1)
    # What the generator itself cost: with send_lag, whether its core kept up.
    result["cpu_us_per_request"] = round(
        1e6 * (time.process_time() - cpu) / max(result["scheduled"], 1), 1
    )
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
