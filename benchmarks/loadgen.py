"""Drive load with wrk (Debian package ``wrk``) and read its numbers back as JSON.

wrk is an event-driven C load generator: one process, a few threads, many keep-alive
connections. A Lua script reads the request body from a file (binary-safe, so PNG and
.npy bodies go through untouched) and prints the summary as one JSON line at the end.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.payloads import Body

_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = %(content_type)s
local f = assert(io.open(%(body_path)s, "rb"))
wrk.body = f:read("*a")
f:close()

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, "p50_us": %%d, "p90_us": %%d, ' ..
    '"p99_us": %%d, "max_us": %%d, "connect": %%d, "read": %%d, "write": %%d, "status": %%d, ' ..
    '"timeout": %%d}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, e.connect, e.read, e.write,
    e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    requests_per_s: float
    images_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # connection errors, timeouts and non-2xx answers

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def ensure_wrk() -> str:
    """Path to wrk; installs the Debian package when it is missing and we may."""
    found = shutil.which("wrk")
    if found:
        return found
    try:
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as err:
        raise SystemExit("wrk is missing: install it with `apt-get install wrk`") from err
    return shutil.which("wrk") or "wrk"


def run_wrk(
    url: str, body: Body, *, connections: int, seconds: float, timeout_s: float = 30.0
) -> LoadResult:
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        body_path = Path(tmp) / "body"
        body_path.write_bytes(body.content)
        script = Path(tmp) / "post.lua"
        script.write_text(
            _LUA
            % {"content_type": _lua_str(body.content_type), "body_path": _lua_str(str(body_path))}
        )
        threads = 1 if connections < 4 else 2
        command = [
            wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            f"--timeout={timeout_s:g}s", "-s", str(script), url,
        ]  # fmt: skip
        done = subprocess.run(command, check=True, capture_output=True, text=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    secs = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
    ok = max(0, raw["requests"] - raw["status"])
    return LoadResult(
        requests=raw["requests"],
        seconds=round(secs, 3),
        requests_per_s=round(ok / secs, 1),
        images_per_s=round(ok * body.images / secs, 1),
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        errors=errors,
    )


def _lua_str(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here
