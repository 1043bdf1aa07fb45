"""Start a server on a loopback port, time it to ready, measure its workers, stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

#: CPU seconds per half second below which a started server counts as idle (loaded).
IDLE_CPU_S = 0.05


class ServerFailed(RuntimeError):
    """A server that did not start or stopped answering; ``last_line`` is its log's last
    non-empty line, which the benchmark reports in the table and the JSON and goes on."""

    def __init__(self, name: str, what: str, log_tail: str = "") -> None:
        lines = [line for line in log_tail.splitlines() if line.strip()]
        self.name = name
        self.what = what
        self.last_line = lines[-1].strip() if lines else ""
        super().__init__(f"{name} {what}" + (f":\n{log_tail}" if log_tail else ""))


@dataclass
class ServerSpec:
    name: str
    command: list[str]
    ready_path: str
    env: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    ready_timeout_s: float = 120.0
    cwd: Path | None = None


@dataclass
class RunningServer:
    spec: ServerSpec
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    ready_s: float = 0.0
    settled_s: float = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def memory_mb(self) -> dict[str, float]:
        """Resident memory (MB) of the server's main process and of each worker it started.

        uvicorn (and MLServer's inference pool) start a supervisor plus workers;
        multiprocessing's resource tracker is left out.
        """
        tree = [p for p in _descendants(self.process.pid) if "resource_tracker" not in _cmdline(p)]
        memory = {"main": round(_rss_kb(self.process.pid) / 1024, 1)}
        for index, pid in enumerate(tree):
            memory[f"worker{index}"] = round(_rss_kb(pid) / 1024, 1)
        return memory

    def per_worker_rss_mb(self) -> float:
        """The largest worker (the main process when the server is one process)."""
        memory = self.memory_mb()
        workers = [mb for name, mb in memory.items() if name != "main"]
        return max(workers) if workers else memory["main"]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports: every socket stays bound until all are
    chosen, so the kernel cannot hand the same port out twice (two separate
    ``free_port()`` calls can, which is how MLServer's gRPC port once met its HTTP port)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


#: Placeholders a spec's command or environment may hold, each replaced by its own free port.
PORT_PLACEHOLDERS = ("{port}", "{grpc_port}", "{metrics_port}")


def _fill_ports(spec: ServerSpec, port: int | None) -> tuple[int, dict[str, str]]:
    """The HTTP port and every placeholder's value: distinct free ports."""
    chosen = free_ports(len(PORT_PLACEHOLDERS))
    if port is not None:
        chosen = [port, *(p for p in chosen if p != port)]
    return chosen[0], dict(zip(PORT_PLACEHOLDERS, map(str, chosen), strict=False))


def _substitute(text: str, ports: dict[str, str]) -> str:
    for placeholder, value in ports.items():
        text = text.replace(placeholder, value)
    return text


def start(
    spec: ServerSpec, *, port: int | None = None, log_dir: Path | None = None
) -> RunningServer:
    """Start ``spec`` on ``port`` and wait until it is ready and idle.

    ``{port}`` (HTTP), ``{grpc_port}`` and ``{metrics_port}`` in the spec's command and
    environment each become a distinct free port. Raises ``ServerFailed`` (with the last
    line of the server's log) when it exits or never becomes ready.
    """
    port, ports = _fill_ports(spec, port)
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="bench-logs-"))
    log_path = log_dir / f"{spec.name}.log"
    env = {**os.environ, **{k: _substitute(v, ports) for k, v in spec.env.items()}}
    command = [_substitute(part, ports) for part in spec.command]
    started = time.perf_counter()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=spec.cwd,
            start_new_session=True,
        )  # fmt: skip
    server = RunningServer(spec, port, process, log_path)
    try:
        _wait_ready(server, started)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: RunningServer, started: float) -> None:
    """``ready_s``: the first 200 from the ready route (what a load balancer sees).

    With several workers the first answer may come from one worker while the others still
    load; ``settled_s`` is when every process of the server has also stopped using CPU
    (all models loaded everywhere). Load starts only after that.
    """
    spec = server.spec
    deadline = started + spec.ready_timeout_s
    url = server.base_url + spec.ready_path
    with httpx.Client(timeout=2.0) as client:
        while time.perf_counter() < deadline:
            if server.process.poll() is not None:
                raise ServerFailed(spec.name, "exited during start-up", server.log_tail())
            try:
                if client.get(url).status_code == 200:
                    server.ready_s = round(time.perf_counter() - started, 2)
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        else:
            raise ServerFailed(
                spec.name, f"not ready after {spec.ready_timeout_s}s", server.log_tail()
            )
    before = cpu_seconds(server.process.pid)
    while time.perf_counter() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(server.process.pid)
        if now - before < IDLE_CPU_S:
            break
        before = now
    server.settled_s = round(time.perf_counter() - started - 0.5, 2)


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and every process under it."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for each in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    stack = [pid]
    while stack:
        parent = stack.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                stack.append(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
