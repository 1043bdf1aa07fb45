"""What the kubelet does to a running container, done to a docker container.

Probes as Kubernetes runs them (`Probe.from_spec`: period, timeout, failure and success
thresholds, initial delay; HTTP GET succeeds on 200-399, gRPC on the standard health
service's SERVING): the startup probe first, then readiness and liveness side by side at
their own periods for the rest of the container's life. Termination as the kubelet does it:
the preStop hook runs (``docker exec``) while the grace period already counts, then SIGTERM,
then SIGKILL if the container is still there when terminationGracePeriodSeconds is up.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.docker.pods import named_port

HOST = "127.0.0.1"  # every declared port is published on loopback (pods.docker_run_args)


def docker(*args: str, check: bool = True, timeout: float = 120.0) -> str:
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def host_port(container: str, port: int) -> int:
    """The loopback port docker published for the container's ``port``."""
    out = docker("port", container, f"{port}/tcp").split()
    mapped = [line.rsplit(":", 1)[1] for line in out if line.startswith(HOST)]
    assert mapped, f"{container} publishes no {port}/tcp on {HOST}"
    return int(mapped[0])


def state(container: str) -> str:
    return docker("inspect", "-f", "{{.State.Status}}", container, check=False).strip()


@dataclass(frozen=True)
class Probe:
    kind: str  # "http" or "grpc"
    port: int  # the container's port
    path: str = "/"
    service: str = ""
    period_s: float = 10.0
    timeout_s: float = 1.0
    failure_threshold: int = 3
    success_threshold: int = 1
    initial_delay_s: float = 0.0

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], container: Mapping[str, Any]) -> Probe:
        """Kubernetes' defaults for what the spec leaves out."""
        timing = {
            "period_s": float(spec.get("periodSeconds", 10)),
            "timeout_s": float(spec.get("timeoutSeconds", 1)),
            "failure_threshold": int(spec.get("failureThreshold", 3)),
            "success_threshold": int(spec.get("successThreshold", 1)),
            "initial_delay_s": float(spec.get("initialDelaySeconds", 0)),
        }
        if "httpGet" in spec:
            get = spec["httpGet"]
            port = named_port(container, get["port"])
            return cls("http", port, path=get.get("path", "/"), **timing)
        if "grpc" in spec:
            port = int(spec["grpc"]["port"])
            return cls("grpc", port, service=spec["grpc"].get("service", ""), **timing)
        raise ValueError(f"probe kind not emulated: {sorted(spec)}")

    def check(self, port: int) -> bool:
        """One probe, as the kubelet sends it, to ``port``: the container's, published."""
        if self.kind == "http":
            try:
                response = httpx.get(f"http://{HOST}:{port}{self.path}", timeout=self.timeout_s)
            except httpx.HTTPError:
                return False
            return 200 <= response.status_code < 400
        with grpc.insecure_channel(f"{HOST}:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                answer = stub.Check(
                    health_pb2.HealthCheckRequest(service=self.service), timeout=self.timeout_s
                )
            except grpc.RpcError:
                return False
        return answer.status == health_pb2.HealthCheckResponse.SERVING


@dataclass
class ProbeLog:
    """Every result of one probe, as (seconds since the container started, passed)."""

    probe: Probe
    results: list[tuple[float, bool]] = field(default_factory=list)

    def worst_failure_run(self, after_s: float = 0.0) -> int:
        """The longest run of failures (from ``after_s`` seconds after the start)."""
        worst = run = 0
        for at, passed in self.results:
            if at < after_s:
                continue
            run = 0 if passed else run + 1
            worst = max(worst, run)
        return worst


@dataclass(frozen=True)
class Termination:
    pre_stop_s: float  # the preStop hook's run
    drain_s: float  # SIGTERM until the container had exited
    exit_code: int
    killed: bool  # still running at the end of the grace period: SIGKILL
    sigterm_at: float  # time.monotonic() of SIGTERM


class Kubelet:
    """Probes and stops one running container the way its pod spec asks."""

    def __init__(self, container_id: str, pod: Mapping[str, Any], spec: Mapping[str, Any]):
        self.id = container_id
        self.pod = pod
        self.spec = spec
        self.started_at = time.monotonic()
        self.probes = {
            kind: ProbeLog(Probe.from_spec(spec[f"{kind}Probe"], spec))
            for kind in ("startup", "readiness", "liveness")
            if f"{kind}Probe" in spec
        }
        self.ready_at: float | None = None
        self._ports: dict[int, int] = {}
        self._started = threading.Event()
        self.started_s: float | None = None
        self.startup_error: str | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def host_port(self, port: int) -> int:
        """Where ``port`` is published (remembered: an exited container publishes none)."""
        if port not in self._ports:
            self._ports[port] = host_port(self.id, port)
        return self._ports[port]

    def _probe(self, kind: str) -> bool:
        log = self.probes[kind]
        try:
            port = self.host_port(log.probe.port)
        except AssertionError:  # not running (any more): nothing listens
            passed = False
        else:
            passed = log.probe.check(port)
        log.results.append((time.monotonic() - self.started_at, passed))
        return passed

    def begin(self) -> None:
        """Start probing, as the kubelet does from the container's start: the startup probe,
        then readiness and liveness side by side. Call right after `docker run`."""
        thread = threading.Thread(target=self._startup, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _startup(self) -> None:
        try:
            if "startup" in self.probes:
                probe = self.probes["startup"].probe
                if self._stop.wait(probe.initial_delay_s):
                    return
                failures = 0
                while not self._probe("startup"):
                    failures += 1
                    if failures >= probe.failure_threshold or state(self.id) != "running":
                        self.startup_error = (
                            f"startup probe failed {failures} times "
                            f"(container {state(self.id)}):\n{self.logs()}"
                        )
                        return
                    if self._stop.wait(probe.period_s):
                        return
            self.started_s = time.monotonic() - self.started_at
            for kind in ("readiness", "liveness"):
                if kind in self.probes:
                    thread = threading.Thread(target=self._loop, args=(kind,), daemon=True)
                    thread.start()
                    self._threads.append(thread)
        finally:
            self._started.set()

    def wait_started(self, timeout: float = 600.0) -> float:
        """Seconds until the startup probe passed (without one: at once). Raises when it
        failed for good (the kubelet would restart the container) or the container exited."""
        if not self._started.wait(timeout):
            raise AssertionError(f"startup probe still running after {timeout:.0f} s")
        if self.startup_error or self.started_s is None:
            raise AssertionError(self.startup_error or "stopped before the startup probe")
        return self.started_s

    def _loop(self, kind: str) -> None:
        probe = self.probes[kind].probe
        if self._stop.wait(probe.initial_delay_s):
            return
        successes = 0
        while not self._stop.is_set():
            passed = self._probe(kind)
            successes = successes + 1 if passed else 0
            if kind == "readiness" and successes >= probe.success_threshold:
                self.ready_at = self.ready_at or time.monotonic()
            if self._stop.wait(probe.period_s):
                return

    def wait_ready(self, timeout: float) -> float:
        """Seconds from container start until the readiness probe first passed."""
        deadline = time.monotonic() + timeout
        while self.ready_at is None:
            if time.monotonic() > deadline or state(self.id) != "running":
                raise AssertionError(f"never ready (container {state(self.id)}):\n{self.logs()}")
            time.sleep(0.1)
        return self.ready_at - self.started_at

    def terminate(self) -> Termination:
        """preStop, SIGTERM, wait; SIGKILL when terminationGracePeriodSeconds is up."""
        grace = float(self.pod.get("terminationGracePeriodSeconds", 30))
        began = time.monotonic()
        hook = self.spec.get("lifecycle", {}).get("preStop", {})
        if "exec" in hook:
            docker("exec", self.id, *hook["exec"]["command"], timeout=grace)
        elif hook:
            raise ValueError(f"preStop kind not emulated: {sorted(hook)}")
        pre_stop = time.monotonic() - began
        sigterm_at = time.monotonic()
        docker("kill", "--signal", "TERM", self.id)
        remaining = max(0.0, grace - (sigterm_at - began))
        killed = False
        try:
            docker("wait", self.id, timeout=remaining)
        except subprocess.TimeoutExpired:
            killed = True
            docker("kill", self.id, check=False)
            docker("wait", self.id)
        drained = time.monotonic() - sigterm_at
        self._stop.set()
        code = int(docker("inspect", "-f", "{{.State.ExitCode}}", self.id).strip())
        return Termination(pre_stop, drained, code, killed, sigterm_at)

    def stop_probing(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def logs(self, tail: int = 60) -> str:
        result = subprocess.run(
            ["docker", "logs", "--tail", str(tail), self.id],
            capture_output=True,
            text=True,
            check=False,
        )
        return (result.stdout + result.stderr)[-6000:]
