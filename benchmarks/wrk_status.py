"""wrk, closed loop, with the latency of each answer kept per status.

Why: wrk keeps one latency histogram for every answer, so once a run refuses many requests
the p99 of the 200s alone is not in its output (issue 26 read it at the rank the 200s
occupied, which holds only while every 503 is slower than every 200). Here a Lua script
times each request itself and bins the latency under its status.

How it pairs a response with its request: wrk's Lua state is per thread and its callbacks
name no connection, so the script runs one connection per thread (``-t N -c N``). A
thread's ``request()`` (called just before the request is written) and the next
``response()`` are then the same connection's request and answer, and the latency between
them is exact: LuaJIT's ffi calls ``clock_gettime(CLOCK_MONOTONIC)``. Each thread counts
answers in a flat table keyed ``status * BIN_SPAN + bin`` (``BIN_US`` wide bins; a table of
numbers is what wrk's ``thread:get`` copies between Lua states); ``done()`` merges the
threads and prints one ``WRKBINS`` JSON line, and the percentiles are computed here in
Python (:func:`summary`), where a unit test checks them without any timing.

A thread per connection costs the generator a thread wake-up per answer (1,024 threads at
about 10,000 answers/s), more than wrk's usual two event loops; it is the same generator
at 32 and at 1,024 connections, so the ratio between the two rates compares like with like.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

#: Width of a latency bin, microseconds: the percentiles are bin upper edges.
BIN_US = 100
#: Bins per status (the last one holds everything slower: 10 s, wrk's timeout).
BIN_SPAN = 100_000
WRK_TIMEOUT_S = 10

_LUA = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } layerlens_timespec;
int clock_gettime(int clk_id, layerlens_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local BIN_US, BIN_SPAN = %(bin_us)d, %(bin_span)d
local ts = ffi.new("layerlens_timespec")
local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(%(body)s, "rb"))
wrk.body = f:read("*a")
f:close()

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bins = {}; sent = nil; prepared = wrk.format() end
function request() sent = now_us(); return prepared end
function response(status, headers, body)
  if sent == nil then return end
  local bin = math.min(math.floor((now_us() - sent) / BIN_US), BIN_SPAN - 1)
  local key = status * BIN_SPAN + bin
  bins[key] = (bins[key] or 0) + 1
  sent = nil
end
function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("bins")) do merged[k] = (merged[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, string.format('"%%d": %%d', k, v)) end
  local e = summary.errors
  io.write(string.format('WRKBINS {"seconds": %%.3f, "errors": %%d, "bins": {%%s}}\\n',
    summary.duration / 1e6, e.connect + e.read + e.write + e.timeout,
    table.concat(parts, ", ")))
end
"""


def script(body_path: Path) -> str:
    """The Lua script that posts ``body_path`` and bins latency per status."""
    return _LUA % {"bin_us": BIN_US, "bin_span": BIN_SPAN, "body": json.dumps(str(body_path))}


def percentile_ms(counts: dict[int, int], q: float) -> float:
    """The ``q``-th percentile (0-100) of binned latencies: the upper edge, in ms, of the
    bin holding the answer at rank ceil(q% of n) (nearest rank: never below the truth)."""
    total = sum(counts.values())
    if total == 0:
        raise ValueError("no answers to take a percentile of")
    rank = max(1, math.ceil(q / 100.0 * total))
    seen = 0
    bins = sorted(counts)
    for bin_index in bins:
        seen += counts[bin_index]
        if seen >= rank:
            break
    return (bin_index + 1) * BIN_US / 1000.0


def summary(line: str) -> dict:
    """Per status: count, p50, p99 and max (ms), from the script's ``WRKBINS`` line."""
    raw = json.loads(line.removeprefix("WRKBINS "))
    per_status: dict[int, dict[int, int]] = {}
    for key, count in raw["bins"].items():
        status, bin_index = divmod(int(key), BIN_SPAN)
        per_status.setdefault(status, {})[bin_index] = int(count)
    statuses = {}
    for status, counts in sorted(per_status.items()):
        statuses[str(status)] = {
            "count": sum(counts.values()),
            "p50_ms": percentile_ms(counts, 50),
            "p99_ms": percentile_ms(counts, 99),
            "max_ms": (max(counts) + 1) * BIN_US / 1000.0,
        }
    seconds = float(raw["seconds"])
    ok = statuses.get("200", {}).get("count", 0)
    return {
        "seconds": seconds,
        "errors": int(raw["errors"]),
        "statuses": statuses,
        "ok_per_s": round(ok / seconds, 1) if seconds > 0 else 0.0,
    }


def run(url: str, body_path: Path, *, connections: int, seconds: float,
        cpus: str | None = None) -> dict:  # fmt: skip
    """wrk closed loop at ``connections`` (one thread each) for ``seconds``: :func:`summary`
    plus ``connections``. ``cpus`` pins wrk with taskset."""
    lua = body_path.with_name(body_path.stem + "-per-status.lua")
    lua.write_text(script(body_path))
    command = ["wrk", f"-t{connections}", f"-c{connections}", f"-d{round(seconds)}s",
               "--timeout", f"{WRK_TIMEOUT_S}s", "-s", str(lua), url]  # fmt: skip
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKBINS ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no WRKBINS line:\n{done.stdout[-2000:]}{done.stderr}")
    return {**summary(line), "connections": connections}
