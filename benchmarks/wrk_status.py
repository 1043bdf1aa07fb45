"""wrk, closed loop, with the latency percentiles of each status's answers.

Why: wrk keeps one latency histogram for every answer, so once a run refuses many requests
the p99 of the 200s alone is not in its output. Here a Lua script counts the answers per
status, and its ``done()`` reads each status's percentiles off wrk's own histogram of every
answer (exact, one microsecond per bucket) as a pair of bounds:

    the q-th percentile of the n_s answers of status s lies between the values of all N
    answers at nearest ranks r = ceil(q% of n_s) and r + (N - n_s).

At rank r + (N - n_s) at least r of the answers at or below the value are of status s
(at most N - n_s are not), so the status's own rank-r answer is no slower: the upper
bound. At rank r at most r answers of any status are at or below it: the lower bound. When
one status dominates (the 200s of a run that refused few) the two meet; when the refusals
are slower than every 200 (they are held, see service.slots), the 200s' lower bound is
their exact value (benchmarks.fair_overload.p99_200 says when that is shown, and reads the
upper bound otherwise).

What the histogram holds: before ``done()`` wrk "corrects" it for coordinated omission
(``stats_correct``): for every answer slower than twice the mean interval between one
connection's requests (duration / answers per connection, about 240 ms at 1,024
connections here) it adds made-up records at that latency less one interval, less two, and
so on. Under overload every held refusal (1.1 s, service.slots) made four or more of them,
and they fell among the 200s: the script before this one read the 200s' p99 at 0.8-1.5 s
(lower bound) while a per-request client against the same server measured 322 ms and the
server's own records agreed (2026-12-06). The records are not answers, and the acceptance
line is about answers, so the script takes them out (the correction is deterministic: a
bucket holds its own answers plus one made-up record per answer at each whole number of
intervals above it), checks that what is left is exactly the answers wrk counted, and
reports how many it took out (``added_by_wrk``). It reads wrk's histogram through LuaJIT's
FFI (wrk's ``stats`` struct), checking the layout against the minimum and maximum wrk
reports.

An earlier version timed each request in Lua, which needs one connection per wrk thread
(wrk's callbacks name no connection): 1,024 threads at 1,024 connections cost the two
shared cores so much that the server answered half of what two threads let it answer
(5,008 against 7,746 200s/s, same server, quiet machine, 2026-12-06). This one runs wrk's
usual two threads at any connection count, and its script only counts.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

#: wrk's threads: one per core of the 2-core machine, at any connection count.
THREADS = 2
WRK_TIMEOUT_S = 10
#: The percentiles reported per status, as bounds.
QUANTILES = (50, 99)

_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(%(body)s, "rb"))
wrk.body = f:read("*a")
f:close()

local ffi = require("ffi")
-- wrk's histogram (stats.h): one counter per microsecond from 0 to the timeout.
ffi.cdef[[ typedef struct { uint64_t count; uint64_t limit; uint64_t min; uint64_t max;
                            uint64_t data[]; } wrk_stats_t; ]]
local CONNECTIONS = %(connections)d

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

-- The measured latencies, without the records wrk adds before done(): for every answer at
-- or past twice the interval e = duration / (answers per connection) it adds one at each
-- of value - e, value - 2e, ... while above e (stats_correct). Undone from the top down:
-- a bucket above e holds its own answers plus one per answer at each bucket k * e above it.
local function measured(latency, summary)
  local s = ffi.cast("wrk_stats_t**", latency)[0]
  local lo, hi = tonumber(s.min), tonumber(s.max)
  assert(lo == latency.min and hi == latency.max, "wrk's histogram layout is not stats.h's")
  local per = math.floor(summary.requests / CONNECTIONS)
  local e = per > 0 and math.floor(summary.duration / per) or math.huge
  local own, values = {}, {}
  for v = hi, lo, -1 do
    local c = tonumber(s.data[v])
    if c > 0 and v > e then
      local above = v + e
      while above <= hi do
        c = c - (own[above] or 0)
        above = above + e
      end
    end
    if c > 0 then
      own[v] = c
      table.insert(values, v)
    end
  end
  local cumulative, total, ascending = {}, 0, {}
  for i = #values, 1, -1 do
    total = total + own[values[i]]
    table.insert(ascending, values[i])
    table.insert(cumulative, total)
  end
  return ascending, cumulative, total, tonumber(s.count) - total
end

-- The latency at nearest rank r (1-based, clamped) of the measured answers.
local function at_rank(ascending, cumulative, r)
  r = math.max(1, math.min(cumulative[#cumulative], r))
  local lo, hi = 1, #cumulative
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cumulative[mid] >= r then hi = mid else lo = mid + 1 end
  end
  return ascending[lo]
end

function done(summary, latency, requests)
  local counts, n = {}, 0
  for _, t in ipairs(threads) do
    for status, count in pairs(t:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
      n = n + count
    end
  end
  local ascending, cumulative, timed, added = measured(latency, summary)
  local parts = {}
  for status, ns in pairs(counts) do
    local fields = {string.format('"count": %%d', ns)}
    for _, q in ipairs({%(quantiles)s}) do
      local r = math.ceil(q / 100 * ns)
      table.insert(fields, string.format('"p%%d_us": [%%d, %%d]', q,
        at_rank(ascending, cumulative, r), at_rank(ascending, cumulative, r + timed - ns)))
    end
    table.insert(parts, string.format('"%%d": {%%s}', status, table.concat(fields, ", ")))
  end
  local e = summary.errors
  io.write(string.format(
    'WRKSTATUS {"seconds": %%.3f, "errors": %%d, "answers": %%d, "timed": %%d, '
      .. '"added_by_wrk": %%d, "max_us": %%d, "statuses": {%%s}}\\n',
    summary.duration / 1e6, e.connect + e.read + e.write + e.timeout, n, timed, added,
    latency.max, table.concat(parts, ", ")))
end
"""


def script(body_path: Path, connections: int) -> str:
    """The Lua script that posts ``body_path`` and prints each status's percentile bounds
    (``connections``: wrk's, to undo its correction)."""
    return _LUA % {
        "body": json.dumps(str(body_path)),
        "connections": connections,
        "quantiles": ", ".join(str(q) for q in QUANTILES),
    }


def summary(line: str) -> dict:
    """Per status: count, and for each quantile q ``pq_ms`` (the upper bound, what acceptance
    reads) and ``pq_ms_low`` (the lower bound), from the script's ``WRKSTATUS`` line."""
    raw = json.loads(line.removeprefix("WRKSTATUS "))
    statuses = {}
    for status, row in sorted(raw["statuses"].items(), key=lambda item: int(item[0])):
        entry: dict[str, float | int] = {"count": int(row["count"])}
        for q in QUANTILES:
            low, high = row[f"p{q}_us"]
            if low > high:
                raise ValueError(f"status {status}: p{q} bounds out of order: {low} > {high}")
            entry[f"p{q}_ms"] = high / 1000.0
            entry[f"p{q}_ms_low"] = low / 1000.0
        statuses[str(status)] = entry
    timed, answers, errors = int(raw["timed"]), int(raw["answers"]), int(raw["errors"])
    if not 0 <= answers - timed <= errors:  # only a timed-out answer goes untimed
        raise ValueError(
            f"wrk's histogram, its added records taken out, holds {timed} answers, "
            f"not the {answers} counted (less at most {errors} errors)"
        )
    seconds = float(raw["seconds"])
    ok = statuses.get("200", {}).get("count", 0)
    return {
        "seconds": seconds,
        "errors": errors,
        "answers": answers,
        # Answers in the histogram the bounds come from (the answers, less wrk's timeouts),
        # and the records wrk had added to it and the script took out.
        "timed": timed,
        "added_by_wrk": int(raw["added_by_wrk"]),
        "max_ms": int(raw["max_us"]) / 1000.0,
        "statuses": statuses,
        "ok_per_s": round(ok / seconds, 1) if seconds > 0 else 0.0,
    }


def run(url: str, body_path: Path, *, connections: int, seconds: float,
        cpus: str | None = None) -> dict:  # fmt: skip
    """wrk closed loop at ``connections`` on :data:`THREADS` threads for ``seconds``:
    :func:`summary` plus ``connections``. ``cpus`` pins wrk with taskset."""
    lua = body_path.with_name(body_path.stem + "-per-status.lua")
    lua.write_text(script(body_path, connections))
    threads = min(THREADS, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{round(seconds)}s",
               "--timeout", f"{WRK_TIMEOUT_S}s", "-s", str(lua), url]  # fmt: skip
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKSTATUS ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no WRKSTATUS line:\n{done.stdout[-2000:]}{done.stderr}")
    return {**summary(line), "connections": connections}
